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

TEST(SampleOrderTest, EveryEpochVisitsEverySampleOnceWithRepeatsInARow) {
  OrderOptions options;
  options.num_samples = 50;
  options.seed = 3;
  options.n_repeats = 3;
  ASSERT_TRUE(options.Validate().ok());
  SampleOrder order(options);
  EXPECT_EQ(order.epoch_size(), 150u);
  std::vector<uint64_t> first_epoch;
  for (uint64_t epoch = 0; epoch < 3; ++epoch) {
    std::multiset<uint64_t> samples;
    std::vector<uint64_t> sequence;
    for (uint64_t p = epoch * 150; p < (epoch + 1) * 150; ++p) {
      const SampleView v = order.At(p);
      ASSERT_EQ(v.epoch, epoch);
      ASSERT_EQ(v.repeat, p % 3);
      if (v.repeat > 0) {
        ASSERT_EQ(v.sample, order.At(p - 1).sample) << "repeats are consecutive";
      }
      samples.insert(v.sample);
      if (v.repeat == 0) sequence.push_back(v.sample);
    }
    for (uint64_t s = 0; s < 50; ++s) ASSERT_EQ(samples.count(s), 3u);
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
