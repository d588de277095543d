#include "pipeline/order/node_shares.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <utility>

#include "pipeline/base/splitmix64.h"
#include "pipeline/base/strings.h"
#include "pipeline/order/sample_order.h"

namespace maskfeed {
namespace {

// Keys distinct from the windowed and global orders' (what = 0 deals, node + 1 orders).
uint64_t NodeKey(uint64_t seed, uint64_t what) {
  return Mix64(Mix64(seed ^ 0x6A09E667F3BCC909ull) + what * 0x9E3779B97F4A7C15ull);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const NodeShares>> NodeShares::Create(
    const std::vector<uint64_t>& shard_sizes, const NodeShareOptions& options) {
  if (options.nodes == 0) return absl::InvalidArgumentError("canonical_nodes: must be at least 1");
  if (options.node_batch == 0) {
    return absl::InvalidArgumentError(
        "node_batch: must be at least 1 (ranks per host x batch size per rank)");
  }
  if (shard_sizes.size() < options.nodes) {
    return absl::InvalidArgumentError(StrCat("canonical_nodes: ", options.nodes,
                                             " is more than the dataset's ", shard_sizes.size(),
                                             " shards (each node needs one)"));
  }
  if (shard_sizes.size() > UINT32_MAX) return absl::InvalidArgumentError("shards: more than 2^32");
  std::shared_ptr<NodeShares> out(new NodeShares());
  out->options_ = options;
  out->dataset_starts_.reserve(shard_sizes.size() + 1);
  out->dataset_starts_.push_back(0);
  for (size_t s = 0; s < shard_sizes.size(); ++s) {
    if (shard_sizes[s] == 0) return absl::InvalidArgumentError(StrCat("shards[", s, "]: empty"));
    out->dataset_starts_.push_back(out->dataset_starts_.back() + shard_sizes[s]);
  }
  out->num_samples_ = out->dataset_starts_.back();
  // The deal: shards in a seeded order, each to the node with the fewest samples so far (the
  // lower node on a tie), so equal shards go round-robin and the shares differ by at most one
  // shard's samples.
  out->shares_.resize(options.nodes);
  using Load = std::pair<uint64_t, uint32_t>;  // (samples, node)
  std::priority_queue<Load, std::vector<Load>, std::greater<Load>> loads;
  for (uint32_t c = 0; c < options.nodes; ++c) loads.push({0, c});
  const Permutation deal(shard_sizes.size(), NodeKey(options.seed, 0));
  for (size_t i = 0; i < shard_sizes.size(); ++i) {
    const uint32_t shard = static_cast<uint32_t>(deal(i));
    const Load least = loads.top();
    loads.pop();
    out->shares_[least.second].shards.push_back(shard);
    loads.push({least.first + shard_sizes[shard], least.second});
  }
  for (Share& share : out->shares_) {
    std::sort(share.shards.begin(), share.shards.end());
    std::vector<uint64_t> sizes;
    share.starts.push_back(0);
    for (uint32_t s : share.shards) {
      sizes.push_back(shard_sizes[s]);
      share.starts.push_back(share.starts.back() + shard_sizes[s]);
    }
    if (options.window_shards > 0) {
      absl::StatusOr<std::shared_ptr<const WindowedShuffle>> w =
          WindowedShuffle::Create(std::move(sizes), options.window_shards);
      if (!w.ok()) return w.status();
      share.windowed = *std::move(w);
    }
  }
  return std::shared_ptr<const NodeShares>(std::move(out));
}

uint64_t NodeShares::At(uint32_t node, uint64_t epoch, uint64_t index, bool shuffle) const {
  const Share& share = shares_[node];
  const uint64_t n = share.starts.back();
  uint64_t local = index;  // a sample of the share, counted through its shards in order
  if (shuffle) {
    const uint64_t key = NodeKey(options_.seed, node + 1);
    local = share.windowed != nullptr
                ? share.windowed->At(key, epoch, index)
                : Permutation(n, Mix64(key ^ (epoch * 0xD1B54A32D192ED03ull + 1)))(index);
  }
  const size_t k = static_cast<size_t>(
      std::upper_bound(share.starts.begin(), share.starts.end(), local) - share.starts.begin() - 1);
  return dataset_starts_[share.shards[k]] + (local - share.starts[k]);
}

}  // namespace maskfeed
