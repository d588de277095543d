#include "pipeline/collate/collator.h"

#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "pipeline/base/crc32c.h"
#include "pipeline/collate/tensor_packing.h"
#include "tests/testing/masking_test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Ids;
using ::maskfeed::testing::MakeRecord;
using ::maskfeed::testing::PresetSpec;
using ::maskfeed::testing::SpecFromText;

// Deterministic 4M-7-like records for sample i, in the spec's modality order.
std::vector<Record> SampleRecords(const MaskingSpec& spec, int i) {
  std::vector<Record> records;
  for (const ModalitySpec& mod : spec.modalities) {
    if (mod.type == ModalityType::kImg) {
      std::vector<int16_t> v(2 * 196);
      for (size_t j = 0; j < v.size(); ++j)
        v[j] = static_cast<int16_t>((i * 31 + j * 7 + mod.id) % 4096);
      records.push_back(MakeRecord(DType::kInt16, {2, 196}, v));
    } else {
      std::vector<int32_t> ids(static_cast<size_t>(10 + (i * 13 + mod.id) % 90));
      for (size_t j = 0; j < ids.size(); ++j)
        ids[j] = 4284 + static_cast<int32_t>((i + j * 11) % 20000);
      records.push_back(Ids(ids));
    }
  }
  return records;
}

Batch MaskBatch(const MaskingSpec& spec, const Collator& collator, int64_t size, uint64_t seed) {
  Masker masker(spec);
  Batch batch = collator.Allocate(size);
  std::vector<ModalityRow> row;
  MaskScratch scratch;
  SamplePlan plan;
  for (int64_t i = 0; i < size; ++i) {
    const std::vector<Record> records = SampleRecords(spec, static_cast<int>(i));
    std::vector<const Record*> pointers;
    for (const Record& r : records) pointers.push_back(&r);
    Rng rng = Rng::ForSample(seed, 0, static_cast<uint64_t>(i), 0);
    masker.Plan(rng, 2, &plan, &scratch);
    collator.RowOf(batch, i, &row);
    EXPECT_TRUE(masker.Apply(plan, pointers, rng, row, &scratch).ok());
  }
  collator.Finish(&batch);
  return batch;
}

size_t Bytes(const HostTensor& t) { return t.data.size(); }

// The shapes and dtypes of docs/masking.md#the-batch, one integer dtype per tensor.
TEST(CollatorTest, ShapesAndDtypesFollowThe4mBatchSchema) {
  const MaskingSpec spec = PresetSpec("4m-7-tokens");
  Collator collator(spec, CollatorOptions());
  const Batch batch = MaskBatch(spec, collator, 5, 1);
  ASSERT_EQ(batch.size, 5);
  ASSERT_EQ(batch.modalities.size(), 7u);
  for (size_t m = 0; m < 7; ++m) {
    const ModalityBatch& mb = batch.modalities[m];
    EXPECT_EQ(mb.name, spec.modalities[m].name);
    const int64_t length = spec.modalities[m].type == ModalityType::kImg ? 196 : 514;
    const std::vector<int64_t> shape = {5, length};
    EXPECT_EQ(mb.tensor.dtype, DType::kInt32);
    EXPECT_EQ(mb.tensor.shape, shape);
    EXPECT_EQ(mb.input_mask.dtype, DType::kUInt8);
    EXPECT_EQ(mb.input_mask.shape, shape);
    EXPECT_EQ(mb.target_mask.shape, shape);
    EXPECT_EQ(mb.decoder_attention_mask.dtype, DType::kInt32);
    EXPECT_EQ(mb.decoder_attention_mask.shape, shape);
    EXPECT_EQ(Bytes(mb.tensor), static_cast<size_t>(5 * length * 4));
    EXPECT_EQ(Bytes(mb.input_mask), static_cast<size_t>(5 * length));
  }
  EXPECT_EQ(collator.RowBytes(), 5u * 196 * 10 + 2u * 514 * 10);
}

