// Per-host shares of a dataset's shards ("canonical nodes", as MosaicML Streaming names them),
// so that each host of a training job fetches only its share of data in object storage.
//
// A job fixes C canonical nodes and a node batch U. The dataset's shards are dealt to the C
// nodes once for the job (a seeded shard order, each shard to the node with the fewest samples
// so far, so the shares' sample counts differ by at most one shard). Each node streams its own
// share epoch after epoch — in shard windows (windowed_shuffle.h) or as one permutation of the
// share — and the global sequence interleaves the nodes in turns of U positions: positions
// [tU, (t+1)U) belong to node t mod C.
//
// Why U: rank r of W with per-rank batch B reads positions of blocks b = k*W + r (sample_order.h).
// When the hosts run contiguous ranks (torchrun's layout), G ranks per host, and U = G * B, host
// h reads exactly the turns t with t mod (W/G) = h, all of them node h mod C's when the number of
// hosts is a multiple of C. So every host reads (and fetches) only its node's shards.
//
// What holds: the global sequence is a function of (seed, C, U, position) — the same for any
// thread count and any world size; resume tokens are tied to C and U. Each node reads every
// sample of its share once per node epoch (its share's size in positions, times n_repeats);
// shares of unequal size make node epochs of unequal length, so over a long run a sample of a
// smaller share is read slightly more often (by the ratio of the share sizes; none when the
// shard count is a multiple of C and the shards are equal).
#ifndef MASKFEED_PIPELINE_ORDER_NODE_SHARES_H_
#define MASKFEED_PIPELINE_ORDER_NODE_SHARES_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/order/windowed_shuffle.h"

namespace maskfeed {

struct NodeShareOptions {
  uint32_t nodes = 1;          // C
  uint64_t node_batch = 1;     // U: positions per turn
  uint32_t window_shards = 0;  // > 0: each share streams in windows of this many shards
  uint64_t seed = 0;           // the stream's seed: the deal and every node's order follow it
};

class NodeShares {
 public:
  // `shard_sizes`: samples per shard in dataset order. INVALID_ARGUMENT naming the field when
  // nodes or node_batch is 0, there are fewer shards than nodes, or a shard is empty.
  static absl::StatusOr<std::shared_ptr<const NodeShares>> Create(
      const std::vector<uint64_t>& shard_sizes, const NodeShareOptions& options);

  uint32_t nodes() const { return options_.nodes; }
  uint64_t node_batch() const { return options_.node_batch; }
  uint64_t num_samples() const { return num_samples_; }

  // Node `node`'s share: dataset shard indices (ascending) and their sample count.
  const std::vector<uint32_t>& shards(uint32_t node) const { return shares_[node].shards; }
  uint64_t share_samples(uint32_t node) const { return shares_[node].starts.back(); }

  // The node of global position `position`, and that position's place in the node's own
  // sequence.
  struct NodePosition {
    uint32_t node = 0;
    uint64_t local = 0;
  };
  NodePosition Locate(uint64_t position) const {
    const uint64_t turn = position / options_.node_batch;
    return {static_cast<uint32_t>(turn % options_.nodes),
            turn / options_.nodes * options_.node_batch + position % options_.node_batch};
  }

  // The dataset sample at `index` (< share_samples(node)) of node `node`'s epoch `epoch`:
  // shuffled (windowed or whole-share) when `shuffle`, the share in dataset order otherwise.
  uint64_t At(uint32_t node, uint64_t epoch, uint64_t index, bool shuffle) const;

 private:
  struct Share {
    std::vector<uint32_t> shards;  // dataset shard indices, ascending
    std::vector<uint64_t> starts;  // samples before shards[i] within the share (size + 1)
    std::shared_ptr<const WindowedShuffle> windowed;  // over the share's shards, when windowed
  };
  NodeShares() = default;

  NodeShareOptions options_;
  std::vector<uint64_t> dataset_starts_;  // first sample of each dataset shard (size + 1)
  std::vector<Share> shares_;
  uint64_t num_samples_ = 0;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_ORDER_NODE_SHARES_H_
