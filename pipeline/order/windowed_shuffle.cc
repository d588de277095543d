#include "pipeline/order/windowed_shuffle.h"

#include <algorithm>

#include "pipeline/base/splitmix64.h"
#include "pipeline/base/strings.h"
#include "pipeline/order/sample_order.h"

namespace maskfeed {
namespace {

constexpr size_t kCachedEpochs = 4;

uint64_t Key(uint64_t seed, uint64_t epoch, uint64_t what) {
  return Mix64(Mix64(Mix64(seed + 0x5DEECE66Dull) ^ (epoch * 0xD1B54A32D192ED03ull + 1)) ^
               (what * 0x9E3779B97F4A7C15ull + 7));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const WindowedShuffle>> WindowedShuffle::Create(
    std::vector<uint64_t> shard_sizes, uint32_t window) {
  if (window == 0) return absl::InvalidArgumentError("window_shards: must be at least 1");
  if (shard_sizes.empty()) return absl::InvalidArgumentError("shards: the dataset has none");
  if (shard_sizes.size() > UINT32_MAX) {
    return absl::InvalidArgumentError("shards: more than 2^32");
  }
  for (size_t s = 0; s < shard_sizes.size(); ++s) {
    if (shard_sizes[s] == 0) {
      return absl::InvalidArgumentError(StrCat("shards[", s, "]: empty"));
    }
  }
  return std::shared_ptr<const WindowedShuffle>(
      new WindowedShuffle(std::move(shard_sizes), window));
}

WindowedShuffle::WindowedShuffle(std::vector<uint64_t> sizes, uint32_t window)
    : sizes_(std::move(sizes)), window_(window) {
  starts_.reserve(sizes_.size() + 1);
  starts_.push_back(0);
  for (uint64_t n : sizes_) starts_.push_back(starts_.back() + n);
  num_samples_ = starts_.back();
}

std::shared_ptr<const WindowedShuffle::EpochTable> WindowedShuffle::Table(uint64_t seed,
                                                                          uint64_t epoch) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& t : tables_) {
      if (t->seed == seed && t->epoch == epoch) return t;
    }
  }
  auto t = std::make_shared<EpochTable>();
  t->seed = seed;
  t->epoch = epoch;
  const Permutation shards(sizes_.size(), Key(seed, epoch, 0));
  t->order.resize(sizes_.size());
  t->order_start.resize(sizes_.size() + 1);
  for (size_t i = 0; i < sizes_.size(); ++i) {
    t->order[i] = static_cast<uint32_t>(shards(i));
    t->order_start[i + 1] = t->order_start[i] + sizes_[t->order[i]];
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (tables_.size() == kCachedEpochs) tables_.erase(tables_.begin());
  tables_.push_back(t);
  return t;
}

uint64_t WindowedShuffle::At(uint64_t seed, uint64_t epoch, uint64_t index) const {
  const std::shared_ptr<const EpochTable> t = Table(seed, epoch);
  // The position in the epoch's shard sequence, then its window.
  const size_t k =
      static_cast<size_t>(std::upper_bound(t->order_start.begin(), t->order_start.end(), index) -
                          t->order_start.begin() - 1);
  const size_t w = k / window_;
  const size_t first = w * window_;
  const size_t last = std::min(sizes_.size(), first + window_);  // exclusive
  const uint64_t base = t->order_start[first];
  const uint64_t n = t->order_start[last] - base;
  // Shuffle the window's samples among themselves...
  const uint64_t local = Permutation(n, Key(seed, epoch, w + 1))(index - base);
  // ...and find which of its shards the shuffled offset falls in.
  const auto begin = t->order_start.begin() + static_cast<std::ptrdiff_t>(first);
  const auto end = t->order_start.begin() + static_cast<std::ptrdiff_t>(last) + 1;
  const size_t j =
      static_cast<size_t>(std::upper_bound(begin, end, base + local) - begin - 1) + first;
  return starts_[t->order[j]] + (base + local - t->order_start[j]);
}

uint32_t WindowedShuffle::ShardOf(uint64_t sample) const {
  return static_cast<uint32_t>(std::upper_bound(starts_.begin(), starts_.end(), sample) -
                               starts_.begin() - 1);
}

std::vector<uint32_t> WindowedShuffle::ShardsFrom(uint64_t seed, uint64_t epoch, uint64_t index,
                                                  size_t count) const {
  const std::shared_ptr<const EpochTable> t = Table(seed, epoch);
  const size_t k =
      static_cast<size_t>(std::upper_bound(t->order_start.begin(), t->order_start.end(),
                                           std::min(index, num_samples_ - 1)) -
                          t->order_start.begin() - 1);
  std::vector<uint32_t> out;
  for (size_t i = k / window_ * window_; i < t->order.size() && out.size() < count; ++i) {
    out.push_back(t->order[i]);
  }
  return out;
}

}  // namespace maskfeed
