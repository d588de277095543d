#include "pipeline/tools/synth_dataset.h"

#include <algorithm>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/dataset.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

namespace fs = std::filesystem;
using ::maskfeed::testing::ReadFile;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

SynthOptions Options(const std::string& out, ShardFormat format) {
  SynthOptions o;
  o.preset = SynthOptions::kTokensPreset;
  o.samples = 300;
  o.shards = 3;
  o.out = out;
  o.format = format;
  o.seed = 5;
  return o;
}

// Expects every file under `a` to have the same bytes under `b`; returns how many there are.
size_t SameFiles(const fs::path& a, const fs::path& b) {
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(a)) {
    if (!entry.is_regular_file()) continue;
    const fs::path rel = fs::relative(entry.path(), a);
    EXPECT_EQ(ReadFile(entry.path().string()), ReadFile((b / rel).string())) << rel;
    ++files;
  }
  return files;
}

class SynthFormats : public ::testing::TestWithParam<ShardFormat> {};

TEST_P(SynthFormats, SameSeedSameBytesForAnyThreadCount) {
  TempDir dir;
  SynthOptions serial = Options(dir / "serial", GetParam());
  ASSERT_TRUE(SynthesizeDataset(serial).ok());
  tbb::task_arena arena(3);
  SynthOptions parallel = Options(dir / "parallel", GetParam());
  parallel.arena = &arena;
  size_t calls = 0;
  parallel.progress = [&](size_t done, size_t total) {
    ++calls;
    EXPECT_EQ(total, 3u);
    EXPECT_LE(done, total);
  };
  ASSERT_TRUE(SynthesizeDataset(parallel).ok());
  EXPECT_EQ(calls, 3u);
  const size_t files = SameFiles(dir.path() / "serial", dir.path() / "parallel");
  EXPECT_EQ(files, 8u * 3);
}

INSTANTIATE_TEST_SUITE_P(Formats, SynthFormats,
                         ::testing::Values(ShardFormat::kTar, ShardFormat::kMfs));

// The raw 4M-7 layout (JPEGs, JSON, the tokenizer) is as deterministic.
TEST(SynthDatasetTest, RawLayoutIsTheSameForAnyThreadCount) {
  TempDir dir;
  SynthOptions serial = Options(dir / "serial", ShardFormat::kTar);
  serial.preset = SynthOptions::kRawPreset;
  serial.samples = 24;
  ASSERT_TRUE(SynthesizeDataset(serial).ok());
  tbb::task_arena arena(3);
  SynthOptions parallel = serial;
  parallel.out = dir / "parallel";
  parallel.arena = &arena;
  ASSERT_TRUE(SynthesizeDataset(parallel).ok());
  const size_t files = SameFiles(dir.path() / "serial", dir.path() / "parallel");
  EXPECT_EQ(files, 10u * 3 + 1);  // 10 folders of 3 shards, and tokenizer.json
  EXPECT_EQ(SynthModalities("4m-7").size(), 10u);
  EXPECT_EQ(SynthModalities("4m-7-tokens").size(), 8u);
}

TEST(SynthDatasetTest, DifferentSeedsGiveDifferentTokens) {
  TempDir dir;
  SynthOptions a = Options(dir / "a", ShardFormat::kTar), b = Options(dir / "b", ShardFormat::kTar);
  b.seed = 6;
  ASSERT_TRUE(SynthesizeDataset(a).ok() && SynthesizeDataset(b).ok());
  EXPECT_NE(ReadFile(dir / "a/tok_rgb@224/shard-00000.tar"),
            ReadFile(dir / "b/tok_rgb@224/shard-00000.tar"));
}

// The content looks like 4M-7's: token ids inside each tokenizer's vocabulary, text ids in the
// WordPiece range, crop rows inside the image with row 0 the unflipped centre square.
TEST(SynthDatasetTest, ContentRespectsVocabulariesAndCropRules) {
  TempDir dir;
  SynthOptions o = Options(dir / "d", ShardFormat::kMfs);
  o.crops = 6;
  ASSERT_TRUE(SynthesizeDataset(o).ok());
  absl::StatusOr<std::unique_ptr<Dataset>> d = Dataset::Open(dir / "d");
  ASSERT_TRUE(d.ok()) << d.status();
  const Dataset& ds = **d;
  const std::vector<std::pair<std::string, int>> vocab = {{"tok_rgb@224", 16384},
                                                          {"tok_depth@224", 8192},
                                                          {"tok_normal@224", 8192},
                                                          {"tok_semseg@224", 4096},
                                                          {"tok_clip@224", 8192}};
  Record r;
  size_t long_captions = 0, empty_det = 0;
  for (size_t i = 0; i < ds.num_samples(); ++i) {
    EXPECT_EQ(ds.NumCropVariants(i), 6);
    for (const auto& [name, v] : vocab) {
      ASSERT_TRUE(ds.Read(*ds.FindModality(name), i, &r).ok());
      ASSERT_EQ(r.shape, (Shape{6, 196}));
      for (int16_t t : r.as<int16_t>()) ASSERT_TRUE(t >= 0 && t < v) << name << " " << t;
    }
    ASSERT_TRUE(ds.Read(*ds.FindModality("caption"), i, &r).ok());
    for (int32_t t : r.as<int32_t>()) ASSERT_TRUE(t >= 4284 && t < 30000) << t;
    long_captions += r.shape[0] > 256;
    ASSERT_TRUE(ds.Read(*ds.FindModality("det"), i, &r).ok());
    ASSERT_EQ(r.shape[0] % 5, 0);
    empty_det += r.shape[0] == 0;
    std::span<const int32_t> det = r.as<int32_t>();
    for (size_t b = 0; b < det.size(); b += 5) {
      EXPECT_TRUE(det[b] >= 204 && det[b] < 1204);           // v0=x0
      EXPECT_LE(det[b] - 204, det[b + 2] - 2204);            // x0 <= x1
      EXPECT_TRUE(det[b + 4] >= 4204 && det[b + 4] < 4284);  // a COCO class
    }
    ASSERT_TRUE(ds.Read(*ds.FindModality("crop_settings"), i, &r).ok());
    std::span<const int32_t> crop = r.as<int32_t>();
    EXPECT_EQ(crop[2], crop[3]) << "row 0 is square";
    EXPECT_EQ(crop[4], 0) << "row 0 is not flipped";
    for (size_t row = 0; row < 6; ++row) {
      const int32_t* c = &crop[row * 5];
      EXPECT_TRUE(c[0] >= 0 && c[1] >= 0 && c[2] > 0 && c[3] > 0 && (c[4] == 0 || c[4] == 1));
    }
  }
  EXPECT_GT(long_captions, 0u) << "some captions exceed 4M's 256 tokens";
  EXPECT_GT(empty_det, 0u) << "some images have no boxes";
}

TEST(SynthDatasetTest, InvalidOptionsNameTheField) {
  SynthOptions o;
  o.out = "/tmp/x";
  EXPECT_THAT(std::string(ToStd(o.Validate().message())), HasSubstr("samples"));
  o.samples = 3;
  o.shards = 4;
  EXPECT_THAT(std::string(ToStd(o.Validate().message())), HasSubstr("shards"));
  o.shards = 1;
  o.preset = "4m-99";
  EXPECT_THAT(std::string(ToStd(o.Validate().message())), HasSubstr("preset: unknown preset"));
}

}  // namespace
}  // namespace maskfeed
