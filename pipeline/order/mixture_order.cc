#include "pipeline/order/mixture_order.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "pipeline/base/splitmix64.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

uint64_t BlockKey(uint64_t seed, uint64_t block) {
  return Mix64(seed ^ (block * 0xD1B54A32D192ED03ull) ^ 0xA0761D6478BD642Full);
}

}  // namespace

absl::StatusOr<MixtureOrder> MixtureOrder::Create(
    const std::vector<double>& weights, const std::vector<uint64_t>& sizes,
    const OrderOptions& options,
    const std::vector<std::shared_ptr<const WindowedShuffle>>& windowed,
    const std::vector<uint32_t>& repeats) {
  if (weights.empty() || weights.size() != sizes.size()) {
    return absl::InvalidArgumentError("datasets: a mixture needs at least one dataset");
  }
  if (!repeats.empty() && repeats.size() != weights.size()) {
    return absl::InvalidArgumentError(
        StrCat("repeats: ", repeats.size(), " values for ", weights.size(), " datasets"));
  }
  if (weights.size() > 1 && options.epoch_size != 0) {
    return absl::InvalidArgumentError(
        "epoch_size: applies to single-dataset streams (in a mixture each dataset has its own "
        "epochs)");
  }
  if (weights.size() > 1 && options.nodes != nullptr) {
    return absl::InvalidArgumentError(
        "canonical_nodes: applies to single-dataset streams (a mixture's datasets are read in "
        "slots, not in the turns that keep a host on its share)");
  }
  double total = 0;
  for (size_t d = 0; d < weights.size(); ++d) {
    if (!(weights[d] > 0) || !std::isfinite(weights[d])) {
      return absl::InvalidArgumentError(StrCat("datasets[", d, "].weight: must be > 0"));
    }
    if (sizes[d] == 0) return absl::InvalidArgumentError(StrCat("datasets[", d, "]: is empty"));
    total += weights[d];
  }
  // Each weight finite is not enough: two of 1e308 sum to infinity, every share becomes 0, and
  // the apportionment below would hand out slots it does not have.
  if (!std::isfinite(total)) {
    return absl::InvalidArgumentError("datasets: the weights sum to more than a double holds");
  }
  MixtureOrder order;
  order.options_ = options;
  order.sizes_ = sizes;
  // Largest-remainder apportionment of the block's slots.
  std::vector<double> exact(weights.size());
  uint64_t assigned = 0;
  for (size_t d = 0; d < weights.size(); ++d) {
    exact[d] = weights[d] / total * kMixtureBlock;
    order.slots_.push_back(static_cast<uint64_t>(exact[d]));
    assigned += order.slots_.back();
  }
  std::vector<size_t> by_remainder(weights.size());
  std::iota(by_remainder.begin(), by_remainder.end(), 0);
  std::stable_sort(by_remainder.begin(), by_remainder.end(), [&](size_t a, size_t b) {
    return exact[a] - std::floor(exact[a]) > exact[b] - std::floor(exact[b]);
  });
  // The floors leave fewer than weights.size() slots: one more each to the largest remainders.
  for (size_t i = 0; assigned < kMixtureBlock && i < by_remainder.size(); ++i, ++assigned) {
    ++order.slots_[by_remainder[i]];
  }
  uint64_t start = 0;
  for (size_t d = 0; d < weights.size(); ++d) {
    if (order.slots_[d] == 0) {
      return absl::InvalidArgumentError(StrCat("datasets[", d, "].weight: ", weights[d],
                                               " is below 1/", kMixtureBlock,
                                               " of the total and would never be read"));
    }
    order.slot_starts_.push_back(start);
    start += order.slots_[d];
    OrderOptions o = options;
    o.num_samples = sizes[d];
    if (!windowed.empty()) o.windowed = windowed[d];
    if (o.windowed != nullptr && o.windowed->num_samples() != sizes[d]) {
      return absl::InvalidArgumentError(StrCat("datasets[", d, "]: its shard windows hold ",
                                               o.windowed->num_samples(), " samples, not ",
                                               sizes[d]));
    }
    if (!repeats.empty()) o.n_repeats = repeats[d];
    if (weights.size() > 1) o.seed = options.seed + d * kSplitMixGamma;
    if (absl::Status s = o.Validate(); !s.ok()) {
      return absl::Status(s.code(), StrCat("datasets[", d, "].", ToStd(s.message())));
    }
    order.orders_.emplace_back(o);
  }
  return order;
}

MixtureView MixtureOrder::At(uint64_t position) const {
  MixtureView out;
  if (orders_.size() == 1) {  // a single dataset: exactly SampleOrder
    out.view = orders_[0].At(position);
    return out;
  }
  const uint64_t slot = position;
  const uint64_t block = slot / kMixtureBlock;
  const uint64_t j =
      options_.shuffle
          ? Permutation(kMixtureBlock, BlockKey(options_.seed, block))(slot % kMixtureBlock)
          : slot % kMixtureBlock;
  const size_t d = static_cast<size_t>(
      std::upper_bound(slot_starts_.begin(), slot_starts_.end(), j) - slot_starts_.begin() - 1);
  const uint64_t k = block * slots_[d] + (j - slot_starts_[d]);
  out.dataset = static_cast<uint32_t>(d);
  out.view = orders_[d].At(k);
  return out;
}

}  // namespace maskfeed
