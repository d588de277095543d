// The tolerance of statistical checks: how far a mean of n seeded draws may stray from its
// expectation before a test calls it wrong.
#ifndef MASKFEED_TESTS_TESTING_TOLERANCE_H_
#define MASKFEED_TESTS_TESTING_TOLERANCE_H_

#include <cmath>

namespace maskfeed::testing {

// `sigmas` standard errors of a mean of n draws with standard deviation sd.
inline double Tolerance(double sd, double n, double sigmas = 5) {
  return sigmas * sd / std::sqrt(n);
}

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_TOLERANCE_H_
