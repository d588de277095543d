// End-to-end tests of the maskfeed-shard program: real process, real files, exit codes and
// messages as a user sees them.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::FlipByte;
using ::testing::HasSubstr;

class MaskfeedShardTest : public ::maskfeed::testing::ProgramTest {
 protected:
  // Runs maskfeed-shard with `args`.
  int Run(const std::string& args) { return ProgramTest::Run(MASKFEED_SHARD_BIN, args); }
};

TEST_F(MaskfeedShardTest, SynthConvertVerifyInspect) {
  ASSERT_EQ(Run(StrCat("synth --preset 4m-7 --samples 120 --shards 3 --out ", dir_ / "tar",
                       " --threads 2")),
            0)
      << err_;
  EXPECT_THAT(out_, HasSubstr("120 samples of preset 4m-7 in 3 tar shards"));
  EXPECT_THAT(err_, HasSubstr("shards written: 3/3"));

  ASSERT_EQ(Run(StrCat("convert ", dir_ / "tar", " ", dir_ / "mfs", " --codec zstd --level 5")), 0)
      << err_;
  EXPECT_THAT(out_, HasSubstr("120 samples (960 records)"));

  ASSERT_EQ(Run(StrCat("verify ", dir_ / "mfs")), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("120 samples, 8 modalities, 3 shards, 960 records checked"));
  EXPECT_THAT(out_, HasSubstr(": OK"));
  ASSERT_EQ(Run(StrCat("verify ", dir_ / "tar")), 0) << err_;

  ASSERT_EQ(Run(StrCat("inspect ", dir_ / "mfs/tok_rgb@224/shard-00001.mfs")), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("records:  40"));
  EXPECT_THAT(out_, HasSubstr("layout:   int16 (*, 196)"));
  EXPECT_THAT(out_, HasSubstr("codec:    zstd (level 5)"));

  ASSERT_EQ(Run(StrCat("inspect ", dir_ / "tar")), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("num_samples: 120"));
  EXPECT_THAT(out_, HasSubstr("name: \"tok_semseg@224\""));
  EXPECT_THAT(out_, HasSubstr("format: SHARD_FORMAT_TAR"));
}

TEST_F(MaskfeedShardTest, VerifyFailsNamingFileAndRecord) {
  ASSERT_EQ(Run(StrCat("synth --samples 30 --shards 1 --format mfs --out ", dir_ / "d")), 0)
      << err_;
  const std::string victim = dir_ / "d/det/shard-00000.mfs";
  ASSERT_NO_FATAL_FAILURE(FlipByte(victim, 64 + 1));
  EXPECT_EQ(Run(StrCat("verify ", dir_ / "d")), 1);
  EXPECT_THAT(err_, HasSubstr(victim + ": record 0 (key 000000000): checksum mismatch"));
  EXPECT_THAT(out_, HasSubstr("1 CORRUPT RECORDS"));

  ASSERT_NO_FATAL_FAILURE(FlipByte(victim, -1));  // the trailer: the shard no longer opens at all
  EXPECT_EQ(Run(StrCat("verify ", dir_ / "d")), 1);
  EXPECT_THAT(err_, HasSubstr(victim + ": no index trailer"));
}

TEST_F(MaskfeedShardTest, UsageErrorsExitWith2AndSayWhy) {
  EXPECT_EQ(Run(""), 2);
  EXPECT_THAT(err_, HasSubstr("usage: maskfeed-shard"));
  EXPECT_EQ(Run("frobnicate"), 2);
  EXPECT_THAT(err_, HasSubstr("unknown command 'frobnicate'"));
  EXPECT_EQ(Run(StrCat("synth --samples 0 --out ", dir_ / "x")), 2);
  EXPECT_THAT(err_, HasSubstr("--samples: '0' is not an integer"));
  EXPECT_EQ(Run(StrCat("synth --samples 10 --out ", dir_ / "x", " --format zip")), 2);
  EXPECT_THAT(err_, HasSubstr("--format: must be tar or mfs"));
  EXPECT_EQ(Run(StrCat("synth --samples 10 --bogus 1 --out ", dir_ / "x")), 2);
  EXPECT_THAT(err_, HasSubstr("unknown flag --bogus"));
  EXPECT_EQ(Run("convert onlyone"), 2);
  EXPECT_EQ(Run(StrCat("verify ", dir_ / "missing")), 1);
  EXPECT_THAT(err_, HasSubstr("is not a directory"));
  EXPECT_EQ(Run("--help"), 0);
  EXPECT_THAT(out_, HasSubstr("verify DIR"));
}

}  // namespace
}  // namespace maskfeed
