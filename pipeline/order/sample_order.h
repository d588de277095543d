// Which sample each position of a stream reads: a seeded permutation of the dataset per epoch,
// evaluated at any position in O(1) time and memory (no shuffled index array), with each
// sample's `n_repeats` copies spread over a few thousand positions (repeat_spread.h), and the
// split of every global batch across ranks.
//
// Positions count sample views from the start of training. Rank r of W with per-rank batch
// size B reads, for its k-th batch, positions [(k * W + r) * B, (k * W + r + 1) * B): together
// the ranks read every position exactly once, and the global sequence of samples is the same
// whatever W is.
#ifndef MASKFEED_PIPELINE_ORDER_SAMPLE_ORDER_H_
#define MASKFEED_PIPELINE_ORDER_SAMPLE_ORDER_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "pipeline/order/node_shares.h"
#include "pipeline/order/repeat_spread.h"
#include "pipeline/order/windowed_shuffle.h"

namespace maskfeed {

// A keyed bijection on [0, n): a 4-round Feistel network on the smallest even number of bits
// that covers n, walked until it lands inside [0, n) (fewer than 4 steps on average).
class Permutation {
 public:
  Permutation(uint64_t n, uint64_t key);
  uint64_t operator()(uint64_t i) const;

 private:
  uint64_t Round(uint64_t half, int round) const;

  uint64_t n_;
  uint64_t key_;
  int half_bits_;
  uint64_t half_mask_;
};

struct OrderOptions {
  uint64_t num_samples = 0;
  uint64_t seed = 0;
  // Views of each sample per epoch, masked independently (4M's wds_n_repeats), spread so that
  // a segment of about `repeat_spread` positions holds at most one copy of a sample (4M's
  // wds_shuffle_buffer_repeat; repeat_spread.h).
  uint32_t n_repeats = 1;
  uint32_t repeat_spread = kDefaultRepeatSpread;
  // Views per epoch; 0 = num_samples * n_repeats (every sample once per epoch). A smaller
  // value takes a prefix of each epoch's permutation; a larger one wraps around it.
  uint64_t epoch_size = 0;
  // false: samples in dataset order (evaluation).
  bool shuffle = true;
  // When set (and shuffling): each epoch's order streams shard windows (windowed_shuffle.h)
  // instead of permuting the whole dataset. Its num_samples() must be num_samples.
  std::shared_ptr<const WindowedShuffle> windowed;
  // When set: the positions are dealt to canonical nodes in turns (node_shares.h), each node
  // streaming its own share of the shards (windowed or not, as the shares were made). Then
  // `windowed` and `epoch_size` must be unset: epochs are per node.
  std::shared_ptr<const NodeShares> nodes;

  absl::Status Validate() const;  // INVALID_ARGUMENT naming the field
};

// One view of one sample at a stream position.
struct SampleView {
  uint64_t sample = 0;  // index into the dataset
  uint64_t epoch = 0;
  // Sample slot within the epoch (which of the epoch's samples, before the shuffle: the
  // repeat spread's slot); with canonical nodes, the node's slot * nodes + node, so that no
  // two nodes share one.
  uint64_t slot = 0;
  uint32_t repeat = 0;  // 0 .. n_repeats - 1
};

class SampleOrder {
 public:
  // Requires: options.Validate().ok().
  explicit SampleOrder(const OrderOptions& options);

  SampleView At(uint64_t position) const;
  uint64_t epoch_size() const { return epoch_size_; }

 private:
  // Which copy of which slot `within` (< epoch_views) of this epoch reads.
  RepeatSpread::Copy Spread(uint64_t epoch, uint64_t node, uint64_t epoch_views,
                            uint64_t within) const;

  OrderOptions options_;
  uint64_t epoch_size_;
  RepeatSpread spread_;
};

// First position of row `row` of rank `rank`'s batch `batch`.
inline uint64_t StreamPosition(uint64_t batch, uint32_t rank, uint32_t world_size,
                               uint32_t batch_size, uint32_t row) {
  return (batch * world_size + rank) * batch_size + row;
}

// Where a layout of ranks begins in the global sequence. A job starts at position 0 with
// batch 0. A job resumed at another world size or batch size (an elastic restart) starts a new
// layout at the position the old one had reached, its batch numbers going on from the step
// the old one had reached: batch k (k >= first_batch) of rank r of W then reads positions
// base + [((k - first_batch) * W + r) * B, ... + B).
struct LayoutStart {
  uint64_t base = 0;
  uint64_t first_batch = 0;

  uint64_t Position(uint64_t batch, uint32_t rank, uint32_t world_size, uint32_t batch_size,
                    uint32_t row) const {
    return base + StreamPosition(batch - first_batch, rank, world_size, batch_size, row);
  }
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_ORDER_SAMPLE_ORDER_H_
