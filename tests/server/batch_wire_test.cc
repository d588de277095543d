#include "server/batch_wire.h"

#include <vector>

#include "client/cpp/feed_client.h"
#include "gtest/gtest.h"
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
    testing::SynthSmallDataset(dir_ / "d");
    absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(dir_ / "d");
    ASSERT_TRUE(dataset.ok());
    absl::StatusOr<std::shared_ptr<const StreamSource>> source = StreamSource::Create(
        std::shared_ptr<const Dataset>(std::move(*dataset)), *PresetMaskingConfig("4m-7"));
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
    std::vector<StreamBatch> a = Batches(3, int64), b = Batches(3, int64);
    std::shared_ptr<BufferPool> pool = BufferPool::Create(0);
    for (size_t i = 0; i < a.size(); ++i) {
      const size_t plain_bytes = b[i].batch.bytes();
      const std::string wire = Flatten(EncodeBatch(std::move(a[i]), /*packed=*/true));
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

TEST_F(BatchWireTest, BatchesPackedWhileBuiltEncodeToTheSameBytes) {
  for (bool int64 : {false, true}) {
    std::vector<StreamBatch> prepacked = Batches(3, int64, /*pack=*/true);
    std::vector<StreamBatch> plain = Batches(3, int64);
    for (size_t i = 0; i < plain.size(); ++i) {
      for (const ModalityBatch& m : prepacked[i].batch.modalities) {
        for (const PackedTensor& p : m.packed) EXPECT_NE(p.packing, Packing::kNone) << m.name;
      }
      EXPECT_TRUE(SameBatch(prepacked[i].batch, plain[i].batch)) << "packing leaves tensors be";
      EXPECT_EQ(Flatten(EncodeBatch(std::move(prepacked[i]), true)),
                Flatten(EncodeBatch(std::move(plain[i]), true)))
          << "batch " << i << " int64 " << int64;
    }
  }
}

TEST_F(BatchWireTest, ValuesThatCannotPackTravelPlain) {
  std::vector<StreamBatch> a = Batches(1), b = Batches(1);
  // A token id beyond uint16 in one modality: that tensor alone stays plain.
  a[0].batch.modalities[0].tensor.as<int32_t>()[0] = 70000;
  b[0].batch.modalities[0].tensor.as<int32_t>()[0] = 70000;
  v1::Batch parsed;
  ASSERT_TRUE(parsed.ParseFromString(Flatten(EncodeBatch(std::move(a[0]), true))));
  EXPECT_EQ(parsed.modalities(0).tensor().packing(), v1::PACKING_NONE);
  EXPECT_EQ(parsed.modalities(1).tensor().packing(), v1::PACKING_UINT16);
  std::shared_ptr<BufferPool> pool = BufferPool::Create(0);
  absl::StatusOr<Batch> expanded = ExpandBatch(parsed, pool.get());
  ASSERT_TRUE(expanded.ok());
  EXPECT_TRUE(SameBatch(*expanded, b[0].batch));
}

TEST_F(BatchWireTest, ExpandRejectsDataThatDoesNotFitItsShape) {
  std::vector<StreamBatch> a = Batches(1);
  v1::Batch parsed;
  ASSERT_TRUE(parsed.ParseFromString(Flatten(EncodeBatch(std::move(a[0]), true))));
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
