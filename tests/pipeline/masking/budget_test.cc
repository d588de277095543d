// Budget invariants docs/masking.md invariants 1-7, over many seeded draws.
#include "pipeline/masking/budget.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"
#include "pipeline/masking/masker.h"
#include "tests/testing/masking_test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::PresetSpec;
using ::maskfeed::testing::SpecFromText;
using ::maskfeed::testing::Tolerance;

constexpr int kDraws = 20000;

TEST(BudgetTest, UnclampedBudgetsSumToTheTotalAndShareByAlpha) {
  const std::vector<double> alpha = {0.5, 1, 2.5, 0.1, kAlphaFloor};
  const double total_alpha = 4.1 + kAlphaFloor;
  const std::vector<int> caps(5, 1000), mins(5, 0);
  std::vector<int> b(5);
  std::vector<double> scratch, mean(5);
  for (int draw = 0; draw < kDraws; ++draw) {
    Rng rng = Rng::ForSample(3, 0, static_cast<uint64_t>(draw), 0);
    const int total = static_cast<int>(rng.Between(50, 300));
    ASSERT_TRUE(SampleBudget({alpha, total, caps, mins}, rng, b, &scratch));
    ASSERT_EQ(std::accumulate(b.begin(), b.end(), 0), total) << "draw " << draw;
    for (size_t i = 0; i < 5; ++i) {
      ASSERT_GE(b[i], 0);
      mean[i] += static_cast<double>(b[i]) / total / kDraws;
    }
  }
  for (size_t i = 0; i < 5; ++i) {
    const double m = alpha[i] / total_alpha;
    const double sd = std::sqrt(m * (1 - m) / (total_alpha + 1));
    // The floor and top-up move each share by at most a few tokens out of >= 50.
    EXPECT_NEAR(mean[i], m, Tolerance(sd, kDraws) + 0.01) << "modality " << i;
  }
  EXPECT_EQ(mean[4], 0) << "a zero alpha gets no budget";
}

TEST(BudgetTest, ClampingCapsEachModalityAndIsNotRedistributedByDefault) {
  const std::vector<double> alpha = {1000, kAlphaFloor, kAlphaFloor};
  const std::vector<int> caps = {196, 196, 196}, mins(3, 0);
  std::vector<int> b(3);
  std::vector<double> scratch;
  for (int draw = 0; draw < 1000; ++draw) {
    Rng rng(static_cast<uint64_t>(draw));
    ASSERT_TRUE(SampleBudget({alpha, 256, caps, mins}, rng, b, &scratch));
    // 4M-21's rgb2all example: 256 input tokens, rgb clamped to 196, 60 slots unused.
    ASSERT_EQ(b, (std::vector<int>{196, 0, 0}));
  }
}

TEST(BudgetTest, RedistributionHandsClampedTokensToModalitiesWithRoom) {
  const std::vector<double> alpha = {10, 1, kAlphaFloor};
  const std::vector<int> caps = {20, 196, 196}, mins(3, 0);
  std::vector<int> b(3);
  std::vector<double> scratch;
  for (int draw = 0; draw < 1000; ++draw) {
    Rng rng(static_cast<uint64_t>(draw));
    ASSERT_TRUE(SampleBudget({alpha, 128, caps, mins, /*redistribute=*/true}, rng, b, &scratch));
    ASSERT_EQ(b[0], 20);
    ASSERT_EQ(b[1], 108) << "the rest goes to the modality with room";
    ASSERT_EQ(b[2], 0) << "never to a zero-alpha modality";
  }
}

TEST(BudgetTest, SingleModalityAlwaysGetsMinOfTotalAndCap) {
  const std::vector<double> alpha = {1};
  const std::vector<int> caps = {96}, mins = {0};
  std::vector<int> b(1);
  std::vector<double> scratch;
  Rng rng(1);
  for (int total : {0, 1, 50, 96, 97, 500}) {
    ASSERT_TRUE(SampleBudget({alpha, total, caps, mins}, rng, b, &scratch));
    EXPECT_EQ(b[0], std::min(total, 96));
  }
}

