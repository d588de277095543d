// End-to-end tests of the maskfeed-shard program: real process, real files, exit codes and
// messages as a user sees them.
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/tools/tar_writer.h"
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

// An unreadable dataset is reported as such, not as "no modality folders". Root reads
// everything, so the program runs as nobody (util-linux's setpriv) on folders it cannot list.
TEST_F(MaskfeedShardTest, UnreadableDatasetSaysPermissionDenied) {
  const std::string as_nobody = "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups ";
  if (::geteuid() != 0 || !std::filesystem::exists("/usr/bin/setpriv")) {
    GTEST_SKIP() << "needs root and setpriv to run the program as another user";
  }
  if (ProgramTest::Run(as_nobody + MASKFEED_SHARD_BIN, "--help") != 0) {
    GTEST_SKIP() << "nobody cannot run " << MASKFEED_SHARD_BIN << " from this checkout";
  }
  ASSERT_EQ(Run(StrCat("synth --samples 8 --shards 1 --out ", dir_ / "d")), 0) << err_;
  namespace fs = std::filesystem;
  using fs::perms;
  fs::permissions(dir_.path(), perms::owner_all | perms::group_exec | perms::others_exec);
  fs::permissions(dir_ / "d", perms::owner_all | perms::group_exec | perms::others_exec);
  EXPECT_NE(ProgramTest::Run(as_nobody + MASKFEED_SHARD_BIN, StrCat("verify ", dir_ / "d")), 0);
  EXPECT_THAT(err_, HasSubstr("cannot list " + (dir_ / "d")));
  EXPECT_THAT(err_, HasSubstr("Permission denied"));
  EXPECT_THAT(err_, ::testing::Not(HasSubstr("no modality folders")));

  // The root listable, one modality folder not.
  fs::permissions(dir_ / "d", perms::owner_all | perms::group_read | perms::group_exec |
                                  perms::others_read | perms::others_exec);
  fs::permissions(dir_ / "d/caption", perms::owner_all);
  EXPECT_NE(ProgramTest::Run(as_nobody + MASKFEED_SHARD_BIN, StrCat("verify ", dir_ / "d")), 0);
  EXPECT_THAT(err_, HasSubstr("cannot list " + (dir_ / "d/caption")));
  EXPECT_THAT(err_, HasSubstr("Permission denied"));
}

// Every command answers --help with its usage (and the .mfs options) on stdout, exit 0.
TEST_F(MaskfeedShardTest, EveryCommandAnswersHelp) {
  for (const char* command : {"synth", "convert", "verify", "inspect", "manifest"}) {
    EXPECT_EQ(Run(StrCat(command, " --help")), 0) << command;
    EXPECT_THAT(out_, HasSubstr(StrCat("usage: maskfeed-shard ", command))) << command;
    EXPECT_THAT(out_, HasSubstr("MFS OPTIONS")) << command;
  }
  EXPECT_EQ(Run("synth --out /nonexistent/x -h"), 0) << "help wins over the other arguments";
  EXPECT_FALSE(std::filesystem::exists("/nonexistent/x"));
}

TEST_F(MaskfeedShardTest, SynthConvertVerifyInspect) {
  ASSERT_EQ(Run(StrCat("synth --preset 4m-7-tokens --samples 120 --shards 3 --out ", dir_ / "tar",
                       " --threads 2")),
            0)
      << err_;
  EXPECT_THAT(out_, HasSubstr("120 samples of preset 4m-7-tokens in 3 tar shards"));
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

// The default preset writes 4M-7 as 4M stores it: JPEGs, JSON, tokens, and a tokenizer.
TEST_F(MaskfeedShardTest, SynthWritesTheRaw4m7Layout) {
  ASSERT_EQ(Run(StrCat("synth --samples 12 --shards 2 --format mfs --out ", dir_ / "raw")), 0)
      << err_;
  EXPECT_THAT(out_, HasSubstr("12 samples of preset 4m-7 in 2 mfs shards"));
  EXPECT_THAT(out_, HasSubstr("raw layout with tokenizer.json"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "raw/tokenizer.json"));
  ASSERT_EQ(Run(StrCat("verify ", dir_ / "raw")), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("12 samples, 10 modalities, 2 shards, 120 records checked"));
  ASSERT_EQ(Run(StrCat("inspect ", dir_ / "raw")), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("name: \"rgb\""));
  EXPECT_THAT(out_, HasSubstr("name: \"caption\""));
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
  EXPECT_EQ(Run(StrCat("synth --samples 10 --raw --out ", dir_ / "x")), 2);
  EXPECT_THAT(err_, HasSubstr("--preset 4m-7-tokens writes pre-tokenized data"));
  EXPECT_EQ(Run("convert onlyone"), 2);
  EXPECT_EQ(Run(StrCat("verify ", dir_ / "missing")), 1);
  EXPECT_THAT(err_, HasSubstr("is not a directory"));
  EXPECT_EQ(Run("--help"), 0);
  EXPECT_THAT(out_, HasSubstr("verify DIR"));
}

// A .npy member whose shape's byte count wraps 64 bits to 0 (float32 (2^42, 2^20)) with no
// data bytes used to verify as OK, and then crashed the server that served it.
TEST_F(MaskfeedShardTest, VerifyRefusesNpyShapesWhoseSizeOverflows) {
  ASSERT_EQ(Run(StrCat("synth --samples 4 --shards 1 --format tar --out ", dir_ / "d")), 0) << err_;
  // Replace the caption folder with one whose every record claims the overflowing shape.
  const std::string header =
      "{'descr': '<f4', 'fortran_order': False, "
      "'shape': (4398046511104, 1048576), }";
  std::string npy = "\x93NUMPY\x01";
  npy.push_back('\0');
  const uint16_t len = static_cast<uint16_t>(header.size() + 1);
  npy.append(reinterpret_cast<const char*>(&len), 2);
  npy += header + "\n";
  const std::string folder = dir_ / "d/caption";
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  absl::StatusOr<TarWriter> tar = TarWriter::Create(folder + "/shard-00000.tar");
  ASSERT_TRUE(tar.ok()) << tar.status();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(tar->Add(absl::StrFormat("%09d.npy", i), npy).ok());
  }
  ASSERT_TRUE(tar->Finish().ok());
  EXPECT_EQ(Run(StrCat("verify ", dir_ / "d")), 1) << out_;
  EXPECT_THAT(err_, HasSubstr(folder + "/shard-00000.tar"));
  EXPECT_THAT(err_, HasSubstr("more bytes than 64 bits can count"));
}

}  // namespace
}  // namespace maskfeed
