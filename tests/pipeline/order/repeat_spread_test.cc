#include "pipeline/order/repeat_spread.h"

#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pipeline/order/sample_order.h"
#include "tests/testing/fourm_repeat_buffer.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::DistinctPerBatch;
using ::maskfeed::testing::FourMRepeatBuffer;

class SpreadShapes : public ::testing::TestWithParam<std::tuple<uint32_t, uint32_t, uint64_t>> {};

// Every epoch position reads one (slot, copy) pair, and together they are exactly the pairs
// an epoch has: slot s's copies 0 .. R-1 while s * R + copy < epoch views (the last slot
// fewer when the epoch size is not a multiple of R), as without spreading.
TEST_P(SpreadShapes, AnEpochReadsEachOfItsCopiesOnce) {
  const auto [repeats, spread, views] = GetParam();
  const RepeatSpread s(repeats, spread);
  std::set<std::pair<uint64_t, uint32_t>> seen;
  for (uint64_t p = 0; p < views; ++p) {
    const RepeatSpread::Copy c = s.At(/*key=*/77, views, p);
    ASSERT_LT(c.slot * repeats + c.repeat, views) << "position " << p;
    ASSERT_TRUE(seen.insert({c.slot, c.repeat}).second) << "position " << p;
  }
  EXPECT_EQ(seen.size(), views);
}

INSTANTIATE_TEST_SUITE_P(Shapes, SpreadShapes,
                         ::testing::Combine(::testing::Values(1u, 2u, 3u, 4u, 7u),
                                            ::testing::Values(1u, 5u, 16u, 1000u),
                                            ::testing::Values(uint64_t{1}, uint64_t{2}, uint64_t{6},
                                                              uint64_t{29}, uint64_t{1000},
                                                              uint64_t{4321})));

TEST(RepeatSpreadTest, CopiesComeInOrderOneSegmentApart) {
  // R = 4, spread 40: groups of 10 slots; segment t holds copy r of group t - r.
  const RepeatSpread s(4, 40);
  EXPECT_EQ(s.group_slots(), 10u);
  const uint64_t views = 4 * 1000;
  std::vector<std::vector<uint64_t>> positions(1000);  // slot -> positions of its copies
  for (uint64_t p = 0; p < views; ++p) {
    const RepeatSpread::Copy c = s.At(5, views, p);
    ASSERT_EQ(positions[c.slot].size(), c.repeat) << "copy " << c.repeat << " before the last";
    positions[c.slot].push_back(p);
  }
  for (uint64_t slot = 0; slot < 1000; ++slot) {
    for (size_t r = 1; r < 4; ++r) {
      // Consecutive copies lie in consecutive segments: at most two segments apart in
      // positions, and never in the same 40-position segment of the steady state.
      const uint64_t gap = positions[slot][r] - positions[slot][r - 1];
      EXPECT_LT(gap, 2 * 40u) << "slot " << slot;
    }
  }
}

TEST(RepeatSpreadTest, DifferentKeysDifferentOrders) {
  const RepeatSpread s(4, 1000);
  int same = 0;
  for (uint64_t p = 0; p < 4000; ++p) same += s.At(1, 40000, p).slot == s.At(2, 40000, p).slot;
  EXPECT_LT(same, 40);
}

// The point: with 4M's cc12m settings (wds_n_repeats 4, wds_shuffle_buffer_repeat 1000), a
// batch of any size holds at least as many distinct samples as 4M's buffer gives it. Batches
// are the consecutive runs a rank reads (4M batches each worker's stream).
TEST(RepeatSpreadTest, BatchesHoldAtLeastAsManyDistinctSamplesAs4MsBuffer) {
  const uint64_t samples = 40000;
  OrderOptions o;
  o.num_samples = samples;
  o.seed = 9;
  o.n_repeats = 4;
  o.repeat_spread = 1000;
  const SampleOrder order(o);
  std::vector<uint64_t> ours;
  for (uint64_t p = 0; p < samples * 4; ++p) ours.push_back(order.At(p).sample);
  const std::vector<uint64_t> fourm = FourMRepeatBuffer(samples, 4, 1000, 9);
  ASSERT_EQ(fourm.size(), ours.size());
  for (size_t batch : {8u, 32u, 100u, 128u, 256u, 500u, 1024u, 3000u, 8192u, 16384u}) {
    const double a = DistinctPerBatch(ours, batch), b = DistinctPerBatch(fourm, batch);
    EXPECT_GE(a, b) << "batch " << batch;
    if (batch == 128) {
      EXPECT_GT(b, 100) << "4M's buffer: about 112-117 of 128";
      EXPECT_GT(a, 126) << "ours: a batch within a segment holds no sample twice";
    }
  }
}

}  // namespace
}  // namespace maskfeed
