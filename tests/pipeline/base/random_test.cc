#include "pipeline/base/random.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/tolerance.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Tolerance;

TEST(RngTest, SampleStreamsArePureFunctionsOfTheirTuple) {
  Rng a = Rng::ForSample(1, 2, 3, 4), b = Rng::ForSample(1, 2, 3, 4);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Next(), b.Next());
  // Changing any coordinate gives another stream.
  const uint64_t first = Rng::ForSample(1, 2, 3, 4).Next();
  EXPECT_NE(Rng::ForSample(0, 2, 3, 4).Next(), first);
  EXPECT_NE(Rng::ForSample(1, 0, 3, 4).Next(), first);
  EXPECT_NE(Rng::ForSample(1, 2, 0, 4).Next(), first);
  EXPECT_NE(Rng::ForSample(1, 2, 3, 0).Next(), first);
  EXPECT_NE(Rng::ForSample(1, 2, 4, 3).Next(), first);
}

TEST(RngTest, BelowIsUniform) {
  Rng rng(9);
  constexpr int kBins = 7, kDraws = 140000;
  std::vector<int> counts(kBins);
  for (int i = 0; i < kDraws; ++i) ++counts[rng.Below(kBins)];
  const double p = 1.0 / kBins;
  for (int c : counts) {
    EXPECT_NEAR(c / double{kDraws}, p, Tolerance(std::sqrt(p * (1 - p)), kDraws));
  }
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = rng.Between(-3, 3);
    ASSERT_TRUE(v >= -3 && v <= 3);
  }
}

// Gamma(alpha) has mean alpha and variance alpha, also through the log-space path.
class GammaMoments : public ::testing::TestWithParam<double> {};

TEST_P(GammaMoments, MeanAndVarianceMatch) {
  const double alpha = GetParam();
  Rng rng(static_cast<uint64_t>(alpha * 1000) + 1);
  constexpr int kDraws = 200000;
  double sum = 0, sum_sq = 0, log_sum = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double g = std::exp(rng.LogGamma(alpha));
    sum += g;
    sum_sq += g * g;
    if (alpha == 0.5 || alpha >= 1) log_sum += rng.Gamma(alpha);
  }
  const double mean = sum / kDraws, var = sum_sq / kDraws - mean * mean;
  EXPECT_NEAR(mean, alpha, Tolerance(std::sqrt(alpha), kDraws)) << "alpha " << alpha;
  // The variance of the sample variance is about (kurtosis-driven) 2 alpha^2 + 6 alpha.
  EXPECT_NEAR(var, alpha, Tolerance(std::sqrt(2 * alpha * alpha + 6 * alpha), kDraws, 6));
  if (alpha == 0.5 || alpha >= 1) {
    EXPECT_NEAR(log_sum / kDraws, alpha, Tolerance(std::sqrt(alpha), kDraws)) << "Gamma()";
  }
}

INSTANTIATE_TEST_SUITE_P(Alphas, GammaMoments, ::testing::Values(0.05, 0.3, 0.5, 1.0, 2.5, 1000.0));

TEST(RngTest, DirichletSumsToOneAndHasTheRightMeans) {
  const std::vector<double> alpha = {0.5, 0.5, 2, 1e-9, 0.1};
  const double total = 3.1 + 1e-9;
  Rng rng(4);
  std::vector<double> p(alpha.size()), mean(alpha.size());
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    rng.Dirichlet(alpha, p);
    double sum = 0;
    for (size_t k = 0; k < p.size(); ++k) {
      ASSERT_TRUE(std::isfinite(p[k]) && p[k] >= 0);
      sum += p[k];
      mean[k] += p[k] / kDraws;
    }
    ASSERT_NEAR(sum, 1, 1e-12);
  }
  for (size_t k = 0; k < p.size(); ++k) {
    const double m = alpha[k] / total;
    const double sd = std::sqrt(m * (1 - m) / (total + 1));
    EXPECT_NEAR(mean[k], m, Tolerance(sd, kDraws)) << k;
  }
  EXPECT_LT(mean[3], 1e-6) << "a floored alpha essentially never gets mass";
}

TEST(RngTest, DirichletWithEveryAlphaFlooredNeverDividesByZero) {
  const std::vector<double> alpha(7, 1e-9);
  Rng rng(5);
  std::vector<double> p(alpha.size());
  for (int i = 0; i < 1000; ++i) {
    rng.Dirichlet(alpha, p);
    double sum = 0;
    for (double x : p) {
      ASSERT_TRUE(std::isfinite(x));
      sum += x;
    }
    ASSERT_NEAR(sum, 1, 1e-12);
  }
}

TEST(RngTest, DirichletArgmaxFollowsTheConcentrations) {
  Rng rng(6);
  // A dominant alpha always wins; equal alphas win equally often.
  const std::vector<double> dominant = {1e-9, 1000, 1e-9};
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(rng.DirichletArgmax(dominant), 1);
  const std::vector<double> equal(4, 0.5);
  std::vector<int> wins(4);
  constexpr int kDraws = 40000;
  for (int i = 0; i < kDraws; ++i) ++wins[rng.DirichletArgmax(equal)];
  for (int w : wins) EXPECT_NEAR(w / double{kDraws}, 0.25, Tolerance(std::sqrt(0.1875), kDraws));
  // Unequal alphas: the larger wins more often, through the general path.
  const std::vector<double> unequal = {0.5, 4};
  int big = 0;
  for (int i = 0; i < kDraws; ++i) big += rng.DirichletArgmax(unequal) == 1;
  EXPECT_GT(big, kDraws * 0.9);
}

}  // namespace
}  // namespace maskfeed
