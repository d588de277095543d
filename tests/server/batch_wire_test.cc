#include "server/batch_wire.h"

#include <cstring>
#include <vector>

#include "client/cpp/feed_client.h"
#include "gtest/gtest.h"
#include "pipeline/collate/collator.h"
#include "pipeline/collate/tensor_packing.h"
#include "pipeline/masking/masking_config.h"
#include "tests/testing/server_fixture.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::SameBatch;
using ::maskfeed::testing::TempDir;

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

class BatchWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "d"));
    absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(dir_ / "d");
    ASSERT_TRUE(dataset.ok());
    absl::StatusOr<std::shared_ptr<const StreamSource>> source = StreamSource::Create(
        std::shared_ptr<const Dataset>(std::move(*dataset)), *PresetMaskingConfig("4m-7-tokens"));
    ASSERT_TRUE(source.ok());
    source_ = *source;
  }

  // The first `n` batches of a stream (the same every call).
  std::vector<StreamBatch> Batches(int n, bool int64 = false, bool pack = false) {
    StreamOptions o;
    o.batch_size = 16;
    o.seed = 5;
    o.max_batches = static_cast<uint64_t>(n);
    o.int64_tokens = int64;
    o.pack_for_wire = pack;
    tbb::task_arena arena(2);
    absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(source_, o, &arena);
    EXPECT_TRUE(stream.ok());
    std::vector<StreamBatch> out;
    while (true) {
      absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
      EXPECT_TRUE(next.ok());
      if (!next.ok() || !next->has_value()) break;
      out.push_back(std::move(**next));
    }
    return out;
  }

  TempDir dir_;
  std::shared_ptr<const StreamSource> source_;
};

TEST_F(BatchWireTest, PlainEncodingIsProtobufsOwnSerialization) {
  std::vector<StreamBatch> a = Batches(3), b = Batches(3);
  ASSERT_EQ(a.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string expected = BatchToProto(b[i]).SerializeAsString();
    const std::string wire = Flatten(EncodeBatch(std::move(a[i])));
    EXPECT_EQ(wire, expected) << "batch " << i << " (batch 0 has sequence 0, omitted)";
  }
}

TEST_F(BatchWireTest, PackedBatchesExpandToTheSameBytesInAQuarterOfTheSpace) {
  for (bool int64 : {false, true}) {
    std::vector<StreamBatch> a = Batches(3, int64, /*pack=*/true), b = Batches(3, int64);
    ASSERT_EQ(a.size(), 3u);
    std::shared_ptr<BufferPool> pool = BufferPool::Create(0);
    for (size_t i = 0; i < a.size(); ++i) {
      const size_t plain_bytes = b[i].batch.bytes();
      EXPECT_EQ(a[i].batch.bytes(), plain_bytes)
          << "bytes() counts the tensors as trainers get them";
      for (const ModalityBatch& m : a[i].batch.modalities) {
        const HostTensor* plain[4] = {&m.tensor, &m.input_mask, &m.target_mask,
                                      &m.decoder_attention_mask};
        for (int k = 0; k < 4; ++k) {
          EXPECT_NE(m.packed[k].packing, Packing::kNone) << m.name << " tensor " << k;
          EXPECT_EQ(plain[k]->data.size(), 0u) << m.name << ": a packed tensor keeps no plain copy";
        }
      }
      const std::string wire = Flatten(EncodeBatch(std::move(a[i])));
      EXPECT_LT(wire.size(), plain_bytes * 3 / 10) << "int64 " << int64;
      v1::Batch parsed;
      ASSERT_TRUE(parsed.ParseFromString(wire));
      int packed = 0;
      for (const v1::ModalityBatch& m : parsed.modalities()) {
        for (const v1::Tensor* t :
             {&m.tensor(), &m.input_mask(), &m.target_mask(), &m.decoder_attention_mask()}) {
          packed += t->packing() != v1::PACKING_NONE;
        }
      }
      EXPECT_EQ(packed, 4 * parsed.modalities_size()) << "every 4m-7 tensor packs";
      EXPECT_EQ(parsed.resume_token(), b[i].resume_token);
      absl::StatusOr<Batch> expanded = ExpandBatch(parsed, pool.get());
      ASSERT_TRUE(expanded.ok()) << expanded.status();
      EXPECT_TRUE(SameBatch(*expanded, b[i].batch)) << "batch " << i << " int64 " << int64;
    }
  }
}

