// Every text-built modality of 4M-21 against ml-4m's own transforms and HuggingFace's
// tokenizers: tests/data/fourm_text/goldens.jsonl.gz holds, for each sample and crop variant
// of the synthetic 4M-21 dataset below (maskfeed-shard synth --preset 4m-21 --samples 24
// --crops 4 --seed 21), what ml-4m's UnifiedDataTransform writes and the ids 4M's tokenizer
// gives (make_goldens.py, tokenize_goldens.js). The transforms' random draws were pinned there
// (docs: make_goldens.py); here maskfeed draws its own and the comparison is in the same
// terms: metadata chunks as a multiset, palettes by their size, pose groups and SAM points in
// canonical order. This also checks that the synthetic layout is what ml-4m's loaders read.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pipeline/base/sha256.h"
#include "pipeline/image/image_header.h"
#include "pipeline/shard/dataset.h"
#include "pipeline/shard/npy.h"
#include "pipeline/text/numpy_pickle.h"
#include "pipeline/text/text_builders.h"
#include "pipeline/text/text_modality.h"
#include "pipeline/tools/synth_dataset.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tokenizer_goldens.h"

namespace maskfeed::text {
namespace {

constexpr char kGoldens[] = MASKFEED_SOURCE_DIR "/tests/data/fourm_text/goldens.jsonl.gz";

using Ids = std::vector<int32_t>;

// Splits `ids` before every id in `starts`; what precedes the first start is part 0.
std::vector<Ids> SplitBefore(const Ids& ids, const std::set<int32_t>& starts) {
  std::vector<Ids> parts(1);
  for (int32_t id : ids) {
    if (starts.count(id) != 0 && !parts.back().empty()) parts.emplace_back();
    parts.back().push_back(id);
  }
  return parts;
}

class FourmTextGoldensTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    SynthOptions options;
    options.preset = "4m-21";
    options.samples = 24;
    options.shards = 1;
    options.crops = 4;
    options.seed = 21;
    options.out = dir_->path().string();
    ASSERT_TRUE(SynthesizeDataset(options).ok());
    absl::StatusOr<std::unique_ptr<Dataset>> d = Dataset::Open(dir_->path().string());
    ASSERT_TRUE(d.ok()) << d.status();
    dataset_ = d->release();
    absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> t =
        WordPieceTokenizer::FromFile(testing::kTokenizer4m);
    ASSERT_TRUE(t.ok()) << t.status();
    tokenizer_ = t->release();
  }
  static void TearDownTestSuite() {
    delete dataset_;
    delete tokenizer_;
    delete dir_;
  }

  Record Read(std::string_view modality, size_t sample) {
    Record r;
    const std::optional<size_t> m = dataset_->FindModality(modality);
    EXPECT_TRUE(m.has_value()) << modality;
    if (m) {
      EXPECT_TRUE(dataset_->Read(*m, sample, &r).ok());
    }
    return r;
  }

  SampleCrop Crop(size_t sample, int64_t crop) {
    const Record settings = Read("crop_settings", sample);
    const auto rows = settings.as<int32_t>();
    SampleCrop c;
    c.rand_aug_idx = crop;
    c.n_crops = settings.shape.dims[0];
    const int32_t* row = rows.data() + crop * 5;
    c.window = {.top = static_cast<double>(row[0]),
                .left = static_cast<double>(row[1]),
                .height = static_cast<double>(row[2]),
                .width = static_cast<double>(row[3]),
                .flip = row[4] != 0};
    c.has_window = true;
    const Record rgb = Read("rgb", sample);
    absl::StatusOr<ImageDims> dims = ReadImageDims(rgb.bytes());
    EXPECT_TRUE(dims.ok());
    if (dims.ok()) c.orig = ImageSize{.height = double(dims->height), .width = double(dims->width)};
    return c;
  }