TEST(CollatorTest, Int64TokensHoldTheSameValues) {
  const MaskingSpec spec = PresetSpec("4m-7-tokens");
  Collator narrow(spec, CollatorOptions()), wide(spec, CollatorOptions{.int64_tokens = true});
  const Batch a = MaskBatch(spec, narrow, 6, 9), b = MaskBatch(spec, wide, 6, 9);
  for (size_t m = 0; m < 7; ++m) {
    const HostTensor& ta = a.modalities[m].tensor;
    const HostTensor& tb = b.modalities[m].tensor;
    ASSERT_EQ(tb.dtype, DType::kInt64);
    ASSERT_EQ(Bytes(tb), 2 * Bytes(ta));
    for (size_t i = 0; i < Bytes(ta) / 4; ++i) ASSERT_EQ(tb.as<int64_t>()[i], ta.as<int32_t>()[i]);
    EXPECT_EQ(
        0, std::memcmp(a.modalities[m].input_mask.data.data(),
                       b.modalities[m].input_mask.data.data(), Bytes(a.modalities[m].input_mask)));
  }
}

// Golden bytes: any change to what a fixed seed produces shows up here. If a change is
// intended, update the table (and say why in the commit).
TEST(CollatorTest, GoldenBytesFor4m7) {
  const MaskingSpec spec = PresetSpec("4m-7-tokens");
  Collator collator(spec, CollatorOptions());
  const Batch batch = MaskBatch(spec, collator, 16, 42);
  std::map<std::string, std::vector<uint32_t>> got;
  for (const ModalityBatch& mb : batch.modalities) {
    for (const HostTensor* t :
         {&mb.tensor, &mb.input_mask, &mb.target_mask, &mb.decoder_attention_mask}) {
      got[mb.name].push_back(Crc32c(t->data.data(), t->data.size()));
    }
  }
  const std::map<std::string, std::vector<uint32_t>> golden = {
      {"caption", {0x741a93e5, 0x9722d8ac, 0x7475b005, 0xd6e640d6}},
      {"det", {0x920787a3, 0x750a5169, 0x19249436, 0xb4799d22}},
      {"tok_clip@224", {0xe9925a82, 0xf3ecc680, 0x9f67698a, 0x426acd8a}},
      {"tok_depth@224", {0xd86fa9ea, 0xb2d52c46, 0x5ed495e6, 0xefc70f9c}},
      {"tok_normal@224", {0xc1fff2ca, 0x5e54b34f, 0xe9b1339b, 0x53728a01}},
      {"tok_rgb@224", {0x294b5563, 0x35039836, 0x30a4e1a6, 0x8a6d14bd}},
      {"tok_semseg@224", {0x5432bacf, 0x490ff30d, 0x7aa888a2, 0xf7d855c2}},
  };
  if (got == golden) return;
  ADD_FAILURE() << "the bytes for seed 42 changed; if intended, the new table is:";
  for (const auto& [name, crcs] : got) {
    std::printf("      {\"%s\", {0x%08x, 0x%08x, 0x%08x, 0x%08x}},\n", name.c_str(), crcs[0],
                crcs[1], crcs[2], crcs[3]);
  }
}

