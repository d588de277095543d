// The random generator of masking: xoshiro256** seeded from (seed, epoch, position, repeat), so
// every random choice of a sample is a pure function of where the sample sits in the stream,
// whatever thread masks it. Also the distributions masking needs: uniform integers and reals,
// and Gamma / Dirichlet variates that stay exact for concentrations far below 1.
#ifndef MASKFEED_PIPELINE_BASE_RANDOM_H_
#define MASKFEED_PIPELINE_BASE_RANDOM_H_

#include <cstdint>
#include <span>

namespace maskfeed {

class Rng {
 public:
  // A generator for one sample view. Distinct tuples give independent streams.
  static Rng ForSample(uint64_t seed, uint64_t epoch, uint64_t position, uint64_t repeat);
  explicit Rng(uint64_t seed);

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // 32 random bits: the two halves of one 64-bit draw serve two calls.
  uint32_t Next32() {
    if (has_half_) {
      has_half_ = false;
      return half_;
    }
    const uint64_t x = Next();
    half_ = static_cast<uint32_t>(x >> 32);
    has_half_ = true;
    return static_cast<uint32_t>(x);
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform integer in [0, n). Requires: n > 0. Lemire's method: unbiased, rarely divides.
  uint32_t Below(uint32_t n) {
    uint64_t m = uint64_t{Next32()} * n;
    if (static_cast<uint32_t>(m) < n) {
      const uint32_t threshold = static_cast<uint32_t>(-n) % n;
      while (static_cast<uint32_t>(m) < threshold) m = uint64_t{Next32()} * n;
    }
    return static_cast<uint32_t>(m >> 32);
  }

  // Uniform integer in [lo, hi]. Requires: lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint32_t>(hi - lo + 1)));
  }

  // Standard normal (polar method; the second variate of each pair is kept for the next call).
  double Normal();

  // log of a Gamma(alpha, 1) variate. Working in logs keeps tiny concentrations exact: a
  // Gamma(1e-9) draw underflows any double, its logarithm does not. Requires: alpha > 0.
  double LogGamma(double alpha);

  // A Gamma(alpha, 1) variate without logarithms where possible. Requires: alpha == 0.5 or
  // alpha >= 1 (smaller concentrations can underflow: use LogGamma).
  double Gamma(double alpha);

  // p ~ Dirichlet(alpha). Normalised in log space when some alpha is below 1 (other than
  // 0.5), so it never divides by zero; directly otherwise.
  // Requires: alpha.size() == p.size(), every alpha > 0.
  void Dirichlet(std::span<const double> alpha, std::span<double> p);

  // Index of the largest component of a Dirichlet(alpha) draw (the normalisation does not
  // change the argmax, so it is skipped; with all alphas equal every index is equally likely,
  // so it is one uniform draw).
  int DirichletArgmax(std::span<const double> alpha);

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4];
  double spare_normal_ = 0;
  bool has_spare_normal_ = false;
  uint32_t half_ = 0;
  bool has_half_ = false;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_RANDOM_H_
