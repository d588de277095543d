#include "pipeline/masking/masker.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/masking_test_util.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Ids;
using ::maskfeed::testing::MakeRecord;
using ::maskfeed::testing::Message;
using ::maskfeed::testing::SpecFromText;
using ::testing::HasSubstr;

// Row buffers for every modality of a spec, poisoned so unwritten bytes show.
struct Rows {
  std::vector<std::vector<int32_t>> tokens, attention;
  std::vector<std::vector<float>> embeddings;
  std::vector<std::vector<uint8_t>> input, target;
  std::vector<ModalityRow> rows;

  explicit Rows(const MaskingSpec& spec) {
    const size_t k = spec.modalities.size();
    tokens.resize(k), attention.resize(k), embeddings.resize(k), input.resize(k), target.resize(k);
    for (size_t m = 0; m < k; ++m) {
      const ModalitySpec& mod = spec.modalities[m];
      const size_t n = static_cast<size_t>(mod.length());
      tokens[m].assign(n, -7);
      attention[m].assign(n, -7);
      embeddings[m].assign(n * static_cast<size_t>(std::max(mod.embedding_dim, 1)), -7.f);
      input[m].assign(n, 7);
      target[m].assign(n, 7);
      rows.push_back({tokens[m].data(), embeddings[m].data(), input[m].data(), target[m].data(),
                      attention[m].data()});
    }
  }
};

// 3 crop variants whose rows differ: row c holds values 100 * c + position.
Record CropRows(int crops, int n) {
  std::vector<int16_t> v(static_cast<size_t>(crops * n));
  for (int c = 0; c < crops; ++c) {
    for (int j = 0; j < n; ++j)
      v[static_cast<size_t>(c * n + j)] = static_cast<int16_t>(100 * c + j);
  }
  return MakeRecord(DType::kInt16, {crops, n}, v);
}

constexpr const char* kTwoImages = R"pb(
  modalities { name: "a" type: MODALITY_TYPE_IMG max_tokens: 16 }
  modalities { name: "b" type: MODALITY_TYPE_IMG max_tokens: 16 }
  input_tokens { max: 8 }
  target_tokens { max: 8 }
  mixture {
    input_alpha { key: "a" value: 1 }
    input_alpha { key: "b" value: 1 }
    target_alpha { key: "a" value: 1 }
    target_alpha { key: "b" value: 1 }
  }
)pb";

// Item 25: every token modality of a sample uses the same crop variant row.
TEST(MaskerTest, OneCropVariantForEveryModalityAndTensorsPassThrough) {
  const MaskingSpec spec = SpecFromText(kTwoImages);
  Masker masker(spec);
  const Record a = CropRows(3, 16), b = CropRows(3, 16);
  const Record* records[] = {&a, &b};
  std::vector<int> seen(3);
  for (uint64_t s = 0; s < 300; ++s) {
    Rows rows(spec);
    Rng rng = Rng::ForSample(0, 0, s, 0);
    SamplePlan plan;
    MaskScratch scratch;
    masker.Plan(rng, 3, &plan, &scratch);
    ASSERT_TRUE(masker.Apply(plan, records, rng, rows.rows, &scratch).ok());
    ++seen[plan.crop];
    for (int m = 0; m < 2; ++m) {
      if (!plan.Needs(m)) continue;  // no budget: fully masked, tokens not read
      for (int j = 0; j < 16; ++j) ASSERT_EQ(rows.tokens[m][j], 100 * plan.crop + j);
    }
  }
  for (int c : seen) EXPECT_GT(c, 50) << "each variant gets drawn";
}

TEST(MaskerTest, NoCropAugmentationAlwaysUsesVariantZero) {
  MaskingSpec spec = SpecFromText(std::string(kTwoImages) + "no_crop_augmentation: true");
  Masker masker(spec);
  SamplePlan plan;
  MaskScratch scratch;
  for (uint64_t s = 0; s < 100; ++s) {
    Rng rng(s);
    masker.Plan(rng, 5, &plan, &scratch);
    ASSERT_EQ(plan.crop, 0);
  }
}

