// The batch producer alone, on a real dataset whose shard readers count (and can fail) reads:
// each row is the masker's output on the records its position names, only modalities with a
// budget are read, the bytes do not depend on the thread count, and a corrupt record ends the
// batch with DATA_LOSS or masks its row out, by the policy.
#include "pipeline/stream/batch_producer.h"

#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/order/order_spec.h"
#include "tests/testing/forwarding_shard_reader.h"
#include "tests/testing/synth_fixture.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

constexpr uint64_t kSeed = 5;
constexpr uint32_t kBatch = 16;

// Reads of each (shard path, record), and records whose reads fail with DATA_LOSS.
struct ReadLog {
  std::mutex mu;
  std::map<std::pair<std::string, size_t>, int> reads;  // guarded by mu
  std::set<std::pair<std::string, size_t>> failing;     // guarded by mu

  int Count(const std::string& path, size_t record) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = reads.find({path, record});
    return it == reads.end() ? 0 : it->second;
  }
};

// A shard reader that logs every read of a record (whole or one row) and fails those asked to.
class LoggingReader final : public testing::ForwardingShardReader {
 public:
  LoggingReader(std::unique_ptr<ShardReader> inner, std::shared_ptr<ReadLog> log)
      : ForwardingShardReader(std::move(inner)), log_(std::move(log)) {}

  absl::Status Read(size_t i, Record* out) const override {
    if (absl::Status s = Log(i); !s.ok()) return s;
    return ForwardingShardReader::Read(i, out);
  }
  absl::Status ReadRow(size_t i, int64_t row, Record* out) const override {
    if (absl::Status s = Log(i); !s.ok()) return s;
    return ForwardingShardReader::ReadRow(i, row, out);
  }

 private:
  absl::Status Log(size_t i) const {
    std::lock_guard<std::mutex> lock(log_->mu);
    ++log_->reads[{path(), i}];
    if (log_->failing.count({path(), i}) == 0) return absl::OkStatus();
    return RecordError(path(), i, key(i), "injected damage");
  }

  const std::shared_ptr<ReadLog> log_;
};

class BatchProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(
        testing::Synth(dir_ / "d", SynthOptions::kTokensPreset, 64, 2, ShardFormat::kMfs));
    DatasetOptions options;
    options.open_shard =
        [log = log_](const std::string& path) -> absl::StatusOr<std::unique_ptr<ShardReader>> {
      absl::StatusOr<std::unique_ptr<ShardReader>> inner = OpenShard(path);
      if (!inner.ok()) return inner.status();
      return std::unique_ptr<ShardReader>(new LoggingReader(*std::move(inner), log));
    };
    absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(dir_ / "d", options);
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    absl::StatusOr<std::shared_ptr<const StreamSource>> source = StreamSource::Create(
        std::shared_ptr<const Dataset>(*std::move(dataset)), *PresetMaskingConfig("4m-7-tokens"));
    ASSERT_TRUE(source.ok()) << source.status();
    source_ = *source;
    mixture_ = MixtureSource::Single(source_);
    absl::StatusOr<MixtureOrder> order = BuildOrder({}, kSeed, mixture_->OrderDatasets(), 0);
    ASSERT_TRUE(order.ok()) << order.status();
    order_.emplace(*order);
  }

  std::unique_ptr<BatchProducer> Producer(tbb::task_arena* arena,
                                          CorruptRecordPolicy policy = CorruptRecordPolicy::kFail) {
    std::vector<std::string> names;
    for (const ModalitySpec& m : source_->spec().modalities) names.push_back(m.name);
    metrics_ = std::make_shared<StreamMetrics>(names);
    ProducerOptions options;
    options.batch_size = kBatch;
    options.seed = kSeed;
    options.on_corrupt = policy;
    return std::make_unique<BatchProducer>(mixture_, *order_, options, arena, metrics_);
  }

  // Row `row` of batch `index` computed without the producer: the order's sample, its plan
  // and records, the masker into a batch of one.
  Batch ExpectedRow(uint64_t index, uint32_t row, SamplePlan* plan) {
    const SampleView view = order_->At(StreamPosition(index, 0, 1, kBatch, row)).view;
    const Dataset& dataset = source_->dataset();
    const Dataset::Location loc = dataset.Locate(view.sample);
    Rng rng = Rng::ForSample(kSeed, view.epoch, view.slot, view.repeat);
    MaskScratch scratch;
    source_->masker().Plan(rng, dataset.NumCropVariants(loc), plan, &scratch);
    const size_t k = source_->spec().modalities.size();
    std::vector<Record> records(k);
    std::vector<const Record*> pointers(k, nullptr);
    for (size_t m = 0; m < k; ++m) {
      if (!plan->Needs(m)) continue;
      const ShardReader& shard = dataset.shard(*dataset.FindModality(Folder(m)), loc.shard);
      const bool per_crop =
          shard.layout().rank == 2 && source_->spec().modalities[m].type == ModalityType::kImg;
      EXPECT_TRUE((per_crop ? shard.ReadRow(loc.record, plan->crop, &records[m])
                            : shard.Read(loc.record, &records[m]))
                      .ok());
      pointers[m] = &records[m];
    }
    const Collator collator(source_->spec(), {});
    Batch one = collator.Allocate(1);
    std::vector<ModalityRow> rows;
    collator.RowOf(one, 0, &rows);
    EXPECT_TRUE(source_->masker().Apply(*plan, pointers, rng, rows, &scratch).ok());
    return one;
  }

  // The dataset folder of masked modality m (4m-7-tokens names its folders by the modality).
  std::string Folder(size_t m) const { return source_->spec().modalities[m].name; }

  TempDir dir_;
  std::shared_ptr<ReadLog> log_ = std::make_shared<ReadLog>();
  std::shared_ptr<const StreamSource> source_;
  std::shared_ptr<const MixtureSource> mixture_;
  std::optional<MixtureOrder> order_;
  std::shared_ptr<StreamMetrics> metrics_;
};

// The bytes of row `row` of every tensor of `batch`.
std::string RowBytes(const Batch& batch, int64_t row) {
  std::string out;
  for (const ModalityBatch& m : batch.modalities) {
    for (const HostTensor* t :
         {&m.tensor, &m.input_mask, &m.target_mask, &m.decoder_attention_mask}) {
      const size_t per_row = t->nbytes() / static_cast<size_t>(batch.size);
      out.append(reinterpret_cast<const char*>(t->data.data()) + row * per_row, per_row);
    }
  }
  return out;
}

TEST_F(BatchProducerTest, EachRowIsTheMaskerOnTheRecordsItsPositionNames) {
  tbb::task_arena arena(2);
  std::unique_ptr<BatchProducer> producer = Producer(&arena);
  for (uint64_t index : {0u, 3u}) {
    absl::StatusOr<Batch> batch = producer->Produce(index);
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_EQ(batch->size, kBatch);
    for (uint32_t row = 0; row < kBatch; ++row) {
      SamplePlan plan;
      const Batch expected = ExpectedRow(index, row, &plan);
      EXPECT_EQ(batch->samples[row],
                order_->At(StreamPosition(index, 0, 1, kBatch, row)).view.sample);
      EXPECT_EQ(batch->datasets[row], 0u);
      EXPECT_TRUE(RowBytes(*batch, row) == RowBytes(expected, 0))
          << "batch " << index << " row " << row;
    }
  }
}

