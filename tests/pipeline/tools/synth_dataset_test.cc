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

// Writes `serial` under dir/serial on this thread and again under dir/parallel on 3 threads;
// returns how many files are byte-identical in the two (every one must be).
size_t SynthSerialAndParallel(const TempDir& dir, SynthOptions serial) {
  serial.out = dir / "serial";
  EXPECT_TRUE(SynthesizeDataset(serial).ok());
  tbb::task_arena arena(3);
  SynthOptions parallel = serial;
  parallel.out = dir / "parallel";
  parallel.arena = &arena;
  EXPECT_TRUE(SynthesizeDataset(parallel).ok());
  return SameFiles(dir.path() / "serial", dir.path() / "parallel");
}

// The raw 4M-7 layout (JPEGs, JSON, the tokenizer) is as deterministic.
TEST(SynthDatasetTest, RawLayoutIsTheSameForAnyThreadCount) {
  TempDir dir;
  SynthOptions raw = Options("", ShardFormat::kTar);
  raw.preset = SynthOptions::kRawPreset;
  raw.samples = 24;
  // 10 folders of 3 shards, and tokenizer.json
  EXPECT_EQ(SynthSerialAndParallel(dir, raw), 10u * 3 + 1);
  EXPECT_EQ(SynthModalities("4m-7").size(), 10u);
  EXPECT_EQ(SynthModalities("4m-7-tokens").size(), 8u);
}

// 4M-21's raw layout: every folder of 4M-21's cc12m in_domains (rgb as 4M names the folder),
// the same bytes for any thread count, in tar and .mfs, and each member of the kind 4M stores:
// SAM instances an object array with one entry per crop variant, T5 captions an npz.
TEST(SynthDatasetTest, FourM21LayoutHasEveryModalityOfItsConfig) {
  const std::vector<std::string> names = SynthModalities("4m-21");
  EXPECT_THAT(names, ::testing::ElementsAre(
                         "caption", "color_palette", "crop_settings", "det", "human_poses",
                         "metadata", "rgb", "sam_instance", "t5_caption", "tok_canny_edge@224",
                         "tok_clip@224", "tok_depth@224", "tok_dinov2@224", "tok_dinov2_global",
                         "tok_imagebind@224", "tok_imagebind_global", "tok_normal@224",
                         "tok_rgb@224", "tok_sam_edge@224", "tok_semseg@224"));
  for (ShardFormat format : {ShardFormat::kTar, ShardFormat::kMfs}) {
    TempDir dir;
    SynthOptions fourm21 = Options("", format);
    fourm21.preset = SynthOptions::k4m21Preset;
    fourm21.samples = 12;
    EXPECT_EQ(SynthSerialAndParallel(dir, fourm21), 20u * 3 + 1);
    absl::StatusOr<std::unique_ptr<Dataset>> d = Dataset::Open(dir / "serial");
    ASSERT_TRUE(d.ok()) << d.status();
    ASSERT_EQ((*d)->num_samples(), 12u);
    auto kind_of = [&](std::string_view name) {
      Record r;
      EXPECT_TRUE((*d)->Read(*(*d)->FindModality(name), 5, &r).ok()) << name;
      return std::pair{r.kind, r.shape};
    };
    EXPECT_EQ(kind_of("sam_instance").first, RecordKind::kPickle);
    EXPECT_EQ(kind_of("t5_caption").first, RecordKind::kNpz);
    EXPECT_EQ(kind_of("human_poses").first, RecordKind::kJson);
    EXPECT_EQ(kind_of("color_palette").first, RecordKind::kJson);
    EXPECT_EQ(kind_of("tok_dinov2@224").second, (Shape{4, 256}));
    EXPECT_EQ(kind_of("tok_imagebind_global").second, (Shape{4, 16}));
    EXPECT_EQ((*d)->NumCropVariants(5), 4);
  }
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
