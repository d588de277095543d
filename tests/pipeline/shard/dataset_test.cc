#include "pipeline/shard/dataset.h"

#include <filesystem>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/npy.h"
#include "pipeline/tools/convert_dataset.h"
#include "pipeline/tools/synth_dataset.h"
#include "pipeline/tools/tar_writer.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

namespace fs = std::filesystem;
using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Status OpenError(const std::string& root, DatasetOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Dataset>> d = Dataset::Open(root, options);
  return d.ok() ? absl::OkStatus() : d.status();
}

// Writes <root>/<modality>/shard-<shard>.tar holding int32 records of shape `shape` under
// `keys`; record values encode (shard, index) so reads can be checked.
void WriteShard(const std::string& root, const std::string& modality, int shard,
                const std::vector<std::string>& keys, Shape shape, DType dtype = DType::kInt32) {
  const fs::path dir = fs::path(root) / modality;
  fs::create_directories(dir);
  absl::StatusOr<TarWriter> tar =
      TarWriter::Create((dir / absl::StrFormat("shard-%05d.tar", shard)).string());
  ASSERT_TRUE(tar.ok());
  for (size_t i = 0; i < keys.size(); ++i) {
    std::vector<int32_t> v(static_cast<size_t>(shape.NumElements()),
                           shard * 1000 + static_cast<int>(i));
    ASSERT_TRUE(tar->Add(keys[i] + ".npy", EncodeNpy(dtype, shape, v.data())).ok());
  }
  ASSERT_TRUE(tar->Finish().ok());
}

std::vector<std::string> Keys(int first, int n) {
  std::vector<std::string> keys;
  for (int i = first; i < first + n; ++i) keys.push_back(absl::StrFormat("%06d", i));
  return keys;
}

SynthOptions Synth(const std::string& out, size_t samples, size_t shards, ShardFormat format) {
  SynthOptions o;
  o.preset = SynthOptions::kTokensPreset;
  o.samples = samples;
  o.shards = shards;
  o.out = out;
  o.format = format;
  o.seed = 11;
  return o;
}

TEST(DatasetTest, OpensSynthetic4m7AndLocatesSamplesAcrossShards) {
  TempDir dir;
  ASSERT_TRUE(SynthesizeDataset(Synth(dir / "d", 103, 4, ShardFormat::kTar)).ok());
  absl::StatusOr<std::unique_ptr<Dataset>> d = Dataset::Open(dir / "d");
  ASSERT_TRUE(d.ok()) << d.status();
  const Dataset& ds = **d;
  EXPECT_EQ(ds.num_samples(), 103u);
  EXPECT_EQ(ds.num_shards(), 4u);
  std::vector<std::string> names;
  for (size_t m = 0; m < ds.num_modalities(); ++m) names.push_back(ds.modality_name(m));
  EXPECT_EQ(names, SynthModalities("4m-7-tokens"));
  EXPECT_EQ(ds.layout(*ds.FindModality("tok_rgb@224")).ToString(), "int16 (*, 196)");
  EXPECT_EQ(ds.layout(*ds.FindModality("caption")).ToString(), "int32 (*,)");
  EXPECT_EQ(ds.layout(*ds.FindModality("crop_settings")).ToString(), "int32 (*, 5)");
  // 103 samples in 4 shards: 25, 26, 26, 26.
  EXPECT_THAT(ds.Describe().shard_sizes(), ElementsAre(25, 26, 26, 26));
  EXPECT_EQ(ds.Locate(24).shard, 0u);
  EXPECT_EQ(ds.Locate(25).shard, 1u);
  EXPECT_EQ(ds.Locate(25).record, 0u);
  EXPECT_EQ(ds.Locate(102).shard, 3u);
  EXPECT_EQ(ds.Locate(102).record, 25u);
  for (size_t i : {0, 25, 77, 102}) EXPECT_EQ(ds.key(i), absl::StrFormat("%09d", i));
  EXPECT_EQ(ds.NumCropVariants(50), SynthOptions::kDefaultCrops);
  std::vector<Record> records;
  ASSERT_TRUE(ds.ReadSample(77, &records).ok());
  ASSERT_EQ(records.size(), ds.num_modalities());
  EXPECT_EQ(records[*ds.FindModality("tok_depth@224")].shape, (Shape{4, 196}));
}

