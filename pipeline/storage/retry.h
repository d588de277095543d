// Retries with capped exponential backoff and full jitter, for object-storage requests: what
// may pass on a second try (no response, timeouts, resets, 5xx, 429, a body cut short or
// corrupt: UNAVAILABLE and DATA_LOSS) is tried again; what will not (403, 404, bad requests)
// returns at once.
//
//   RetryPolicy policy;
//   absl::StatusOr<std::string> body = WithRetries<std::string>(
//       policy, [&] { return s3.Get(bucket, key); },
//       [&](int attempt, const absl::Status& s, std::chrono::milliseconds wait) { log... });
#ifndef MASKFEED_PIPELINE_STORAGE_RETRY_H_
#define MASKFEED_PIPELINE_STORAGE_RETRY_H_

#include <chrono>
#include <functional>
#include <random>
#include <thread>

#include "absl/status/statusor.h"

namespace maskfeed {

struct RetryPolicy {
  int max_attempts = 6;  // the first try included
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  // Sleeps between attempts; tests replace it.
  std::function<void(std::chrono::milliseconds)> sleep = [](std::chrono::milliseconds d) {
    std::this_thread::sleep_for(d);
  };
};

// Whether a failed request is worth another try.
inline bool IsRetryable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kDataLoss ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

// The wait before retry `attempt` (1 = the first retry): uniform in [0, min(max, initial·2^(a−1))]
// ("full jitter": clients that failed together do not retry together).
std::chrono::milliseconds BackoffBefore(const RetryPolicy& policy, int attempt,
                                        std::mt19937_64* rng);

// Called before each retry with the attempt about to be made, the last failure and the wait.
using RetryObserver =
    std::function<void(int attempt, const absl::Status& failure, std::chrono::milliseconds wait)>;

template <typename T>
absl::StatusOr<T> WithRetries(const RetryPolicy& policy,
                              const std::function<absl::StatusOr<T>()>& attempt,
                              const RetryObserver& on_retry = {}) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  absl::StatusOr<T> result = attempt();
  for (int a = 1; a < policy.max_attempts && !result.ok() && IsRetryable(result.status()); ++a) {
    const std::chrono::milliseconds wait = BackoffBefore(policy, a, &rng);
    if (on_retry) on_retry(a + 1, result.status(), wait);
    policy.sleep(wait);
    result = attempt();
  }
  return result;
}

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_RETRY_H_
