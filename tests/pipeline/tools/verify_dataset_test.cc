#include "pipeline/tools/verify_dataset.h"

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/crc32c.h"
#include "pipeline/base/strings.h"
#include "pipeline/tools/synth_dataset.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::FlipByte;
using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

void Synthesize(const std::string& out, ShardFormat format) {
  SynthOptions o;
  o.preset = SynthOptions::kTokensPreset;
  o.samples = 40;
  o.shards = 2;
  o.out = out;
  o.format = format;
  // The default codec stores records raw, so the byte offsets below are predictable.
  ASSERT_EQ(o.mfs.compression, mfs::Compression::kNone);
  ASSERT_TRUE(SynthesizeDataset(o).ok());
}

TEST(VerifyDatasetTest, CleanDatasetChecksEveryRecord) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Synthesize(dir / "d", ShardFormat::kMfs));
  tbb::task_arena arena(2);
  VerifyOptions options;
  options.arena = &arena;
  absl::StatusOr<VerifyReport> report = VerifyDataset(dir / "d", options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->errors.empty());
  EXPECT_EQ(report->samples, 40u);
  EXPECT_EQ(report->modalities, 8u);
  EXPECT_EQ(report->shards, 2u);
  EXPECT_EQ(report->records_checked, 40u * 8);
}

TEST(VerifyDatasetTest, ListsEveryCorruptRecordByFileAndKey) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Synthesize(dir / "d", ShardFormat::kMfs));
  // Raw records follow the 64-byte header back to back: caption record 0 starts at byte 64.
  const std::string caption = dir / "d/caption/shard-00001.mfs";
  ASSERT_NO_FATAL_FAILURE(FlipByte(caption, 64));
  const std::string rgb = dir / "d/tok_rgb@224/shard-00000.mfs";
  ASSERT_NO_FATAL_FAILURE(FlipByte(rgb, 64 + 3 * 4 * 196 * 2 + 10));  // inside record 3
  absl::StatusOr<VerifyReport> report = VerifyDataset(dir / "d");
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->errors.size(), 2u);
  EXPECT_EQ(report->records_checked, 40u * 8);
  // Errors come in (modality, shard) order whatever the thread count.
  EXPECT_THAT(Message(report->errors[0]), HasSubstr(caption + ": record 0 (key 000000020)"));
  EXPECT_THAT(Message(report->errors[1]), HasSubstr(rgb + ": record 3 (key 000000003)"));
  EXPECT_THAT(Message(report->errors[1]), HasSubstr("checksum mismatch"));
}

TEST(VerifyDatasetTest, LayoutProblemsAreReturnedAsTheStatus) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Synthesize(dir / "d", ShardFormat::kTar));
  std::filesystem::remove(dir / "d/det/shard-00001.tar");
  absl::StatusOr<VerifyReport> report = VerifyDataset(dir / "d");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(report.status()), HasSubstr("det: shard 1 is missing"));
}

// A row checksum that disagrees with its row (the record's own checksum still matching) is
// what a stream reading one crop variant finds; verify must find it first.
TEST(VerifyDatasetTest, ChecksTheRowChecksumsOfMfsRecords) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Synthesize(dir / "d", ShardFormat::kMfs));
  const std::string victim = dir / "d/tok_rgb@224/shard-00001.mfs";
  std::string bytes = ::maskfeed::testing::ReadFile(victim);
  uint64_t index_offset, index_bytes;
  std::memcpy(&index_offset, bytes.data() + bytes.size() - 32, 8);
  std::memcpy(&index_bytes, bytes.data() + bytes.size() - 24, 8);
  // The index ends with the row CRCs: change the last record's last one, then re-seal the index.
  bytes[index_offset + index_bytes - 1] ^= 0x10;
  const uint32_t crc = Crc32c(bytes.data() + index_offset, index_bytes);
  std::memcpy(bytes.data() + bytes.size() - 16, &crc, 4);
  ASSERT_NO_FATAL_FAILURE(::maskfeed::testing::WriteFile(victim, bytes));

  absl::StatusOr<VerifyReport> report = VerifyDataset(dir / "d", VerifyOptions());
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_THAT(Message(report->errors[0]), HasSubstr(victim + ": record 19"));
  EXPECT_THAT(Message(report->errors[0]), HasSubstr("checksum mismatch in row"));
}

}  // namespace
}  // namespace maskfeed
