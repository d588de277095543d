// ShardHolds against a dataset whose shards say they are fetched on demand (local shards
// wrapped to count their holds): what a stream holds is what its next batches read, within
// the budget, and everything is let go at the end.
#include "pipeline/stream/shard_holds.h"

#include <map>
#include <mutex>
#include <set>

#include "gtest/gtest.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/stream/stream.h"
#include "pipeline/tools/synth_dataset.h"
#include "tests/testing/forwarding_shard_reader.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::TempDir;

// Counts holds per shard path; otherwise the local reader it wraps.
struct HoldCounts {
  std::mutex mu;
  std::map<std::string, int> holds;
  int max_total = 0;
  int Total() {
    int t = 0;
    for (const auto& [path, n] : holds) t += n > 0 ? 1 : 0;
    return t;
  }
};

class CountedShard final : public testing::ForwardingShardReader {
 public:
  CountedShard(std::unique_ptr<ShardReader> inner, HoldCounts* counts)
      : ForwardingShardReader(std::move(inner)), counts_(counts) {}
  void Prefetch(size_t i) const override {}
  void PrefetchIndex(size_t i) const override {}
  bool fetched_on_demand() const override { return true; }
  void Hold() const override {
    std::lock_guard<std::mutex> lock(counts_->mu);
    ++counts_->holds[path()];
    counts_->max_total = std::max(counts_->max_total, counts_->Total());
  }
  void Unhold() const override {
    std::lock_guard<std::mutex> lock(counts_->mu);
    ASSERT_GT(counts_->holds[path()]--, 0) << path() << " let go more often than held";
  }

 private:
  HoldCounts* counts_;
};

class ShardHoldsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SynthOptions synth;
    synth.preset = SynthOptions::kTokensPreset;
    synth.samples = 240;
    synth.shards = 12;
    synth.out = dir_ / "d";
    synth.format = ShardFormat::kMfs;
    ASSERT_TRUE(SynthesizeDataset(synth).ok());
  }

  std::shared_ptr<const MixtureSource> Source() {
    DatasetOptions options;
    options.open_shard =
        [&](const std::string& path) -> absl::StatusOr<std::unique_ptr<ShardReader>> {
      absl::StatusOr<std::unique_ptr<ShardReader>> r = OpenShard(path);
      if (!r.ok()) return r.status();
      return std::unique_ptr<ShardReader>(new CountedShard(*std::move(r), &counts_));
    };
    absl::StatusOr<std::unique_ptr<Dataset>> local = Dataset::Open(dir_ / "d");
    EXPECT_TRUE(local.ok());
    std::vector<DatasetFolder> folders;
    for (size_t m = 0; m < (*local)->num_modalities(); ++m) {
      DatasetFolder f{
          .name = (*local)->modality_name(m), .shards = {}, .format = ShardFormat::kMfs};
      for (size_t s = 0; s < (*local)->num_shards(); ++s) {
        f.shards.emplace_back(s, (*local)->shard(m, s).path());
      }
      folders.push_back(std::move(f));
    }
    absl::StatusOr<std::unique_ptr<Dataset>> counted =
        Dataset::OpenListed(dir_ / "d", std::move(folders), options);
    EXPECT_TRUE(counted.ok()) << counted.status();
    dataset_ = std::shared_ptr<const Dataset>(*std::move(counted));
    absl::StatusOr<std::shared_ptr<const StreamSource>> source =
        StreamSource::Create(dataset_, *PresetMaskingConfig("4m-7-tokens"));
    EXPECT_TRUE(source.ok()) << source.status();
    return MixtureSource::Single(*source);
  }

  TempDir dir_;
  HoldCounts counts_;
  std::shared_ptr<const Dataset> dataset_;
};

TEST_F(ShardHoldsTest, HoldsWhatTheNextBatchesReadAndLetsGoAfter) {
  std::shared_ptr<const MixtureSource> source = Source();
  ASSERT_TRUE(dataset_->fetched_on_demand());
  const size_t modalities = dataset_->num_modalities();
  OrderOptions order_options{.num_samples = 0,
                             .seed = 3,
                             .n_repeats = 1,
                             .epoch_size = 0,
                             .shuffle = true,
                             .windowed = nullptr,
                             .nodes = nullptr};
  std::vector<uint64_t> sizes(12, 20);
  absl::StatusOr<std::shared_ptr<const WindowedShuffle>> windowed =
      WindowedShuffle::Create(sizes, 2);
  ASSERT_TRUE(windowed.ok());
  absl::StatusOr<MixtureOrder> order =
      MixtureOrder::Create({1.0}, {240}, order_options, {*windowed});
  ASSERT_TRUE(order.ok()) << order.status();
  {
    ShardHolds holds(source, *order,
                     ShardHoldOptions{.rank = 0,
                                      .world_size = 1,
                                      .batch_size = 8,
                                      .order = {.window_shards = 2},
                                      .budget_bytes = 0});
    ASSERT_TRUE(holds.active());
    for (uint64_t b = 0; b < 30; ++b) {
      holds.Advance(b);
      // Every shard batch b reads is held.
      for (uint32_t row = 0; row < 8; ++row) {
        const MixtureView v = order->At(StreamPosition(b, 0, 1, 8, row));
        const Dataset::Location loc = dataset_->Locate(v.view.sample);
        for (size_t m = 0; m < modalities; ++m) {
          EXPECT_GT(counts_.holds[dataset_->shard(m, loc.shard).path()], 0) << b << " " << row;
        }
      }
      // One window (40 positions = 5 batches) ahead.
      EXPECT_EQ(holds.batches_ahead(), 5u);
    }
    // Two windows of two shards, at most, in every modality.
    EXPECT_LE(counts_.max_total, static_cast<int>(4 * modalities));
  }
  for (const auto& [path, n] : counts_.holds) EXPECT_EQ(n, 0) << path << " still held";

  // A budget of about three shards: ahead only as far as it allows, the current batch always.
  const uint64_t shard_bytes = dataset_->shard_bytes(0);
  ShardHolds tight(source, *order,
                   ShardHoldOptions{.rank = 0,
                                    .world_size = 1,
                                    .batch_size = 8,
                                    .order = {.window_shards = 2},
                                    .budget_bytes = shard_bytes * 3});
  bool ahead_sometimes = false;
  for (uint64_t b = 0; b < 30; ++b) {
    tight.Advance(b);
    std::set<size_t> current;  // the shards batch b reads: held whatever the budget
    for (uint32_t row = 0; row < 8; ++row) {
      current.insert(
          dataset_->Locate(order->At(StreamPosition(b, 0, 1, 8, row)).view.sample).shard);
    }
    uint64_t current_bytes = 0;
    for (size_t s : current) current_bytes += dataset_->shard_bytes(s);
    EXPECT_LE(tight.held_bytes(), std::max(shard_bytes * 3, current_bytes)) << "batch " << b;
    EXPECT_LE(tight.batches_ahead(), 5u);
    ahead_sometimes |= tight.batches_ahead() > 0;
  }
  EXPECT_TRUE(ahead_sometimes) << "the budget leaves room to prefetch within a window";
}

}  // namespace
}  // namespace maskfeed
