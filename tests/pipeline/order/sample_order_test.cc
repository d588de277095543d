#include "pipeline/order/sample_order.h"

#include <algorithm>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

class PermutationSizes : public ::testing::TestWithParam<uint64_t> {};

TEST_P(PermutationSizes, IsABijection) {
  const uint64_t n = GetParam();
  Permutation p(n, 12345);
  std::vector<uint8_t> seen(n);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t j = p(i);
    ASSERT_LT(j, n);
    ASSERT_FALSE(seen[j]) << "duplicate " << j;
    seen[j] = 1;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, PermutationSizes,
                         ::testing::Values(1, 2, 3, 4, 5, 17, 100, 1000, 4096, 10007, 65537));

TEST(PermutationTest, KeysGiveDifferentShufflesThatLookRandom) {
  Permutation a(1000, 1), b(1000, 2);
  int same = 0, fixed = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    same += a(i) == b(i);
    fixed += a(i) == i;
  }
  EXPECT_LT(same, 10);
  EXPECT_LT(fixed, 10);
}

TEST(SampleOrderTest, EveryEpochVisitsEverySampleRepeatsTimesWithItsCopiesApart) {
  OrderOptions options;
  options.num_samples = 50;
  options.seed = 3;
  options.n_repeats = 3;
  options.repeat_spread = 12;  // groups of 4 slots: copies a segment or more apart
  ASSERT_TRUE(options.Validate().ok());
  SampleOrder order(options);
  EXPECT_EQ(order.epoch_size(), 150u);
  std::vector<uint64_t> first_epoch;
  for (uint64_t epoch = 0; epoch < 3; ++epoch) {
    std::set<std::pair<uint64_t, uint32_t>> copies;  // (sample, repeat)
    std::vector<uint64_t> sequence;
    int adjacent = 0;
    for (uint64_t p = epoch * 150; p < (epoch + 1) * 150; ++p) {
      const SampleView v = order.At(p);
      ASSERT_EQ(v.epoch, epoch);
      ASSERT_LT(v.repeat, 3u);
      ASSERT_TRUE(copies.insert({v.sample, v.repeat}).second) << "position " << p;
      if (v.repeat > 0) {
        // A sample's copies come in order: copy r - 1 was read before copy r.
        ASSERT_TRUE(copies.contains({v.sample, v.repeat - 1})) << "position " << p;
      }
      if (p > epoch * 150) adjacent += v.sample == order.At(p - 1).sample;
      sequence.push_back(v.sample);
    }
    EXPECT_EQ(copies.size(), 150u) << "every sample 3 times";
    // Copies are in different segments: only a segment's last and the next one's first
    // position can hold the same sample.
    EXPECT_LT(adjacent, 5);
    if (epoch == 0) first_epoch = sequence;
    if (epoch == 1) {
      EXPECT_NE(sequence, first_epoch) << "each epoch has its own order";
    }
  }
}

TEST(SampleOrderTest, RanksTogetherCoverEachPositionOnceForAnyWorldSize) {
  constexpr uint32_t kBatch = 4;
  OrderOptions options;
  options.num_samples = 96;
  SampleOrder order(options);
  std::vector<uint64_t> reference;
  for (uint32_t world : {1u, 2u, 3u, 4u}) {
    // Interleave the ranks' batches in global order, as the trainers consume them together.
    std::vector<uint64_t> global;
    const uint64_t batches = 96 / (kBatch * world);
    for (uint64_t k = 0; k < batches; ++k) {
      for (uint32_t r = 0; r < world; ++r) {
        for (uint32_t row = 0; row < kBatch; ++row) {
          global.push_back(order.At(StreamPosition(k, r, world, kBatch, row)).sample);
        }
      }
    }
    std::vector<uint64_t> sorted = global;
    std::sort(sorted.begin(), sorted.end());
    for (uint64_t s = 0; s < 96; ++s) ASSERT_EQ(sorted[s], s) << "world " << world;
    if (world == 1) reference = global;
    EXPECT_EQ(global, reference) << "the global sequence does not depend on the world size";
  }
}

TEST(SampleOrderTest, EpochSizeAndNoShuffle) {
  OrderOptions options;
  options.num_samples = 10;
  options.epoch_size = 4;
  options.shuffle = false;
  SampleOrder order(options);
  EXPECT_EQ(order.At(5).epoch, 1u);
  EXPECT_EQ(order.At(5).sample, 1u);
  OrderOptions bad;
  EXPECT_FALSE(bad.Validate().ok());
  bad.num_samples = 3;
  bad.n_repeats = 0;
  EXPECT_FALSE(bad.Validate().ok());
}

}  // namespace
}  // namespace maskfeed
