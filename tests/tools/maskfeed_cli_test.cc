// End-to-end tests of the maskfeed client program's in-process benchmark.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

using MaskfeedCliTest = ::maskfeed::testing::ProgramTest;

TEST_F(MaskfeedCliTest, InProcessBenchPrintsAJsonLastLine) {
  ASSERT_EQ(Run(MASKFEED_SHARD_BIN,
                StrCat("synth --samples 200 --shards 2 --format mfs --out ", dir_ / "d")),
            0)
      << err_;
  ASSERT_EQ(
      Run(MASKFEED_BIN, StrCat("bench --in-process --data ", dir_ / "d",
                               " --threads 2 --streams 2 --batches 5 --batch-size 16 --json")),
      0)
      << err_;
  const std::string last = out_.substr(out_.rfind('{'));
  for (const char* field :
       {"\"samples\": 160,", "\"seconds\": ", "\"samples_per_s\": ", "\"bytes_per_s\": ",
        "\"batch_latency_ms_p50\": ", "\"batch_latency_ms_p99\": ", "\"peak_rss_mb\": "}) {
    EXPECT_THAT(last, HasSubstr(field));
  }
  EXPECT_THAT(last, MatchesRegex("\\{.*\\}\n"));
}

TEST_F(MaskfeedCliTest, BenchErrorsSayWhatIsWrong) {
  EXPECT_EQ(Run(MASKFEED_BIN, "bench --in-process"), 2);
  EXPECT_THAT(err_, HasSubstr("--data DIR is required"));
  EXPECT_EQ(Run(MASKFEED_BIN, StrCat("bench --in-process --data ", dir_ / "missing")), 1);
  EXPECT_THAT(err_, HasSubstr("is not a directory"));
  EXPECT_EQ(Run(MASKFEED_BIN, "bench --address 127.0.0.1:1"), 2);
  EXPECT_THAT(err_, HasSubstr("needs maskfeed-server"));
  EXPECT_EQ(Run(MASKFEED_BIN, "bench --in-process --data x --preset 4m-99"), 2);
  EXPECT_THAT(err_, HasSubstr("unknown preset '4m-99'"));
}

}  // namespace
}  // namespace maskfeed
