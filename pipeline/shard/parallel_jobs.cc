#include "pipeline/shard/parallel_jobs.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "oneapi/tbb/parallel_for.h"
#include "pipeline/base/strings.h"

namespace maskfeed {

absl::Status RunJobs(size_t count, tbb::task_arena* arena,
                     const std::function<absl::Status(size_t job)>& job,
                     const ProgressFn& progress) {
  std::vector<absl::Status> statuses(count);
  std::mutex progress_mu;
  size_t done = 0;  // guarded by progress_mu
  auto run = [&](size_t i) {
    try {
      statuses[i] = job(i);
    } catch (const std::exception& e) {
      statuses[i] = absl::InternalError(StrCat("job ", i, ": ", e.what()));
    }
    if (progress) {
      std::lock_guard<std::mutex> lock(progress_mu);
      progress(++done, count);
    }
  };
  if (arena != nullptr) {
    arena->execute([&] { tbb::parallel_for(size_t{0}, count, run, tbb::simple_partitioner()); });
  } else {
    for (size_t i = 0; i < count; ++i) run(i);
  }
  for (const absl::Status& s : statuses) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status RunJobsOnThreads(size_t count, int threads,
                              const std::function<absl::Status(size_t job)>& job) {
  std::vector<absl::Status> statuses(count);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < count; i = next++) {
      try {
        statuses[i] = job(i);
      } catch (const std::exception& e) {
        statuses[i] = absl::InternalError(StrCat("job ", i, ": ", e.what()));
      }
    }
  };
  std::vector<std::thread> pool;
  const size_t n = std::min<size_t>(count, static_cast<size_t>(std::max(threads, 1)));
  for (size_t t = 0; t < n; ++t) pool.emplace_back(work);
  for (std::thread& t : pool) t.join();
  for (const absl::Status& s : statuses) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace maskfeed
