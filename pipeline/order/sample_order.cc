#include "pipeline/order/sample_order.h"

#include "pipeline/base/limits.h"
#include "pipeline/base/splitmix64.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// Epoch permutations must differ per epoch and per seed.
uint64_t EpochKey(uint64_t seed, uint64_t epoch) {
  return Mix64(Mix64(seed + kSplitMixGamma) ^ (epoch * 0xD1B54A32D192ED03ull + 1));
}

// The repeat spread's segment order differs per epoch, seed and node.
uint64_t SpreadKey(uint64_t seed, uint64_t epoch, uint64_t node) {
  return Mix64(EpochKey(seed, epoch) ^ Mix64(node * kSplitMixGamma + 0x5EED5EED5EED5EEDull));
}

}  // namespace

Permutation::Permutation(uint64_t n, uint64_t key) : n_(n), key_(key) {
  int bits = 2;
  while (bits < 64 && (uint64_t{1} << bits) < n) bits += 2;
  half_bits_ = bits / 2;
  half_mask_ = (uint64_t{1} << half_bits_) - 1;
}

uint64_t Permutation::Round(uint64_t half, int round) const {
  return Mix64(half ^ (key_ + static_cast<uint64_t>(round) * kSplitMixGamma)) & half_mask_;
}

uint64_t Permutation::operator()(uint64_t i) const {
  if (n_ <= 1) return 0;
  uint64_t x = i;
  do {
    uint64_t left = x >> half_bits_, right = x & half_mask_;
    for (int r = 0; r < 4; ++r) {
      const uint64_t next = left ^ Round(right, r);
      left = right;
      right = next;
    }
    x = (left << half_bits_) | right;
  } while (x >= n_);  // cycle-walk back into range: still a bijection on [0, n)
  return x;
}

absl::Status OrderOptions::Validate() const {
  if (num_samples == 0) return absl::InvalidArgumentError("num_samples: the dataset is empty");
  if (windowed != nullptr && windowed->num_samples() != num_samples) {
    return absl::InvalidArgumentError(StrCat("windowed: ", windowed->num_samples(),
                                             " samples in its shards, the dataset has ",
                                             num_samples));
  }
  if (nodes != nullptr) {
    if (nodes->num_samples() != num_samples) {
      return absl::InvalidArgumentError(StrCat("canonical_nodes: ", nodes->num_samples(),
                                               " samples in the shares, the dataset has ",
                                               num_samples));
    }
    if (windowed != nullptr) {
      return absl::InvalidArgumentError("canonical_nodes: the shares carry their own windows");
    }
    if (epoch_size != 0) {
      return absl::InvalidArgumentError(
          "epoch_size: not with canonical nodes (each node's epoch is its share)");
    }
  }
  if (repeat_spread == 0 || repeat_spread > kMaxRepeatSpread) {
    return absl::InvalidArgumentError(
        StrCat("repeat_spread: ", repeat_spread, " is outside 1..", kMaxRepeatSpread));
  }
  return limits::CheckRange("n_repeats", n_repeats, 1, limits::kMaxRepeats);
}

SampleOrder::SampleOrder(const OrderOptions& options)
    : options_(options),
      epoch_size_(options.epoch_size != 0 ? options.epoch_size
                                          : options.num_samples * options.n_repeats),
      spread_(options.n_repeats, options.repeat_spread) {}

RepeatSpread::Copy SampleOrder::Spread(uint64_t epoch, uint64_t node, uint64_t epoch_views,
                                       uint64_t within) const {
  if (options_.n_repeats == 1) return RepeatSpread::Copy{.slot = within, .repeat = 0};
  return spread_.At(SpreadKey(options_.seed, epoch, node), epoch_views, within);
}

SampleView SampleOrder::At(uint64_t position) const {
  SampleView view;
  if (options_.nodes != nullptr) {
    const NodeShares::NodePosition at = options_.nodes->Locate(position);
    const uint64_t node_epoch = options_.nodes->share_samples(at.node) * options_.n_repeats;
    view.epoch = at.local / node_epoch;
    const RepeatSpread::Copy copy = Spread(view.epoch, at.node, node_epoch, at.local % node_epoch);
    const uint64_t node_slot = copy.slot;
    view.slot = node_slot * options_.nodes->nodes() + at.node;
    view.repeat = copy.repeat;
    view.sample = options_.nodes->At(at.node, view.epoch, node_slot, options_.shuffle);
    return view;
  }
  view.epoch = position / epoch_size_;
  const RepeatSpread::Copy copy = Spread(view.epoch, 0, epoch_size_, position % epoch_size_);
  view.slot = copy.slot;
  view.repeat = copy.repeat;
  const uint64_t index = view.slot % options_.num_samples;
  if (!options_.shuffle) {
    view.sample = index;
  } else if (options_.windowed != nullptr) {
    view.sample = options_.windowed->At(options_.seed, view.epoch, index);
  } else {
    view.sample = Permutation(options_.num_samples, EpochKey(options_.seed, view.epoch))(index);
  }
  return view;
}

}  // namespace maskfeed
