#include "pipeline/order/repeat_spread.h"

#include <algorithm>

#include "pipeline/base/splitmix64.h"
#include "pipeline/order/sample_order.h"

namespace maskfeed {
namespace {

uint64_t SegmentKey(uint64_t key, uint64_t segment) {
  return Mix64(key ^ Mix64(segment * 0xD6E8FEB86659FD93ull + kSplitMixGamma));
}

}  // namespace

RepeatSpread::RepeatSpread(uint32_t repeats, uint32_t spread)
    : repeats_(std::max<uint32_t>(1, repeats)),
      group_(std::max<uint64_t>(
          1, (uint64_t{std::max<uint32_t>(1, spread)} + repeats_ - 1) / repeats_)) {}

uint64_t RepeatSpread::SlotsWithCopy(const Epoch& e, int64_t groups, uint32_t r) const {
  if (groups <= 0) return 0;
  const uint64_t with_copy = r < e.last_copies ? e.slots : e.slots - 1;
  // groups <= slots / H + repeats: the product stays far below 2^64 (H <= 2^24).
  return std::min(static_cast<uint64_t>(groups) * group_, with_copy);
}

uint64_t RepeatSpread::SegmentStart(const Epoch& e, uint64_t t) const {
  uint64_t start = 0;
  for (uint32_t r = 0; r < repeats_ && r <= t; ++r) {
    start += SlotsWithCopy(e, static_cast<int64_t>(t - r), r);
  }
  return start;
}

RepeatSpread::Copy RepeatSpread::At(uint64_t key, uint64_t epoch_views, uint64_t within) const {
  if (repeats_ == 1) return Copy{.slot = within, .repeat = 0};
  Epoch e;
  e.slots = (epoch_views + repeats_ - 1) / repeats_;
  e.last_copies = static_cast<uint32_t>(epoch_views - (e.slots - 1) * repeats_);
  const uint64_t segments = (e.slots + group_ - 1) / group_ + repeats_ - 1;
  // The segment holding `within`: past the first R segments every segment holds R * H
  // positions, so the guess below is exact there; elsewhere (the epoch's first and last R
  // segments) a binary search over the segment starts.
  const uint64_t full = uint64_t{repeats_} * group_;
  const uint64_t ramp = group_ * (uint64_t{repeats_} * (repeats_ - 1) / 2);
  uint64_t t = std::min((within + ramp) / full, segments - 1);
  uint64_t start = SegmentStart(e, t), next = SegmentStart(e, t + 1);
  if (!(start <= within && within < next)) {
    uint64_t lo = 0, hi = segments - 1;  // the last t with SegmentStart(t) <= within
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo + 1) / 2;
      if (SegmentStart(e, mid) <= within) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    t = lo;
    start = SegmentStart(e, t);
    next = SegmentStart(e, t + 1);
  }
  const uint64_t size = next - start;
  uint64_t j = Permutation(size, SegmentKey(key, t))(within - start);
  // Segment t lists copy r of group t - r's slots, r = 0, 1, ...; j picks one of them.
  for (uint32_t r = 0; r < repeats_ && r <= t; ++r) {
    const int64_t g = static_cast<int64_t>(t - r);
    const uint64_t before = SlotsWithCopy(e, g, r);
    const uint64_t count = SlotsWithCopy(e, g + 1, r) - before;
    if (j < count) return Copy{.slot = before + j, .repeat = r};
    j -= count;
  }
  return Copy{};  // unreachable: the segment's size is the sum of those counts
}

}  // namespace maskfeed
