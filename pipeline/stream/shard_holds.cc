#include "pipeline/stream/shard_holds.h"

#include <algorithm>

namespace maskfeed {
namespace {

uint64_t KeyOf(uint32_t dataset, uint64_t shard) { return (uint64_t{dataset} << 40) | shard; }
uint32_t DatasetOf(uint64_t key) { return static_cast<uint32_t>(key >> 40); }
size_t ShardOf(uint64_t key) { return static_cast<size_t>(key & ((uint64_t{1} << 40) - 1)); }

}  // namespace

ShardHolds::ShardHolds(std::shared_ptr<const MixtureSource> source, MixtureOrder order,
                       const ShardHoldOptions& options)
    : source_(std::move(source)), order_(std::move(order)), options_(options) {
  uint64_t window_positions = 0;
  for (size_t d = 0; d < source_->num_datasets(); ++d) {
    const Dataset& dataset = source_->entry(d).source->dataset();
    active_ |= dataset.fetched_on_demand();
    const uint64_t mean_shard = (dataset.num_samples() + dataset.num_shards() - 1) /
                                std::max<size_t>(dataset.num_shards(), 1);
    window_positions = std::max(window_positions, options_.order.WindowPositions(mean_shard));
  }
  const uint64_t per_batch = uint64_t{options_.world_size} * options_.batch_size;
  ahead_batches_ = 1 + (window_positions + per_batch - 1) / per_batch;
}

ShardHolds::~ShardHolds() {
  for (const std::vector<uint64_t>& keys : batches_) Release(keys);
}

std::vector<uint64_t> ShardHolds::ShardsOf(uint64_t index) const {
  std::vector<uint64_t> keys;
  for (uint32_t row = 0; row < options_.batch_size; ++row) {
    const MixtureView v = order_.At(options_.layout.Position(
        index, options_.rank, options_.world_size, options_.batch_size, row));
    const Dataset& dataset = source_->entry(v.dataset).source->dataset();
    keys.push_back(KeyOf(v.dataset, dataset.Locate(v.view.sample).shard));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

uint64_t ShardHolds::NewBytes(const std::vector<uint64_t>& keys) const {
  uint64_t bytes = 0;
  for (uint64_t k : keys) {
    if (counts_.count(k) == 0) {
      bytes += source_->entry(DatasetOf(k)).source->dataset().shard_bytes(ShardOf(k));
    }
  }
  return bytes;
}

void ShardHolds::Hold(const std::vector<uint64_t>& keys) {
  for (uint64_t k : keys) {
    if (counts_[k]++ > 0) continue;
    const Dataset& dataset = source_->entry(DatasetOf(k)).source->dataset();
    dataset.HoldShard(ShardOf(k));
    held_bytes_ += dataset.shard_bytes(ShardOf(k));
  }
}

void ShardHolds::Release(const std::vector<uint64_t>& keys) {
  for (uint64_t k : keys) {
    auto it = counts_.find(k);
    if (--it->second > 0) continue;
    counts_.erase(it);
    const Dataset& dataset = source_->entry(DatasetOf(k)).source->dataset();
    dataset.UnholdShard(ShardOf(k));
    held_bytes_ -= dataset.shard_bytes(ShardOf(k));
  }
}

void ShardHolds::Advance(uint64_t index) {
  if (!active_) return;
  if (!started_ || index >= next_) {  // the first batch, or a jump past what is held
    for (const std::vector<uint64_t>& keys : batches_) Release(keys);
    batches_.clear();
    first_ = next_ = index;
    started_ = true;
  }
  while (first_ < index) {
    Release(batches_.front());
    batches_.pop_front();
    ++first_;
  }
  if (next_ == index) {  // the batch being built: held whatever the budget
    batches_.push_back(ShardsOf(next_++));
    Hold(batches_.back());
  }
  while (next_ < index + ahead_batches_ &&
         (options_.end_batch == 0 || next_ < options_.end_batch)) {
    std::vector<uint64_t> keys = ShardsOf(next_);
    if (options_.budget_bytes != 0 && held_bytes_ + NewBytes(keys) > options_.budget_bytes) break;
    Hold(keys);
    batches_.push_back(std::move(keys));
    ++next_;
  }
}

}  // namespace maskfeed
