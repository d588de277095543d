// Where the n_repeats copies of each sample go within an epoch: spread over a few thousand
// positions like 4M's shuffle buffer after its repeat stage (wds_shuffle_buffer_repeat), not
// next to each other — deterministically, and evaluated at any position in O(1) (O(R log)
// at worst) without a buffer.
//
// An epoch's sample slots are cut into groups of H consecutive slots (H = spread / R, at least
// 1). The epoch's positions are cut into segments; segment t holds copy r of every slot of
// group t - r, for r = 0 .. R-1, in a seeded permuted order of its own:
//
//   segment:   0        1              2                     3 ...
//   holds:     g0/c0    g1/c0 g0/c1    g2/c0 g1/c1 g0/c2     g3/c0 g2/c1 g1/c2 g0/c3 ...
//
// So a segment (about `spread` positions once the first R have passed) never holds two copies
// of a slot, a slot's copies lie in R consecutive segments, and the slots a stream needs at
// once are the R * H slots of the groups in flight. With an epoch size that is not a multiple
// of R, the last slot has fewer copies, exactly as without spreading. R = 1 is the identity.
#ifndef MASKFEED_PIPELINE_ORDER_REPEAT_SPREAD_H_
#define MASKFEED_PIPELINE_ORDER_REPEAT_SPREAD_H_

#include <cstdint>

namespace maskfeed {

// 4M's default wds_shuffle_buffer_repeat: the positions one segment holds by default.
inline constexpr uint32_t kDefaultRepeatSpread = 1000;
inline constexpr uint32_t kMaxRepeatSpread = uint32_t{1} << 24;

class RepeatSpread {
 public:
  struct Copy {
    uint64_t slot = 0;    // sample slot within the epoch
    uint32_t repeat = 0;  // which copy of it, 0 .. repeats - 1
  };

  // Requires: 1 <= repeats, 1 <= spread (kMaxRepeatSpread at most).
  RepeatSpread(uint32_t repeats, uint32_t spread);

  // The copy at position `within` (< epoch_views) of an epoch of `epoch_views` positions,
  // under `key` (the stream's seed and the epoch, mixed by the caller).
  Copy At(uint64_t key, uint64_t epoch_views, uint64_t within) const;
  uint32_t repeats() const { return repeats_; }
  uint64_t group_slots() const { return group_; }

 private:
  // An epoch's shape: `slots` sample slots, the last of which has `last_copies` copies (the
  // others all `repeats`).
  struct Epoch {
    uint64_t slots = 0;
    uint32_t last_copies = 0;
  };
  // Slots among the first `groups` groups that have copy r.
  uint64_t SlotsWithCopy(const Epoch& e, int64_t groups, uint32_t r) const;
  // Positions before segment t.
  uint64_t SegmentStart(const Epoch& e, uint64_t t) const;

  uint32_t repeats_;
  uint64_t group_;  // H
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_ORDER_REPEAT_SPREAD_H_