  // maskfeed's record for (modality, sample, crop), drawn with `seed`.
  Record Build(std::string_view modality, size_t sample, int64_t crop, uint64_t seed,
               TextModalityOptions options = {}) {
    const TextModality builder(*TextBuilderFor(modality), tokenizer_, options);
    Rng rng(seed);
    Record out;
    const absl::Status s =
        builder.Build(Read(modality, sample), Crop(sample, crop), rng, &scratch_, &out);
    EXPECT_TRUE(s.ok()) << modality << " sample " << sample << ": " << s;
    return out;
  }

  Ids Encode(std::string_view text) {
    Ids ids;
    tokenizer_->Encode(text, &ids);
    return ids;
  }
  int32_t WordId(std::string_view word) {
    const Ids ids = Encode(word);
    EXPECT_EQ(ids.size(), 1u) << word;
    return ids.empty() ? -1 : ids[0];
  }

  static Ids AsIds(const Record& r) {
    const auto span = r.as<int32_t>();
    return {span.begin(), span.end()};
  }

  static testing::TempDir* dir_;
  static Dataset* dataset_;
  static WordPieceTokenizer* tokenizer_;
  TextScratch scratch_;
};

testing::TempDir* FourmTextGoldensTest::dir_ = nullptr;
Dataset* FourmTextGoldensTest::dataset_ = nullptr;
WordPieceTokenizer* FourmTextGoldensTest::tokenizer_ = nullptr;

