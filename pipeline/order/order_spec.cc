#include "pipeline/order/order_spec.h"

#include <algorithm>
#include <memory>
#include <numeric>
#include <tuple>

#include "pipeline/base/limits.h"
#include "pipeline/base/status_fields.h"
#include "pipeline/base/strings.h"
#include "pipeline/order/node_shares.h"
#include "pipeline/order/windowed_shuffle.h"

namespace maskfeed {
namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0x100000001B3ull;
  return h ^ (h >> 29);
}

uint64_t Sum(const std::vector<uint64_t>& v) { return std::accumulate(v.begin(), v.end(), 0ull); }

// A global order over data fetched on demand needs every shard it permutes at hand at once:
// the dataset, or with shares the largest node's share.
absl::Status CheckGlobalOrderFits(const OrderSpec& spec, const std::vector<OrderDataset>& datasets,
                                  const NodeShares* nodes, uint64_t budget) {
  if (spec.window_shards != 0 || budget == 0) return absl::OkStatus();
  for (const OrderDataset& d : datasets) {
    if (!d.fetched_on_demand) continue;
    uint64_t needed = nodes == nullptr ? Sum(d.shard_bytes) : 0;
    for (uint32_t c = 0; nodes != nullptr && c < nodes->nodes(); ++c) {
      uint64_t share = 0;
      for (uint32_t s : nodes->shards(c)) share += d.shard_bytes[s];
      needed = std::max(needed, share);
    }
    if (needed > budget) {
      return WithFields(
          absl::FailedPreconditionError(StrCat(
              "dataset ", d.root, " (", needed,
              nodes != nullptr ? " bytes in a node's share" : " bytes",
              ") is larger than the cache limit (", budget,
              " bytes): a global shuffle needs every shard at hand; stream it in shard windows "
              "(window_shards) or raise the cache limit (storage.cache_limit_bytes)")),
          {"window_shards", "storage.cache_limit_bytes"});
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status OrderSpec::Validate() const {
  if (absl::Status s = limits::CheckRange("n_repeats", n_repeats, 1, limits::kMaxRepeats);
      !s.ok()) {
    return s;
  }
  for (uint32_t r : component_repeats) {
    if (absl::Status s = limits::CheckRange("component_repeats", r, 1, limits::kMaxRepeats);
        !s.ok()) {
      return s;
    }
  }
  if (repeat_spread == 0 || repeat_spread > kMaxRepeatSpread) {
    return absl::InvalidArgumentError(
        StrCat("repeat_spread: ", repeat_spread, " is outside 1..", kMaxRepeatSpread));
  }
  if (window_shards > kMaxWindowShards) {
    return absl::InvalidArgumentError(
        StrCat("window_shards: ", window_shards, " is over ", kMaxWindowShards));
  }
  if (canonical_nodes > kMaxCanonicalNodes) {
    return absl::InvalidArgumentError(
        StrCat("canonical_nodes: ", canonical_nodes, " is over ", kMaxCanonicalNodes));
  }
  if (shares() && (node_batch == 0 || node_batch > kMaxNodeBatch)) {
    return absl::InvalidArgumentError(
        StrCat("node_batch: ", node_batch,
               " — canonical_nodes needs 1 to 2^32 positions per node turn (ranks per host x "
               "batch size per rank)"));
  }
  return absl::OkStatus();
}

OrderSpec OrderSpecFromConfig(const v1::DatasetConfig& config) {
  return OrderSpec{
      .n_repeats = std::max<uint32_t>(1, config.n_repeats()),
      .repeat_spread = config.repeat_spread() != 0 ? config.repeat_spread() : kDefaultRepeatSpread,
      .component_repeats = {},
      .epoch_size = 0,
      .shuffle = true,
      .window_shards = config.window_shards(),
      .canonical_nodes = config.canonical_nodes(),
      .node_batch = config.node_batch()};
}

absl::StatusOr<OrderSpec> MixtureOrderSpec(const std::vector<std::string>& names,
                                           const std::vector<OrderSpec>& orders) {
  if (orders.empty()) return absl::InvalidArgumentError("datasets: at least one is needed");
  OrderSpec out = orders.front();
  bool same_repeats = true;
  for (size_t i = 1; i < orders.size(); ++i) {
    const OrderSpec& o = orders[i];
    same_repeats &= o.n_repeats == out.n_repeats;
    out.repeat_spread = std::max(out.repeat_spread, o.repeat_spread);
    for (const auto& [field, a, b] :
         {std::tuple{"window_shards", uint64_t{out.window_shards}, uint64_t{o.window_shards}},
          std::tuple{"canonical_nodes", uint64_t{out.canonical_nodes}, uint64_t{o.canonical_nodes}},
          std::tuple{"node_batch", out.node_batch, o.node_batch},
          std::tuple{"epoch_size", out.epoch_size, o.epoch_size},
          std::tuple{"shuffle", uint64_t{out.shuffle}, uint64_t{o.shuffle}}}) {
      if (a != b) {
        return absl::InvalidArgumentError(StrCat("its datasets differ in ", field, " (", a,
                                                 " for '", names.front(), "', ", b, " for '",
                                                 names[i], "'): a mixture streams one order"));
      }
    }
  }
  if (!same_repeats) {
    for (const OrderSpec& o : orders) out.component_repeats.push_back(o.n_repeats);
    out.n_repeats = 1;
  }
  return out;
}

absl::StatusOr<OrderSpec> WithOverrides(OrderSpec spec, const v1::StreamOverrides& overrides,
                                        uint32_t max_repeats) {
  if (overrides.n_repeats() > max_repeats) {
    return absl::InvalidArgumentError(StrCat("overrides.n_repeats: ", overrides.n_repeats(),
                                             " exceeds this server's limit of ", max_repeats,
                                             " (limits.max_repeats)"));
  }
  if (overrides.n_repeats() > 0) {
    spec.n_repeats = overrides.n_repeats();
    spec.component_repeats.clear();
  }
  spec.epoch_size = overrides.epoch_size();
  return spec;
}

OrderSpec ForEvaluation(OrderSpec spec) {
  spec.shuffle = false;
  spec.n_repeats = 1;
  spec.component_repeats.clear();
  spec.epoch_size = 0;
  spec.canonical_nodes = 0;
  spec.node_batch = 0;
  return spec;
}

void DescribeOrder(const OrderSpec& spec, v1::DatasetDescription* description) {
  description->set_window_shards(spec.window_shards);
  description->set_n_repeats(spec.component_repeats.empty() ? spec.n_repeats : 0);
  for (uint32_t r : spec.component_repeats) description->add_component_repeats(r);
  description->set_repeat_spread(spec.repeat_spread);
  if (spec.shares()) {
    description->set_canonical_nodes(spec.canonical_nodes);
    description->set_node_batch(spec.node_batch);
  }
}

uint64_t OrderFingerprint(uint64_t source_fingerprint, uint64_t seed, const OrderSpec& spec,
                          bool int64_tokens) {
  uint64_t h = source_fingerprint;
  for (uint64_t v : {seed, uint64_t{spec.n_repeats}, spec.epoch_size, uint64_t{spec.shuffle},
                     uint64_t{int64_tokens}}) {
    h = Mix(h, v);
  }
  // Added later, each with a tag of its own: mixed in only when set.
  if (spec.window_shards != 0) h = Mix(h, uint64_t{spec.window_shards} | (uint64_t{1} << 40));
  if (spec.shares()) {
    h = Mix(h, uint64_t{spec.canonical_nodes} | (uint64_t{2} << 40));
    h = Mix(h, spec.node_batch);
  }
  // Repeats are spread since 27: tokens of streams with repeats from before are refused.
  if (spec.n_repeats > 1 || !spec.component_repeats.empty()) {
    h = Mix(h, uint64_t{spec.repeat_spread} | (uint64_t{3} << 40));
    for (uint32_t r : spec.component_repeats) h = Mix(h, uint64_t{r} | (uint64_t{4} << 40));
  }
  return h;
}

absl::StatusOr<MixtureOrder> BuildOrder(const OrderSpec& spec, uint64_t seed,
                                        const std::vector<OrderDataset>& datasets,
                                        uint64_t hold_budget_bytes) {
  if (absl::Status s = spec.Validate(); !s.ok()) return s;
  if (datasets.empty()) return absl::InvalidArgumentError("datasets: at least one is needed");
  std::vector<double> weights;
  std::vector<uint64_t> sizes;
  for (const OrderDataset& d : datasets) {
    weights.push_back(d.weight);
    sizes.push_back(Sum(d.shard_samples));
  }
  // Shares are dealt from the first dataset's shards; MixtureOrder refuses them for several.
  std::shared_ptr<const NodeShares> nodes;
  if (spec.shares()) {
    absl::StatusOr<std::shared_ptr<const NodeShares>> n = NodeShares::Create(
        datasets.front().shard_samples, NodeShareOptions{.nodes = spec.canonical_nodes,
                                                         .node_batch = spec.node_batch,
                                                         .window_shards = spec.window_shards,
                                                         .seed = seed});
    if (!n.ok()) return n.status();
    nodes = *std::move(n);
  }
  std::vector<std::shared_ptr<const WindowedShuffle>> windowed;
  for (size_t d = 0; !spec.shares() && spec.window_shards > 0 && d < datasets.size(); ++d) {
    absl::StatusOr<std::shared_ptr<const WindowedShuffle>> w =
        WindowedShuffle::Create(datasets[d].shard_samples, spec.window_shards);
    if (!w.ok()) return w.status();
    windowed.push_back(*std::move(w));
  }
  absl::StatusOr<MixtureOrder> order =
      MixtureOrder::Create(weights, sizes,
                           OrderOptions{.num_samples = 0,
                                        .seed = seed,
                                        .n_repeats = spec.n_repeats,
                                        .repeat_spread = spec.repeat_spread,
                                        .epoch_size = spec.epoch_size,
                                        .shuffle = spec.shuffle,
                                        .windowed = nullptr,
                                        .nodes = nodes},
                           windowed, spec.component_repeats);
  if (!order.ok()) return order.status();
  if (absl::Status s = CheckGlobalOrderFits(spec, datasets, nodes.get(), hold_budget_bytes);
      !s.ok()) {
    return s;
  }
  return order;
}

}  // namespace maskfeed
