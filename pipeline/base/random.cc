#include "pipeline/base/random.h"

#include <cmath>
#include <limits>

#include "pipeline/base/splitmix64.h"

namespace maskfeed {
namespace {

// See LogGamma: a log-variate below this is treated as "zero share".
constexpr double kNegligibleLog = -1e4;

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t state = seed;
  for (uint64_t& s : s_) s = SplitMix64(&state);
}

Rng Rng::ForSample(uint64_t seed, uint64_t epoch, uint64_t position, uint64_t repeat) {
  // Chain the tuple through SplitMix64 so that nearby tuples land far apart.
  uint64_t state = seed;
  uint64_t h = SplitMix64(&state);
  state = h ^ epoch;
  h = SplitMix64(&state);
  state = h ^ position;
  h = SplitMix64(&state);
  state = h ^ repeat;
  return Rng(SplitMix64(&state));
}

double Rng::Normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  while (true) {
    const double u = 2 * Uniform() - 1, v = 2 * Uniform() - 1;
    const double s = u * u + v * v;
    if (s > 0 && s < 1) {
      const double f = std::sqrt(-2 * std::log(s) / s);
      spare_normal_ = v * f;
      has_spare_normal_ = true;
      return u * f;
    }
  }
}

double Rng::LogGamma(double alpha) {
  // Exact shortcuts for the concentrations presets use most: Gamma(1/2) = Z^2 / 2 and
  // Gamma(1) = Exp(1).
  if (alpha == 0.5) {
    double z = Normal();
    while (z == 0) z = Normal();
    return std::log(0.5 * z * z);
  }
  if (alpha == 1) {
    double u = Uniform();
    while (u == 0) u = Uniform();
    return std::log(-std::log1p(-u));
  }
  // For alpha < 1, Gamma(alpha) is distributed as Gamma(alpha + 1) * U^(1/alpha), i.e.
  // log-gamma + log(U) / alpha.
  double boost = 0;
  if (alpha < 1) {
    double u = Uniform();
    while (u == 0) u = Uniform();
    boost = std::log(u) / alpha;
    // Far below the other terms the Gamma(alpha + 1) factor (whose log lies within about
    // [-40, 4]) cannot matter: exp() of the difference underflows to exactly 0 whenever any
    // competitor exceeds -1000, as every alpha >= 0.001 does in practice. This is what makes
    // floored (1e-9) alphas cheap.
    if (boost < kNegligibleLog) return boost;
    alpha += 1;
  }
  return std::log(Gamma(alpha)) + boost;
}

double Rng::Gamma(double alpha) {
  if (alpha == 0.5) {
    const double z = Normal();
    return 0.5 * z * z;
  }
  // Marsaglia & Tsang; the squeeze test accepts ~98% of draws without a logarithm.
  const double d = alpha - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  while (true) {
    double x, v;
    do {
      x = Normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = Uniform();
    const double x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (u > 0 && std::log(u) < 0.5 * x2 + d * (1 - v + std::log(v))) return d * v;
  }
}

namespace {

bool LinearGammaOk(std::span<const double> alpha) {
  for (double a : alpha) {
    if (a != 0.5 && a < 1) return false;
  }
  return true;
}

bool AllEqual(std::span<const double> alpha) {
  for (double a : alpha) {
    if (a != alpha[0]) return false;
  }
  return true;
}

}  // namespace

void Rng::Dirichlet(std::span<const double> alpha, std::span<double> p) {
  if (LinearGammaOk(alpha)) {
    double sum = 0;
    for (size_t i = 0; i < alpha.size(); ++i) sum += p[i] = Gamma(alpha[i]);
    if (sum > 0) {
      for (double& x : p) x /= sum;
      return;
    }
    // All draws zero (probability ~0): fall through to the log-space path.
  }
  double max = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < alpha.size(); ++i) {
    p[i] = LogGamma(alpha[i]);
    if (p[i] > max) max = p[i];
  }
  double sum = 0;
  for (double& x : p) {
    x = std::exp(x - max);  // the largest term is exactly 1, so sum >= 1
    sum += x;
  }
  for (double& x : p) x /= sum;
}

int Rng::DirichletArgmax(std::span<const double> alpha) {
  if (AllEqual(alpha)) return static_cast<int>(Below(static_cast<uint32_t>(alpha.size())));
  int best = 0;
  double best_value = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < alpha.size(); ++i) {
    const double g = LogGamma(alpha[i]);
    if (g > best_value) {
      best_value = g;
      best = static_cast<int>(i);
    }
  }
  return best;
}

}  // namespace maskfeed
