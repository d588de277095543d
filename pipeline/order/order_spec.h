// The order of a stream as one value: how many views of each sample are streamed, how long an
// epoch is, and how samples are shuffled — a permutation of the whole dataset, windows of
// shards (windowed_shuffle.h), per-host shares (node_shares.h). Validated once; layers pass
// the OrderSpec, not its fields; BuildOrder turns it, the stream's seed and the datasets' shard
// sizes into the MixtureOrder a stream reads, checking that the data it needs at once fits the
// bytes the stream may hold.
//
//   OrderSpec spec = OrderSpecFromConfig(dataset_config);           // a served dataset's
//   absl::StatusOr<OrderSpec> s = WithOverrides(spec, request.overrides(), max_repeats);
//   absl::StatusOr<MixtureOrder> order = BuildOrder(*s, seed, datasets, cache_limit_bytes);
//
// Adding an order setting: a field below (default, Validate, the config and description
// conversions, the fingerprint, its use in BuildOrder), its field in the protos, and a flag in
// frontend/data_flags.cc. Nothing else passes order fields around.
#ifndef MASKFEED_PIPELINE_ORDER_ORDER_SPEC_H_
#define MASKFEED_PIPELINE_ORDER_ORDER_SPEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "maskfeed/v1/feed.pb.h"
#include "maskfeed/v1/server_config.pb.h"
#include "pipeline/order/mixture_order.h"

namespace maskfeed {

struct OrderSpec {
  static constexpr uint32_t kMaxWindowShards = 65536;
  static constexpr uint32_t kMaxCanonicalNodes = 65536;
  static constexpr uint64_t kMaxNodeBatch = uint64_t{1} << 32;

  // Views of each sample per epoch, masked independently (4M's wds_n_repeats), spread over
  // segments of about repeat_spread positions (repeat_spread.h; 4M's
  // wds_shuffle_buffer_repeat). A mixture whose datasets repeat differently lists each one's
  // in component_repeats (then n_repeats is 1 and unused).
  uint32_t n_repeats = 1;
  uint32_t repeat_spread = kDefaultRepeatSpread;
  std::vector<uint32_t> component_repeats = {};
  // Views per epoch; 0 = every sample n_repeats times. Single-dataset streams without shares.
  uint64_t epoch_size = 0;
  // false: samples in dataset order (evaluation).
  bool shuffle = true;
  // > 0: each epoch streams windows of this many shards, samples shuffled within a window; 0: a
  // permutation of the whole dataset.
  uint32_t window_shards = 0;
  // > 1: the shards are dealt to this many canonical nodes, and positions go to the nodes in
  // turns of node_batch (ranks per host x batch size per rank). Single datasets only.
  uint32_t canonical_nodes = 0;
  uint64_t node_batch = 0;

  bool shares() const { return canonical_nodes > 1; }
  // Whether it reads every sample once, in dataset order (ForEvaluation's form).
  bool IsEvaluation() const {
    return !shuffle && n_repeats == 1 && component_repeats.empty() && epoch_size == 0 && !shares();
  }
  // Positions over which the order reads one window of shards, for shards of
  // `mean_shard_samples`: a window's samples, spread over every node's turns with shares.
  // 0 for a global order.
  uint64_t WindowPositions(uint64_t mean_shard_samples) const {
    return mean_shard_samples * window_shards * (shares() ? canonical_nodes : 1);
  }
  // INVALID_ARGUMENT naming the field ("window_shards: 70000 is over 65536").
  absl::Status Validate() const;
};

// A served dataset's order: DatasetConfig's n_repeats (0 = 1), repeat_spread (0 = 4M's
// default), window_shards, canonical_nodes and node_batch.
OrderSpec OrderSpecFromConfig(const v1::DatasetConfig& config);
// The order of a mixture of datasets with these orders (`names` for messages): one order for
// all, so their settings must agree (INVALID_ARGUMENT naming the first that differs), except
// n_repeats, which stays each dataset's (component_repeats when they differ), and
// repeat_spread, the largest.
absl::StatusOr<OrderSpec> MixtureOrderSpec(const std::vector<std::string>& names,
                                           const std::vector<OrderSpec>& orders);
// A stream's overrides applied (n_repeats, for every dataset of a mixture, and epoch_size; zero
// keeps the spec's value).
// INVALID_ARGUMENT naming the override when n_repeats exceeds `max_repeats`.
absl::StatusOr<OrderSpec> WithOverrides(OrderSpec spec, const v1::StreamOverrides& overrides,
                                        uint32_t max_repeats);
// The order of an evaluation pass over the dataset `spec` orders: every sample once, in
// dataset order — no shuffle, repeats, epoch size or shares.
OrderSpec ForEvaluation(OrderSpec spec);
// The order's settings as Describe reports them.
void DescribeOrder(const OrderSpec& spec, v1::DatasetDescription* description);

// What a resume token must match of a stream's order: the source's fingerprint, the seed, the
// spec, and `int64_tokens` (the one layout setting tokens carry), mixed as every earlier
// version mixed them — a setting added later is mixed in only when it is not its default, so
// tokens of streams that leave it alone keep their value.
uint64_t OrderFingerprint(uint64_t source_fingerprint, uint64_t seed, const OrderSpec& spec,
                          bool int64_tokens);

// One dataset an order is built over: its weight in a mixture, samples and bytes per shard,
// and whether its shards are fetched on demand (then a stream must hold what it reads).
struct OrderDataset {
  std::string root;  // for messages
  double weight = 1;
  std::vector<uint64_t> shard_samples;
  std::vector<uint64_t> shard_bytes;
  bool fetched_on_demand = false;
};

// The order a stream with this spec and seed reads over `datasets`. Errors name the field:
// INVALID_ARGUMENT for settings the datasets do not allow (shares of a mixture, more nodes
// than shards, ...); FAILED_PRECONDITION when a global order (no window_shards) over data
// fetched on demand needs more bytes at hand than `hold_budget_bytes` (0 = unbounded) — the
// whole dataset, or with shares the largest node's share.
absl::StatusOr<MixtureOrder> BuildOrder(const OrderSpec& spec, uint64_t seed,
                                        const std::vector<OrderDataset>& datasets,
                                        uint64_t hold_budget_bytes);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_ORDER_ORDER_SPEC_H_