TEST(BudgetTest, UnreachableMinimumsReportFailureAfterRetrying) {
  const std::vector<double> alpha = {0.5, 0.5};
  const std::vector<int> caps = {10, 10}, mins = {10, 10};  // 20 tokens needed, 12 given
  std::vector<int> b(2);
  std::vector<double> scratch;
  Rng rng(2);
  EXPECT_FALSE(SampleBudget({alpha, 12, caps, mins}, rng, b, &scratch));
  EXPECT_EQ(b[0] + b[1], 12);
}

// Through the masker: totals in range, image input + target within the grid, sequence
// targets capped by M, and rgb2all giving rgb all the input.
TEST(BudgetTest, PlansRespectRangesAndTheImageTargetCap) {
  const MaskingSpec spec = SpecFromText(R"pb(
    preset: "4m-7-tokens"
    input_tokens { min: 40 max: 250 }
    target_tokens { min: 100 max: 300 }
  )pb");
  Masker masker(spec);
  SamplePlan plan;
  MaskScratch scratch;
  const size_t rgb = *spec.FindModality("tok_rgb@224");
  int rgb2all = 0;
  for (int draw = 0; draw < kDraws; ++draw) {
    Rng rng = Rng::ForSample(1, 0, static_cast<uint64_t>(draw), 0);
    masker.Plan(rng, 4, &plan, &scratch);
    ASSERT_TRUE(plan.input_total >= 40 && plan.input_total <= 250);
    ASSERT_TRUE(plan.target_total >= 100 && plan.target_total <= 300);
    ASSERT_TRUE(plan.crop >= 0 && plan.crop < 4);
    int in_sum = 0, tgt_sum = 0;
    for (size_t m = 0; m < spec.modalities.size(); ++m) {
      const ModalitySpec& mod = spec.modalities[m];
      ASSERT_GE(plan.input_budget[m], 0);
      ASSERT_GE(plan.target_budget[m], 0);
      ASSERT_LE(plan.input_budget[m], mod.max_tokens);
      ASSERT_LE(plan.target_budget[m], mod.max_tokens);
      if (mod.type == ModalityType::kImg) {
        ASSERT_LE(plan.input_budget[m] + plan.target_budget[m], mod.max_tokens);
      }
      in_sum += plan.input_budget[m];
      tgt_sum += plan.target_budget[m];
    }
    ASSERT_LE(in_sum, plan.input_total);
    ASSERT_LE(tgt_sum, plan.target_total);
    if (plan.component == 0) {
      ++rgb2all;
      ASSERT_EQ(plan.input_budget[rgb], std::min(plan.input_total, 196));
      ASSERT_EQ(in_sum, plan.input_budget[rgb]);
    }
  }
  // Components are chosen with equal weight.
  EXPECT_NEAR(rgb2all / double{kDraws}, 0.5, Tolerance(0.5, kDraws));
}

TEST(BudgetTest, ComponentFrequenciesFollowWeights) {
  const MaskingSpec spec = PresetSpec("4m-21");
  Masker masker(spec);
  SamplePlan plan;
  MaskScratch scratch;
  std::vector<int> counts(7);
  for (int draw = 0; draw < kDraws; ++draw) {
    Rng rng = Rng::ForSample(2, 0, static_cast<uint64_t>(draw), 0);
    masker.Plan(rng, 1, &plan, &scratch);
    ++counts[plan.component];
  }
  const double weights[7] = {1, 1, 1, 1, 1, 0.5, 0.5};
  for (int c = 0; c < 7; ++c) {
    const double p = weights[c] / 6;
    EXPECT_NEAR(counts[c] / double{kDraws}, p, Tolerance(std::sqrt(p * (1 - p)), kDraws)) << c;
  }
}

}  // namespace
}  // namespace maskfeed