// 4M's data_path: a folder list and brace ranges name the same shards as the folder layout;
// modality_name_map renames a folder; a missing shard is NOT_FOUND naming it.
TEST(DatasetTest, OpensA4mDataPathPattern) {
  TempDir dir;
  ASSERT_TRUE(SynthesizeDataset(Synth(dir / "d", 40, 3, ShardFormat::kTar)).ok());
  std::filesystem::rename(dir / "d/tok_rgb@224", dir / "d/rgb_tokens");
  absl::StatusOr<std::unique_ptr<Dataset>> d =
      Dataset::OpenPattern(dir / "d/[caption,rgb_tokens,crop_settings]/shard-{00000..00002}.tar",
                           {{"rgb_tokens", "tok_rgb@224"}});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ((*d)->num_samples(), 40u);
  EXPECT_EQ((*d)->num_shards(), 3u);
  ASSERT_EQ((*d)->num_modalities(), 3u);
  EXPECT_EQ((*d)->modality_name(2), "tok_rgb@224");
  EXPECT_EQ((*d)->key(39), absl::StrFormat("%09d", 39));

  absl::StatusOr<std::unique_ptr<Dataset>> missing =
      Dataset::OpenPattern(dir / "d/[caption,crop_settings]/shard-{00000..00003}.tar");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(missing.status()), HasSubstr("shard-00003.tar"));
  absl::StatusOr<std::unique_ptr<Dataset>> flat =
      Dataset::OpenPattern(dir / "d/caption/shard-{00000..00002}.tar");
  EXPECT_EQ(flat.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(flat.status()), HasSubstr("needs a [folder,folder,...] group"));
  absl::StatusOr<std::unique_ptr<Dataset>> twice = Dataset::OpenPattern(
      dir / "d/[caption,crop_settings]/shard-00000.tar", {{"crop_settings", "caption"}});
  EXPECT_THAT(Message(twice.status()), HasSubstr("gives modality caption twice"));
}

class DatasetFormats : public ::testing::TestWithParam<bool> {};

TEST_P(DatasetFormats, MfsConversionReadsBackIdenticalToTar) {
  TempDir dir;
  tbb::task_arena arena(2);
  SynthOptions synth = Synth(dir / "tar", 64, 3, ShardFormat::kTar);
  synth.arena = &arena;
  ASSERT_TRUE(SynthesizeDataset(synth).ok());
  ConvertOptions convert;
  convert.src = dir / "tar";
  convert.dst = dir / "mfs";
  convert.mfs.compression = GetParam() ? mfs::Compression::kZstd : mfs::Compression::kNone;
  convert.arena = &arena;
  absl::StatusOr<ConvertReport> report = ConvertDataset(convert);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->samples, 64u);
  EXPECT_EQ(report->records, 64u * 8);

  DatasetOptions parallel;
  parallel.arena = &arena;
  absl::StatusOr<std::unique_ptr<Dataset>> tar = Dataset::Open(dir / "tar", parallel);
  absl::StatusOr<std::unique_ptr<Dataset>> mfs = Dataset::Open(dir / "mfs");
  ASSERT_TRUE(tar.ok() && mfs.ok());
  EXPECT_EQ((*mfs)->format(0), ShardFormat::kMfs);
  std::vector<Record> a, b;
  for (size_t i = 0; i < 64; ++i) {
    EXPECT_EQ((*tar)->key(i), (*mfs)->key(i));
    ASSERT_TRUE((*tar)->ReadSample(i, &a).ok());
    ASSERT_TRUE((*mfs)->ReadSample(i, &b).ok());
    for (size_t m = 0; m < a.size(); ++m) {
      EXPECT_EQ(a[m].dtype, b[m].dtype);
      EXPECT_EQ(a[m].shape, b[m].shape);
      EXPECT_EQ(a[m].data, b[m].data) << "sample " << i << " modality " << m;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Compression, DatasetFormats, ::testing::Bool());

TEST(DatasetTest, SelectsRequestedModalitiesOnly) {
  TempDir dir;
  ASSERT_TRUE(SynthesizeDataset(Synth(dir / "d", 10, 1, ShardFormat::kMfs)).ok());
  DatasetOptions options;
  options.modalities = {"det", "caption"};
  absl::StatusOr<std::unique_ptr<Dataset>> d = Dataset::Open(dir / "d", options);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ((*d)->num_modalities(), 2u);
  EXPECT_EQ((*d)->modality_name(0), "caption");
  EXPECT_EQ((*d)->NumCropVariants(0), 1) << "no crop_settings, no (n_crops, n) modality";

  options.modalities = {"caption", "depth"};
  absl::Status s = OpenError(dir / "d", options);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), HasSubstr("modality 'depth'"));
}

