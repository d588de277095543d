#include "pipeline/shard/parallel_jobs.h"

#include <exception>
#include <mutex>
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

}  // namespace maskfeed
