#include "pipeline/base/log.h"

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

TEST(LogTest, FieldsAreLogfmtWithValuesQuotedWhenTheyMustBe) {
  EXPECT_EQ(FormatLogFields("info", "stream_open", {{"id", "s1"}, {"rank", "0"}}),
            "level=info event=stream_open id=s1 rank=0\n");
  EXPECT_EQ(FormatLogFields("warn", "x", {{"message", "a b=\"c\"\\"}, {"empty", ""}}),
            "level=warn event=x message=\"a b=\\\"c\\\"\\\\\" empty=\"\"\n");
  // A value never breaks the line.
  EXPECT_EQ(FormatLogFields("warn", "x", {{"m", "one\ntwo"}}),
            "level=warn event=x m=\"one two\"\n");
}

}  // namespace
}  // namespace maskfeed
