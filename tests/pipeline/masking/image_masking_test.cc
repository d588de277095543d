// Image mask invariants docs/masking.md invariants 8-11 and 13.
#include "pipeline/masking/image_masking.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/masking_test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Tolerance;

struct Masks {
  std::vector<uint8_t> input, target;
  std::vector<int32_t> attention;
  explicit Masks(int n) : input(n, 7), target(n, 7), attention(n, 7) {}
};

TEST(ImageMaskingTest, CountsDisjointnessAndAttentionValue) {
  constexpr int n = 196;
  std::vector<uint16_t> scratch;
  for (int draw = 0; draw < 5000; ++draw) {
    Rng rng(static_cast<uint64_t>(draw));
    const int input = static_cast<int>(rng.Below(n + 1));
    const int target = static_cast<int>(rng.Below(static_cast<uint32_t>(n - input + 1)));
    Masks m(n);  // poisoned: every entry must be written
    MaskImage(n, input, target, rng, m.input.data(), m.target.data(), m.attention.data(), &scratch);
    int inputs = 0, targets = 0, first_target = -1, nonzero = 0;
    for (int j = 0; j < n; ++j) {
      ASSERT_TRUE(m.input[j] <= 1 && m.target[j] <= 1);
      inputs += m.input[j] == 0;
      targets += m.target[j] == 0;
      ASSERT_FALSE(m.input[j] == 0 && m.target[j] == 0) << "input and target overlap at " << j;
      if (m.target[j] == 0 && first_target < 0) first_target = j;
      nonzero += m.attention[j] != 0;
    }
    ASSERT_EQ(inputs, input);
    ASSERT_EQ(targets, target);
    ASSERT_LE(nonzero, 1);
    int sum = 0;
    for (int32_t a : m.attention) sum += a;
    ASSERT_EQ(sum, targets);
    if (targets > 0) {
      ASSERT_EQ(m.attention[first_target], targets);
    }
  }
}

TEST(ImageMaskingTest, WithoutATargetBudgetEveryNonInputIsATarget) {
  constexpr int n = 16;
  std::vector<uint16_t> scratch;
  Rng rng(3);
  Masks m(n);
  MaskImage(n, 5, kAllRemaining, rng, m.input.data(), m.target.data(), m.attention.data(),
            &scratch);
  int targets = 0;
  for (int j = 0; j < n; ++j) {
    EXPECT_NE(m.input[j], m.target[j]) << "each position is exactly one of input or target";
    targets += m.target[j] == 0;
  }
  EXPECT_EQ(targets, n - 5);
}

TEST(ImageMaskingTest, NoTargetsPutsZeroAtIndexZero) {
  std::vector<uint16_t> scratch;
  Rng rng(4);
  Masks m(8);
  MaskImage(8, 3, 0, rng, m.input.data(), m.target.data(), m.attention.data(), &scratch);
  for (int32_t a : m.attention) EXPECT_EQ(a, 0);
}

// Each position is an input with probability I / n and a target with probability T / n.
TEST(ImageMaskingTest, MarginalsAreUniform) {
  constexpr int n = 49, input = 12, target = 20, kDraws = 40000;
  std::vector<uint16_t> scratch;
  std::vector<int> in_count(n), tgt_count(n);
  Masks m(n);
  for (int draw = 0; draw < kDraws; ++draw) {
    Rng rng = Rng::ForSample(8, 0, static_cast<uint64_t>(draw), 0);
    MaskImage(n, input, target, rng, m.input.data(), m.target.data(), m.attention.data(), &scratch);
    for (int j = 0; j < n; ++j) {
      in_count[j] += m.input[j] == 0;
      tgt_count[j] += m.target[j] == 0;
    }
  }
  const double pi = double{input} / n, pt = double{target} / n;
  for (int j = 0; j < n; ++j) {
    EXPECT_NEAR(in_count[j] / double{kDraws}, pi, Tolerance(std::sqrt(pi * (1 - pi)), kDraws)) << j;
    EXPECT_NEAR(tgt_count[j] / double{kDraws}, pt, Tolerance(std::sqrt(pt * (1 - pt)), kDraws))
        << j;
  }
}

}  // namespace
}  // namespace maskfeed