// Rows are packed from scratch rows; a tensor that one row cannot pack travels plain, with
// the rows that did pack rebuilt exactly. Each kind of misfit, in a different modality.
TEST_F(BatchWireTest, RowsThatDoNotPackLeaveTheirTensorPlainAndExact) {
  std::vector<StreamBatch> expected = Batches(1), source = Batches(1);
  ASSERT_EQ(source.size(), 1u);
  for (Batch* b : {&expected[0].batch, &source[0].batch}) {
    const int64_t cols = b->modalities[0].input_mask.shape[1];
    b->modalities[0].tensor.as<int32_t>()[3 * cols] = 70000;  // an id beyond uint16
    b->modalities[1].input_mask.as<uint8_t>()[5 * b->modalities[1].input_mask.shape[1] + 2] = 2;
    b->modalities[2]
        .decoder_attention_mask.as<int32_t>()[7 * b->modalities[2].input_mask.shape[1] + 1] = 7;
    b->modalities[3].target_mask.as<uint8_t>()[b->modalities[3].input_mask.shape[1]] = 2;
  }
  Collator collator(source_->spec(), {});
  std::shared_ptr<BufferPool> pool = BufferPool::Create(0);
  std::vector<StreamBatch> shell = Batches(1);  // sequence and resume token
  StreamBatch packed = std::move(shell[0]);
  packed.batch = collator.Allocate(16);
  for (ModalityBatch& m : packed.batch.modalities) {  // garbage wherever nothing is written
    for (HostTensor* t : {&m.tensor, &m.input_mask, &m.target_mask, &m.decoder_attention_mask}) {
      std::memset(t->data.data(), 0xAB, t->data.size());
    }
  }
  packed.batch.samples = expected[0].batch.samples;
  packed.batch.datasets = expected[0].batch.datasets;
  PackingState state;
  BeginPacking(&packed.batch, pool.get(), &state);
  std::vector<ModalityRow> rows;
  for (int64_t r = 0; r < 16; ++r) {
    collator.RowOf(source[0].batch, r, &rows);  // rows outside the batch being packed
    PackRow(&packed.batch, r, rows, &state);
  }
  FinishPacking(&packed.batch, state);

  v1::Batch parsed;
  ASSERT_TRUE(parsed.ParseFromString(Flatten(EncodeBatch(std::move(packed)))));
  auto packing = [&](int m, int k) {
    const v1::ModalityBatch& b = parsed.modalities(m);
    const v1::Tensor* t[4] = {&b.tensor(), &b.input_mask(), &b.target_mask(),
                              &b.decoder_attention_mask()};
    return t[k]->packing();
  };
  EXPECT_EQ(packing(0, 0), v1::PACKING_NONE);
  EXPECT_EQ(packing(0, 1), v1::PACKING_BITS) << "the other tensors of the modality still pack";
  EXPECT_EQ(packing(1, 1), v1::PACKING_NONE);
  EXPECT_EQ(packing(1, 0), v1::PACKING_UINT16);
  EXPECT_EQ(packing(2, 3), v1::PACKING_NONE);
  EXPECT_EQ(packing(2, 2), v1::PACKING_BITS);
  EXPECT_EQ(packing(3, 2), v1::PACKING_NONE);
  EXPECT_EQ(packing(3, 3), v1::PACKING_NONE) << "attention rules are only checked on 0/1 targets";
  for (int m = 4; m < parsed.modalities_size(); ++m) {
    for (int k = 0; k < 4; ++k) EXPECT_NE(packing(m, k), v1::PACKING_NONE) << m << " " << k;
  }
  absl::StatusOr<Batch> expanded = ExpandBatch(parsed, pool.get());
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  EXPECT_TRUE(SameBatch(*expanded, expected[0].batch));
}

TEST_F(BatchWireTest, ExpandRejectsDataThatDoesNotFitItsShape) {
  std::vector<StreamBatch> a = Batches(1, false, /*pack=*/true);
  v1::Batch parsed;
  ASSERT_TRUE(parsed.ParseFromString(Flatten(EncodeBatch(std::move(a[0])))));
  parsed.mutable_modalities(2)->mutable_input_mask()->mutable_data()->pop_back();
  std::shared_ptr<BufferPool> pool = BufferPool::Create(0);
  absl::StatusOr<Batch> expanded = ExpandBatch(parsed, pool.get());
  ASSERT_FALSE(expanded.ok());
  EXPECT_EQ(expanded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(expanded.status().message().find(parsed.modalities(2).name() + ".input_mask"),
            std::string::npos)
      << expanded.status();
}

}  // namespace
}  // namespace maskfeed