// Rows masked into a scratch row and packed (what packed streams do) equal the same rows masked
// in place, tensor by tensor, for token, sequence and embedding modalities: the scratch row's
// regions do not overlap, and embeddings (which never pack) reach the plain tensor.
TEST(CollatorTest, ScratchRowsPackToTheRowsMaskedInPlace) {
  const MaskingSpec spec = SpecFromText(R"pb(
    modalities { name: "i" type: MODALITY_TYPE_IMG max_tokens: 16 }
    modalities { name: "s" type: MODALITY_TYPE_SEQ max_tokens: 9 }
    modalities { name: "e" type: MODALITY_TYPE_SEQ_EMB max_tokens: 6 embedding_dim: 3 }
    mixture {
      input_alpha { key: "i" value: 1 }
      input_alpha { key: "s" value: 1 }
      input_alpha { key: "e" value: 1 }
      target_alpha { key: "i" value: 1 }
      target_alpha { key: "s" value: 1 }
    }
    input_tokens { max: 12 }
    target_tokens { max: 12 }
  )pb");
  Collator collator(spec, CollatorOptions());
  Masker masker(spec);
  constexpr int64_t kRows = 24;
  Batch in_place = collator.Allocate(kRows);
  Batch packed = collator.Allocate(kRows);
  for (ModalityBatch& m : packed.modalities) {  // garbage wherever nothing is written
    for (HostTensor* t : {&m.tensor, &m.input_mask, &m.target_mask, &m.decoder_attention_mask}) {
      std::memset(t->data.data(), 0xAB, t->data.size());
    }
  }
  std::shared_ptr<BufferPool> pool = BufferPool::Create(0);
  PackingState packing;
  BeginPacking(&packed, pool.get(), &packing);
  std::vector<std::byte> storage;
  std::vector<ModalityRow> row;
  MaskScratch scratch;
  SamplePlan plan;
  for (int64_t r = 0; r < kRows; ++r) {
    std::vector<int16_t> tokens(16);
    for (size_t j = 0; j < tokens.size(); ++j) tokens[j] = static_cast<int16_t>(r * 16 + j);
    std::vector<float> embeddings(5 * 3);
    for (size_t j = 0; j < embeddings.size(); ++j) embeddings[j] = 0.5f + r + j;
    const std::map<std::string, Record> records = {
        {"i", MakeRecord(DType::kInt16, {1, 16}, tokens)},
        {"s", Ids({4300, 4301 + static_cast<int32_t>(r), 4302})},
        {"e", MakeRecord(DType::kFloat32, {5, 3}, embeddings)}};
    std::vector<const Record*> pointers;  // in the spec's modality order
    for (const ModalitySpec& mod : spec.modalities) pointers.push_back(&records.at(mod.name));
    for (bool to_scratch : {false, true}) {
      Rng rng = Rng::ForSample(3, 0, static_cast<uint64_t>(r), 0);
      masker.Plan(rng, 1, &plan, &scratch);
      if (to_scratch) {
        collator.ScratchRowOf(&storage, &row);
      } else {
        collator.RowOf(in_place, r, &row);
      }
      const absl::Status applied = masker.Apply(plan, pointers, rng, row, &scratch);
      ASSERT_TRUE(applied.ok()) << applied;
    }
    PackRow(&packed, r, row, &packing);
  }
  FinishPacking(&packed, packing);

  for (size_t m = 0; m < spec.modalities.size(); ++m) {
    const ModalityBatch& want = in_place.modalities[m];
    const ModalityBatch& got = packed.modalities[m];
    const Matrix shape = AsMatrix(want.input_mask);
    const HostTensor* plain[4] = {&got.tensor, &got.input_mask, &got.target_mask,
                                  &got.decoder_attention_mask};
    const HostTensor* expected[4] = {&want.tensor, &want.input_mask, &want.target_mask,
                                     &want.decoder_attention_mask};
    std::vector<uint8_t> target(static_cast<size_t>(shape.rows * shape.cols));
    ASSERT_EQ(got.packed[2].packing, Packing::kBits) << want.name;
    ASSERT_TRUE(
        UnpackBits(std::string_view(reinterpret_cast<const char*>(got.packed[2].data.data()),
                                    got.packed[2].data.size()),
                   shape, target.data())
            .ok());
    for (int k = 0; k < 4; ++k) {
      const PackedTensor& p = got.packed[k];
      const std::string_view bytes(reinterpret_cast<const char*>(p.data.data()), p.data.size());
      std::vector<std::byte> expanded(expected[k]->data.size());
      switch (p.packing) {
        case Packing::kNone:
          ASSERT_EQ(plain[k]->data.size(), expanded.size()) << want.name << " " << k;
          std::memcpy(expanded.data(), plain[k]->data.data(), expanded.size());
          break;
        case Packing::kUint16:
          ASSERT_TRUE(UnpackUint16(bytes, shape, false, expanded.data()).ok());
          break;
        case Packing::kBits:
          ASSERT_TRUE(UnpackBits(bytes, shape, reinterpret_cast<uint8_t*>(expanded.data())).ok());
          break;
        case Packing::kTargetIndicator:
          DeriveTargetIndicator(target.data(), shape, reinterpret_cast<int32_t*>(expanded.data()));
          break;
        case Packing::kTargetCountAtFirst:
          DeriveTargetCountAtFirst(target.data(), shape,
                                   reinterpret_cast<int32_t*>(expanded.data()));
          break;
      }
      EXPECT_EQ(std::memcmp(expanded.data(), expected[k]->data.data(), expanded.size()), 0)
          << want.name << " tensor " << k;
    }
  }
  std::map<std::string, const ModalityBatch*> by_name;
  for (const ModalityBatch& m : packed.modalities) by_name[m.name] = &m;
  EXPECT_EQ(by_name.at("e")->packed[0].packing, Packing::kNone) << "embeddings stay plain";
  EXPECT_EQ(by_name.at("i")->packed[0].packing, Packing::kUint16);
  EXPECT_EQ(by_name.at("i")->packed[3].packing, Packing::kTargetCountAtFirst);
  EXPECT_EQ(by_name.at("s")->packed[3].packing, Packing::kTargetIndicator);
}

}  // namespace
}  // namespace maskfeed