TEST(DatasetTest, MissingShardInOneModality) {
  TempDir dir;
  const std::string root = dir / "d";
  for (int s : {0, 1, 2}) WriteShard(root, "a", s, Keys(s * 3, 3), {4});
  for (int s : {0, 2}) WriteShard(root, "b", s, Keys(s * 3, 3), {4});
  absl::Status st = OpenError(root);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(st), HasSubstr(root + "/b: shard 1 is missing"));
  EXPECT_THAT(Message(st), HasSubstr("a/shard-00001.tar exists"));
}

TEST(DatasetTest, KeysThatDisagreeAcrossModalities) {
  TempDir dir;
  const std::string root = dir / "d";
  WriteShard(root, "a", 0, {"s0", "s1", "s2"}, {4});
  WriteShard(root, "b", 0, {"s0", "sX", "s2"}, {4});
  absl::Status st = OpenError(root);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(st), HasSubstr("b/shard-00000.tar: record 1 (key sX): key differs from"));
  EXPECT_THAT(Message(st), HasSubstr("a/shard-00000.tar record 1 (key s1)"));
}

TEST(DatasetTest, RecordCountsThatDisagree) {
  TempDir dir;
  const std::string root = dir / "d";
  WriteShard(root, "a", 0, Keys(0, 3), {4});
  WriteShard(root, "b", 0, Keys(0, 2), {4});
  EXPECT_THAT(Message(OpenError(root)), HasSubstr("b/shard-00000.tar has 2 records but"));
}

TEST(DatasetTest, ShapesThatDisagreeAcrossShardsOfAModality) {
  TempDir dir;
  const std::string root = dir / "d";
  WriteShard(root, "a", 0, Keys(0, 2), {2, 196});
  WriteShard(root, "a", 1, Keys(2, 2), {2, 256});
  absl::Status st = OpenError(root);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(st), HasSubstr("a/shard-00001.tar: record 0 (key 000002): records are int32 "
                                     "(*, 256) but"));
}

TEST(DatasetTest, CropVariantsMustMatchCropSettings) {
  TempDir dir;
  const std::string root = dir / "d";
  WriteShard(root, "crop_settings", 0, Keys(0, 3), {4, 5});
  WriteShard(root, "tok_rgb@224", 0, Keys(0, 3), {4, 196});
  ASSERT_TRUE(OpenError(root).ok());
  TempDir bad;
  const std::string root2 = bad / "d";
  WriteShard(root2, "crop_settings", 0, Keys(0, 3), {4, 5});
  WriteShard(root2, "tok_rgb@224", 0, Keys(0, 3), {3, 196});
  EXPECT_THAT(Message(OpenError(root2)),
              HasSubstr("tok_rgb@224/shard-00000.tar: record 0 (key 000000): 3 crop variants but"));
}

TEST(DatasetTest, EmptyMissingAndMixedRoots) {
  TempDir dir;
  EXPECT_EQ(OpenError(dir / "nope").code(), absl::StatusCode::kNotFound);
  fs::create_directories(dir / "empty/caption");
  absl::Status st = OpenError(dir / "empty");
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(st), HasSubstr("no modality folders"));

  WriteShard(dir / "zero", "a", 0, {}, {4});
  st = OpenError(dir / "zero");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(st), HasSubstr("holds no samples"));

  const std::string mixed = dir / "mixed";
  ASSERT_TRUE(SynthesizeDataset(Synth(mixed, 4, 1, ShardFormat::kMfs)).ok());
  WriteShard(mixed, "caption", 1, Keys(0, 1), {4});
  EXPECT_THAT(Message(OpenError(mixed)), HasSubstr("mixes .tar and .mfs shards"));
}

TEST(DatasetTest, CorruptShardFailsOpenNamingTheFile) {
  TempDir dir;
  ASSERT_TRUE(SynthesizeDataset(Synth(dir / "d", 20, 2, ShardFormat::kMfs)).ok());
  const std::string victim = dir / "d/det/shard-00001.mfs";
  ASSERT_NO_FATAL_FAILURE(::maskfeed::testing::FlipByte(victim, -3));
  absl::Status st = OpenError(dir / "d");
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(st), HasSubstr(victim));
}

}  // namespace
}  // namespace maskfeed