TEST(MaskerTest, SameGeneratorSameBytes) {
  const MaskingSpec spec = testing::PresetSpec("4m-7-tokens");
  Masker masker(spec);
  std::vector<Record> records;
  for (const ModalitySpec& mod : spec.modalities) {
    records.push_back(mod.type == ModalityType::kImg
                          ? CropRows(2, 196)
                          : Ids(std::vector<int32_t>(60, 5000 + static_cast<int32_t>(mod.id))));
  }
  std::vector<const Record*> pointers;
  for (const Record& r : records) pointers.push_back(&r);
  auto run = [&](uint64_t position) {
    Rows rows(spec);
    Rng rng = Rng::ForSample(1, 0, position, 0);
    SamplePlan plan;
    MaskScratch scratch;
    masker.Plan(rng, 2, &plan, &scratch);
    EXPECT_TRUE(masker.Apply(plan, pointers, rng, rows.rows, &scratch).ok());
    return rows.tokens;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(MaskerTest, ModalitiesWithoutBudgetAreFullyMaskedAndNeedNoRecord) {
  const MaskingSpec spec = SpecFromText(R"pb(
    modalities { name: "a" type: MODALITY_TYPE_IMG max_tokens: 16 }
    modalities { name: "t" type: MODALITY_TYPE_SEQ max_tokens: 8 }
    mixture {
      input_alpha { key: "a" value: 1 }
      target_alpha { key: "a" value: 1 }
    }
    input_tokens { max: 4 }
    target_tokens { max: 4 }
  )pb");
  Masker masker(spec);
  Rows rows(spec);
  Rng rng(3);
  SamplePlan plan;
  MaskScratch scratch;
  masker.Plan(rng, 1, &plan, &scratch);
  ASSERT_TRUE(plan.Needs(0));
  ASSERT_FALSE(plan.Needs(1));
  const Record a = CropRows(1, 16);
  const Record* records[] = {&a, nullptr};
  ASSERT_TRUE(masker.Apply(plan, records, rng, rows.rows, &scratch).ok());
  for (int i = 0; i < 18; ++i) {
    EXPECT_EQ(rows.tokens[1][i], 0);
    EXPECT_EQ(rows.input[1][i], 1);
    EXPECT_EQ(rows.target[1][i], 1);
    EXPECT_EQ(rows.attention[1][i], 0);
  }
  // A needed record that is missing is an error, not a crash.
  const Record* none[] = {nullptr, nullptr};
  EXPECT_EQ(masker.Apply(plan, none, rng, rows.rows, &scratch).code(),
            absl::StatusCode::kFailedPrecondition);
}

// Items 23-24: embedding rows are copies in order or zero rows; never targets.
TEST(MaskerTest, SequenceEmbeddings) {
  const MaskingSpec spec = SpecFromText(R"pb(
    modalities { name: "e" type: MODALITY_TYPE_SEQ_EMB max_tokens: 12 embedding_dim: 3 }
    mixture {
      input_alpha { key: "e" value: 1 }
      target_alpha { key: "e" value: 1 }
    }
    input_tokens { max: 6 }
    target_tokens { max: 6 }
  )pb");
  Masker masker(spec);
  constexpr int kRows = 15;  // more than M: only the first 12 can appear
  std::vector<float> values(kRows * 3);
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < 3; ++j) values[r * 3 + j] = 1 + r + 0.25f * j;
  }
  const Record record = MakeRecord(DType::kFloat32, {kRows, 3}, values);
  const Record* records[] = {&record};
  for (uint64_t s = 0; s < 500; ++s) {
    Rows rows(spec);
    Rng rng(s);
    SamplePlan plan;
    MaskScratch scratch;
    masker.Plan(rng, 1, &plan, &scratch);
    ASSERT_TRUE(masker.Apply(plan, records, rng, rows.rows, &scratch).ok());
    size_t n_in = 0;
    while (n_in < 12 && rows.input[0][n_in] == 0) ++n_in;
    ASSERT_LE(n_in, static_cast<size_t>(plan.input_budget[0]));
    float last = 0;
    for (size_t i = 0; i < 12; ++i) {
      ASSERT_EQ(rows.target[0][i], 1);
      ASSERT_EQ(rows.attention[0][i], 0);
      ASSERT_EQ(rows.input[0][i], i < n_in ? 0 : 1);
      const float* row = &rows.embeddings[0][i * 3];
      if (i >= n_in || row[0] == 0) {
        ASSERT_TRUE(row[0] == 0 && row[1] == 0 && row[2] == 0);
        continue;
      }
      const int source = static_cast<int>(row[0]) - 1;
      ASSERT_LT(source, 12);
      ASSERT_EQ(row[1], values[source * 3 + 1]);
      ASSERT_GT(row[0], last) << "kept rows stay in order";
      last = row[0];
    }
  }
}