TEST_F(BatchProducerTest, OnlyModalitiesWithABudgetAreRead) {
  tbb::task_arena arena(1);
  absl::StatusOr<Batch> batch = Producer(&arena)->Produce(1);
  ASSERT_TRUE(batch.ok()) << batch.status();
  const Dataset& dataset = source_->dataset();
  int unread = 0;
  for (uint32_t row = 0; row < kBatch; ++row) {
    SamplePlan plan;
    const SampleView view = order_->At(StreamPosition(1, 0, 1, kBatch, row)).view;
    const Dataset::Location loc = dataset.Locate(view.sample);
    std::map<std::pair<std::string, size_t>, int> before;
    {
      std::lock_guard<std::mutex> lock(log_->mu);
      before = log_->reads;
    }
    ExpectedRow(1, row, &plan);  // reads again what the plan needs: counted below
    for (size_t m = 0; m < source_->spec().modalities.size(); ++m) {
      const std::string path = dataset.shard(*dataset.FindModality(Folder(m)), loc.shard).path();
      const int by_producer = before.count({path, loc.record}) ? before[{path, loc.record}] : 0;
      EXPECT_EQ(by_producer, plan.Needs(m) ? 1 : 0)
          << "row " << row << " " << Folder(m) << " read " << by_producer << " times";
      unread += plan.Needs(m) ? 0 : 1;
    }
  }
  EXPECT_GT(unread, 0) << "some plans leave a modality without budget (4m-7-tokens does)";
}

TEST_F(BatchProducerTest, TheBytesDoNotDependOnTheThreadCount) {
  tbb::task_arena one(1), two(2);
  std::unique_ptr<BatchProducer> a = Producer(&one);
  std::unique_ptr<BatchProducer> b = Producer(&two);
  for (uint64_t index = 0; index < 4; ++index) {
    absl::StatusOr<Batch> x = a->Produce(index);
    absl::StatusOr<Batch> y = b->Produce(index);
    ASSERT_TRUE(x.ok() && y.ok());
    for (uint32_t row = 0; row < kBatch; ++row) {
      EXPECT_TRUE(RowBytes(*x, row) == RowBytes(*y, row)) << "batch " << index << " row " << row;
    }
  }
}

TEST_F(BatchProducerTest, ACorruptRecordFailsTheBatchOrMasksItsRowOut) {
  // Row 5 of batch 2: make every record its plan reads fail.
  SamplePlan plan;
  ExpectedRow(2, 5, &plan);
  const Dataset& dataset = source_->dataset();
  const Dataset::Location loc =
      dataset.Locate(order_->At(StreamPosition(2, 0, 1, kBatch, 5)).view.sample);
  std::string damaged;
  for (size_t m = 0; m < source_->spec().modalities.size(); ++m) {
    if (!plan.Needs(m)) continue;
    damaged = dataset.shard(*dataset.FindModality(Folder(m)), loc.shard).path();
    std::lock_guard<std::mutex> lock(log_->mu);
    log_->failing.insert({damaged, loc.record});
  }
  ASSERT_FALSE(damaged.empty());
  tbb::task_arena arena(2);
  absl::StatusOr<Batch> failed = Producer(&arena)->Produce(2);
  ASSERT_EQ(failed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(failed.status()), HasSubstr("injected damage"));
  EXPECT_THAT(Message(failed.status()), HasSubstr(StrCat("record ", loc.record)));

  absl::StatusOr<Batch> skipped = Producer(&arena, CorruptRecordPolicy::kSkip)->Produce(2);
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ(metrics_->skipped_records.load(), 1u);
  for (const ModalityBatch& m : skipped->modalities) {
    const int64_t n = m.input_mask.shape[1];
    const uint8_t* in = m.input_mask.as<uint8_t>() + 5 * n;
    const uint8_t* target = m.target_mask.as<uint8_t>() + 5 * n;
    EXPECT_TRUE(std::all_of(in, in + n, [](uint8_t v) { return v == 1; })) << m.name;
    EXPECT_TRUE(std::all_of(target, target + n, [](uint8_t v) { return v == 1; })) << m.name;
  }
  for (uint32_t row = 0; row < kBatch; ++row) {
    if (row == 5) continue;
    SamplePlan other;
    EXPECT_TRUE(RowBytes(*skipped, row) == RowBytes(ExpectedRow(2, row, &other), 0))
        << "row " << row << " is untouched by its neighbour's damage";
  }
}

}  // namespace
}  // namespace maskfeed
