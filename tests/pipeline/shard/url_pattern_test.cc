#include "pipeline/shard/url_pattern.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Expand(std::string_view pattern) {
  absl::StatusOr<std::vector<std::string>> out = ExpandBraces(pattern);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<std::string>{};
}

// docs/raw-modalities.md#data_path and invariant 27: zero-padded to the longer endpoint when either
// endpoint has a leading zero; a bare "0" does not count.
TEST(UrlPatternTest, RangesPadLikeBraceexpand) {
  EXPECT_THAT(Expand("{00000..0002}"), ElementsAre("00000", "00001", "00002"));
  EXPECT_THAT(Expand("s-{0..2}.tar"), ElementsAre("s-0.tar", "s-1.tar", "s-2.tar"));
  EXPECT_THAT(Expand("{0..10..5}"), ElementsAre("0", "5", "10")) << "a bare 0 does not pad";
  EXPECT_THAT(Expand("{1..010..4}"), ElementsAre("001", "005", "009"));
  EXPECT_THAT(Expand("{3..1}"), ElementsAre("3", "2", "1"));
  EXPECT_THAT(Expand("{-1..1}"), ElementsAre("-1", "0", "1"));
  EXPECT_THAT(Expand("{a..c}"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Expand("{a..e..4294967296}"), ElementsAre("a")) << "a huge step ends the range";
  EXPECT_THAT(Expand("{1..2..-9223372036854775808}"), ElementsAre("{1..2..-9223372036854775808}"));
  EXPECT_EQ(Expand("shard-{00000..09999}.tar").size(), 10000u);
  EXPECT_EQ(Expand("shard-{00000..09999}.tar")[9999], "shard-09999.tar");
}

TEST(UrlPatternTest, AlternativesNestAndMultiply) {
  EXPECT_THAT(Expand("{a,b}{1..2}"), ElementsAre("a1", "a2", "b1", "b2"));
  EXPECT_THAT(Expand("x{a,{b,c}d}y"), ElementsAre("xay", "xbdy", "xcdy"));
  EXPECT_THAT(Expand("plain"), ElementsAre("plain"));
  EXPECT_THAT(Expand("{x}"), ElementsAre("{x}")) << "not a group: literal";
  EXPECT_THAT(Expand("a{1..2"), ElementsAre("a{1..2")) << "unbalanced: literal";
  EXPECT_THAT(Expand("\\{1,2}"), ElementsAre("{1,2}")) << "escaped";
}

TEST(UrlPatternTest, HugeExpansionsAreRefused) {
  absl::Status s = ExpandBraces("{0..99999999999}").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("expands to more than"));
  EXPECT_FALSE(ExpandBraces("{0..9999}{0..9999}").ok());
  EXPECT_TRUE(ExpandBraces("{0..9}", {.names = 10}).ok());
  EXPECT_FALSE(ExpandBraces("{0..10}", {.names = 10}).ok());
  EXPECT_THAT(Message(ExpandBraces(std::string(40, '{') + "a,b" + std::string(40, '}')).status()),
              HasSubstr("nest deeper than 16"));
  EXPECT_FALSE(ExpandBraces(std::string(5000, 'a')).ok());
  EXPECT_THAT(Message(ExpandBraces(std::string(3000, 'a') + "{0..19999}").status()),
              HasSubstr("bytes of names"));
}

TEST(UrlPatternTest, ModalityListsSplitIntoFolders) {
  absl::StatusOr<ModalityList> m = SplitModalityList("root/[rgb,caption,tok_rgb@224]/s-00001.tar");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT(m->names, ElementsAre("rgb", "caption", "tok_rgb@224"));
  EXPECT_THAT(m->urls, ElementsAre("root/rgb/s-00001.tar", "root/caption/s-00001.tar",
                                   "root/tok_rgb@224/s-00001.tar"));
  absl::StatusOr<ModalityList> one = SplitModalityList("root/[det]/s.tar");
  ASSERT_TRUE(one.ok());
  EXPECT_THAT(one->urls, ElementsAre("root/det/s.tar"));
  absl::StatusOr<ModalityList> none = SplitModalityList("root/s.tar");
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(none->names, ElementsAre(""));
  for (const char* bad : {"root/[a,]/s.tar", "root/[a/s.tar", "[a]/[b]/s.tar", "root/a]/s"}) {
    EXPECT_EQ(SplitModalityList(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace maskfeed
