// An epoch order that needs only a window of shards at a time, for data that is fetched from
// object storage shard by shard: each epoch takes the dataset's shards in a seeded permuted
// order, cuts that sequence into windows of K consecutive shards, and shuffles the samples of
// each window among themselves. A stream then reads window after window, and the shards it
// will need next are known ahead (ShardsFrom), so they can be fetched before they are needed
// and a cache of about K shards (plus what prefetch holds) suffices.
//
// Like the global permutation it replaces, it is a function of (seed, epoch, index) alone —
// the same for any thread count, rank split or resume point — and every sample appears exactly
// once per epoch. Evaluating a position costs O(log(shards)) after an O(shards) table per
// epoch, built once and shared.
//
// Randomness traded for locality: consecutive samples come from the same K shards (MosaicML
// Streaming's "py1s"-style shuffle has the same trade); bench/order_quality measures it.
#ifndef MASKFEED_PIPELINE_ORDER_WINDOWED_SHUFFLE_H_
#define MASKFEED_PIPELINE_ORDER_WINDOWED_SHUFFLE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"

namespace maskfeed {

class WindowedShuffle {
 public:
  // `shard_sizes`: samples per shard, in dataset order (shard s holds the samples after those
  // of shards 0..s-1). INVALID_ARGUMENT when there is no sample, a shard is empty, or window
  // is 0.
  static absl::StatusOr<std::shared_ptr<const WindowedShuffle>> Create(
      std::vector<uint64_t> shard_sizes, uint32_t window);

  uint64_t num_samples() const { return num_samples_; }
  size_t num_shards() const { return sizes_.size(); }
  uint32_t window() const { return window_; }

  // The sample at index `index` (< num_samples) of epoch `epoch`'s order under `seed`.
  uint64_t At(uint64_t seed, uint64_t epoch, uint64_t index) const;
  // The shard holding sample `sample`.
  uint32_t ShardOf(uint64_t sample) const;
  // Up to `count` shards in the order the epoch first needs them, starting with the window
  // that holds `index` (its shards first, then the next windows').
  std::vector<uint32_t> ShardsFrom(uint64_t seed, uint64_t epoch, uint64_t index,
                                   size_t count) const;

 private:
  struct EpochTable {
    uint64_t seed = 0, epoch = 0;
    std::vector<uint32_t> order;        // shards in the epoch's order
    std::vector<uint64_t> order_start;  // samples before order[i] in that order (size + 1)
  };
  WindowedShuffle(std::vector<uint64_t> sizes, uint32_t window);
  std::shared_ptr<const EpochTable> Table(uint64_t seed, uint64_t epoch) const;

  std::vector<uint64_t> sizes_;
  std::vector<uint64_t> starts_;  // first sample of each shard (size + 1)
  uint64_t num_samples_ = 0;
  uint32_t window_ = 1;
  mutable std::mutex mu_;
  mutable std::vector<std::shared_ptr<const EpochTable>> tables_;  // guarded by mu_; recent few
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_ORDER_WINDOWED_SHUFFLE_H_
