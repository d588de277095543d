#include "pipeline/base/log.h"

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

TEST(LogTest, FieldsAreLogfmtWithValuesQuotedWhenTheyMustBe) {
  EXPECT_EQ(FormatLogFields("info", "stream_open", {{"id", "s1"}, {"rank", "0"}}),
            "level=info event=stream_open id=s1 rank=0\n");
  EXPECT_EQ(FormatLogFields("warn", "x", {{"message", R"(a b="c")"}, {"empty", ""}}),
            R"(level=warn event=x message="a b=\"c\"" empty="")"
            "\n");
}

TEST(LogTest, ValuesCarryNoControlBytesAndNeverBreakTheLine) {
  EXPECT_EQ(FormatLogFields("warn", "x", {{"m", std::string("one\ntwo\0\\", 9)}}),
            R"(level=warn event=x m=one\x0atwo\x00\x5c)"
            "\n");
}

TEST(LogTest, HugeValuesAreCut) {
  const std::string line =
      FormatLogFields("warn", "stream_rejected", {{"message", std::string(1 << 20, '\0')}});
  EXPECT_LT(line.size(), 4 * 4096 + 100);
  EXPECT_NE(line.find("...(1048576 bytes)"), std::string::npos);
  EXPECT_EQ(line.find('\0'), std::string::npos);
}

}  // namespace
}  // namespace maskfeed
