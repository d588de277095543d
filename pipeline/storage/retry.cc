#include "pipeline/storage/retry.h"

#include <algorithm>

namespace maskfeed {

std::chrono::milliseconds BackoffBefore(const RetryPolicy& policy, int attempt,
                                        std::mt19937_64* rng) {
  // Doubling in 64 bits, capped before it can overflow.
  int64_t cap = std::max<int64_t>(policy.initial_backoff.count(), 0);
  for (int i = 1; i < attempt && cap < policy.max_backoff.count(); ++i) cap *= 2;
  cap = std::min<int64_t>(cap, policy.max_backoff.count());
  if (cap <= 0) return std::chrono::milliseconds(0);
  std::uniform_int_distribution<int64_t> pick(0, cap);
  return std::chrono::milliseconds(pick(*rng));
}

}  // namespace maskfeed
