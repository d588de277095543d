// Which dataset, and which of its samples, each position of a mixture stream reads.
//
// Positions are grouped into blocks of kMixtureBlock sample slots. Dataset d owns a fixed
// number of slots in every block (its weight's share, by largest remainders), scattered by a
// seeded permutation of the block; its k-th slot overall reads the k-th entry of its own
// epoch-by-epoch permutation (with that dataset's own repeats, spread as SampleOrder spreads
// them, like 4M's per-dataset repeat and shuffle stages before its mixture). So every
// dataset's frequency follows its weight exactly within each block, each dataset visits its
// samples n_repeats times per its own epoch, and any position is evaluated in O(1). A single
// dataset reduces to SampleOrder.
#ifndef MASKFEED_PIPELINE_ORDER_MIXTURE_ORDER_H_
#define MASKFEED_PIPELINE_ORDER_MIXTURE_ORDER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/order/sample_order.h"

namespace maskfeed {

inline constexpr uint64_t kMixtureBlock = 1024;

struct MixtureView {
  uint32_t dataset = 0;
  SampleView view;  // within that dataset: sample, its epoch, slot k, repeat
};

class MixtureOrder {
 public:
  // INVALID_ARGUMENT naming the field: no datasets, a weight that is not positive or too small
  // to get one slot per block, an empty dataset, or epoch_size with several datasets.
  // `windowed`: per dataset, the shard-window order to use (OrderOptions::windowed), or empty.
  // `repeats`: per dataset, its n_repeats, or empty for options.n_repeats in every one.
  static absl::StatusOr<MixtureOrder> Create(
      const std::vector<double>& weights, const std::vector<uint64_t>& dataset_sizes,
      const OrderOptions& options,
      const std::vector<std::shared_ptr<const WindowedShuffle>>& windowed = {},
      const std::vector<uint32_t>& repeats = {});

  MixtureView At(uint64_t position) const;
  // Slots per block of each dataset.
  const std::vector<uint64_t>& slots() const { return slots_; }

 private:
  MixtureOrder() = default;

  OrderOptions options_;
  std::vector<uint64_t> sizes_;
  std::vector<uint64_t> slots_;        // per dataset, summing to kMixtureBlock
  std::vector<uint64_t> slot_starts_;  // prefix sums of slots_
  std::vector<SampleOrder> orders_;    // per dataset, one view per slot
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_ORDER_MIXTURE_ORDER_H_