TEST(MaskerTest, TransferRoles) {
  const MaskingSpec spec = SpecFromText(R"pb(
    modalities { name: "a" type: MODALITY_TYPE_IMG max_tokens: 4 }
    modalities { name: "b" type: MODALITY_TYPE_IMG max_tokens: 4 }
    modalities { name: "s" type: MODALITY_TYPE_SEQ max_tokens: 6 }
    modalities { name: "t" type: MODALITY_TYPE_SEQ max_tokens: 6 }
    transfer { inputs: "a" inputs: "s" targets: "b" targets: "t" }
  )pb");
  Masker masker(spec);
  const Record a = CropRows(1, 4), b = CropRows(1, 4), s = Ids({5000, 5001}), t = Ids({6000});
  const Record* records[] = {&a, &b, &s, &t};
  Rows rows(spec);
  Rng rng(1);
  SamplePlan plan;
  MaskScratch scratch;
  masker.Plan(rng, 1, &plan, &scratch);
  ASSERT_TRUE(masker.Apply(plan, records, rng, rows.rows, &scratch).ok());
  EXPECT_EQ(rows.input[0], (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(rows.target[0], (std::vector<uint8_t>{1, 1, 1, 1}));
  EXPECT_EQ(rows.attention[0], (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(rows.input[1], (std::vector<uint8_t>{1, 1, 1, 1}));
  EXPECT_EQ(rows.target[1], (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(rows.attention[1], (std::vector<int32_t>{4, 0, 0, 0}));
  // Sequence input: ids + EOS as input, [S_1] as target at offset M = 6.
  EXPECT_EQ(rows.tokens[2], (std::vector<int32_t>{5000, 5001, 3, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(rows.attention[2][6], 1);
  // Sequence target: no input, [S_1] ids EOS [S_2] at offset M.
  EXPECT_EQ(rows.tokens[3], (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 5, 6000, 3, 6, 0, 0, 0, 0}));
  EXPECT_EQ(rows.input[3][0], 1);
  EXPECT_EQ(rows.target[3][9], 0);
}

TEST(MaskerTest, RecordsThatDoNotFitTheConfigAreErrorsNamingTheModality) {
  const MaskingSpec spec = SpecFromText(kTwoImages);
  Masker masker(spec);
  Rows rows(spec);
  Rng rng(2);
  SamplePlan plan;
  MaskScratch scratch;
  masker.Plan(rng, 3, &plan, &scratch);
  plan.crop = 2;
  const Record good = CropRows(3, 16), wrong_n = CropRows(3, 15), few_crops = CropRows(2, 16);
  const Record floats = MakeRecord(DType::kFloat32, {16}, std::vector<float>(16));
  for (const auto& [bad, what] : {std::pair{&wrong_n, "expected (n_crops, 16)"},
                                  std::pair{&few_crops, "2 crop variants; variant 2 was drawn"},
                                  std::pair{&floats, "must be integers"}}) {
    const Record* records[] = {&good, bad};
    absl::Status s = masker.Apply(plan, records, rng, rows.rows, &scratch);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(Message(s), HasSubstr("modality b: "));
    EXPECT_THAT(Message(s), HasSubstr(what));
  }
}

}  // namespace
}  // namespace maskfeed