TEST_F(FourmTextGoldensTest, EveryTextBuiltModalityGivesMl4msIds) {
  const std::vector<nlohmann::json> goldens = testing::ReadGzipJsonLines(kGoldens);
  ASSERT_FALSE(goldens.empty()) << "cannot read " << kGoldens;
  std::map<std::string, size_t> checked;
  size_t people = 0, sam_hits = 0, dets = 0;
  std::set<std::pair<size_t, int>> samples;
  // The template words that start pose groups and SAM segments.
  const int32_t human = WordId("human"), point = WordId("point"), polygon = WordId("polygon");
  const std::set<int32_t> groups = {WordId("pose"), WordId("global"), WordId("camera"),
                                    WordId("shape")};
  for (const nlohmann::json& g : goldens) {
    const auto sample = g["sample"].get<size_t>();
    const auto crop = g["crop"].get<int64_t>();
    const std::string modality = g["modality"];
    samples.insert({sample, static_cast<int>(crop)});
    SCOPED_TRACE(modality + " sample " + std::to_string(sample) + " crop " + std::to_string(crop));
    if (modality == "caption" || modality == "det") {
      const Ids want = g["ids"];
      EXPECT_EQ(AsIds(Build(modality, sample, crop, 1)), want) << g["text"];
      dets += modality == "det" && !want.empty();
      // The text path (no direct coordinate ids) gives the same.
      if (modality == "det") {
        EXPECT_EQ(AsIds(Build(modality, sample, crop, 1, {.det_direct_ids = false})), want);
      }
    } else if (modality == "metadata") {
      // ml-4m's key order was not shuffled; maskfeed's is: the same chunks, each exact.
      const Record out = Build(modality, sample, crop, sample * 31 + crop);
      const Ids ids = AsIds(out);
      ASSERT_FALSE(out.chunks.empty());
      std::vector<uint32_t> bounds = out.chunks;
      if (bounds.back() != ids.size()) bounds.push_back(static_cast<uint32_t>(ids.size()));
      std::vector<Ids> got;
      for (size_t c = 0; c + 1 < bounds.size(); ++c) {
        got.emplace_back(ids.begin() + bounds[c], ids.begin() + bounds[c + 1]);
      }
      std::vector<Ids> want = g["chunk_ids"];
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      EXPECT_EQ(got, want);
    } else if (modality == "color_palette") {
      // One line per palette size k; maskfeed's draw of k shows in its first id (v1=k).
      const auto k = g["k"].get<int32_t>();
      const Ids want = g["ids"];
      ASSERT_FALSE(want.empty());
      EXPECT_EQ(want[0], WordId("v1=" + std::to_string(k)));
      bool seen = false;
      for (uint64_t seed = 0; seed < 64 && !seen; ++seed) {
        const Ids got = AsIds(Build(modality, sample, crop, seed));
        if (got[0] == want[0]) {
          EXPECT_EQ(got, want) << g["text"];
          seen = true;
        }
      }
      EXPECT_TRUE(seen) << "no draw of 64 chose palette size " << k;
    } else if (modality == "human_poses") {
      // ml-4m's groups in their listed order (pose, global, camera, shape: randperm pinned to
      // the identity); maskfeed's in its drawn order, put back into that order per person.
      const Ids want = g["ids"];
      const Ids got = AsIds(Build(modality, sample, crop, sample * 7 + crop));
      Ids canonical;
      for (const Ids& person : SplitBefore(got, {human})) {
        std::vector<Ids> parts = SplitBefore(person, groups);
        ASSERT_TRUE(parts.size() == 5 || parts.size() == 1) << parts.size();
        std::map<int32_t, Ids> by_word;
        for (size_t p = 1; p < parts.size(); ++p) by_word[parts[p][0]] = parts[p];
        canonical.insert(canonical.end(), parts[0].begin(), parts[0].end());
        for (const char* word : {"pose", "global", "camera", "shape"}) {
          const Ids& part = by_word[WordId(word)];
          canonical.insert(canonical.end(), part.begin(), part.end());
        }
        people += parts.size() == 5;
      }
      EXPECT_EQ(canonical, want) << g["text"];
    } else if (modality == "sam_instance") {
      // Query points as given to ml-4m; points and instance lists in canonical order.
      const Record raw = Read(modality, sample);
      absl::StatusOr<NpyHeader> header = ParseNpy(raw.bytes());
      ASSERT_TRUE(header.ok());
      absl::StatusOr<PyRef> array = ReadNumpyPickle(raw.bytes().substr(header->data_offset));
      ASSERT_TRUE(array.ok()) << array.status();
      std::vector<SamPoint> points;
      for (const auto& yx : g["points"]) {
        points.push_back({.x = yx[1].get<int64_t>(), .y = yx[0].get<int64_t>()});
      }
      Rng rng(sample * 13 + crop);
      absl::StatusOr<std::string> text =
          BuildSamTextAt(*(*array)->items[static_cast<size_t>(crop)], points, rng);
      ASSERT_TRUE(text.ok()) << text.status();
      auto canonical = [&](const Ids& ids) {
        std::vector<std::vector<Ids>> out;
        for (const Ids& p : SplitBefore(ids, {point})) {
          std::vector<Ids> parts = SplitBefore(p, {polygon});
          std::sort(parts.begin() + 1, parts.end());
          out.push_back(parts);
        }
        std::sort(out.begin(), out.end());
        return out;
      };
      const Ids want = g["ids"];
      EXPECT_EQ(canonical(Encode(*text)), canonical(want)) << g["text"];
      sam_hits += std::count(want.begin(), want.end(), polygon);
    } else if (modality == "t5_caption") {
      const Record out = Build(modality, sample, crop, 1);
      EXPECT_EQ(out.dtype, DType::kFloat16);
      EXPECT_EQ(out.shape.dims[0], g["shape"][0].get<int64_t>());
      EXPECT_EQ(out.shape.dims[1], g["shape"][1].get<int64_t>());
      const std::array<uint8_t, 32> digest = Sha256(out.bytes());
      EXPECT_EQ(absl::BytesToHexString(
                    absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())),
                g["sha256"].get<std::string>());
    } else {
      ADD_FAILURE() << "unknown modality in the goldens";
    }
    ++checked[modality];
  }
  // Every sample and crop variant, every text-built modality, with content worth checking.
  EXPECT_EQ(samples.size(), 24u * 4);
  for (const char* m : {"caption", "det", "metadata", "human_poses", "t5_caption"}) {
    EXPECT_EQ(checked[m], 24u * 4) << m;
  }
  EXPECT_EQ(checked["color_palette"], 24u * 4 * 7);
  EXPECT_GE(checked["sam_instance"], 24u * 4 * 7);
  EXPECT_GT(people, 40u);
  EXPECT_GT(sam_hits, 200u);
  EXPECT_GT(dets, 40u);
}

}  // namespace
}  // namespace maskfeed::text
