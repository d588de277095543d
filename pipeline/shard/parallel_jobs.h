// Runs N independent jobs (one per shard, say) on a TBB arena, or serially without one, and
// returns the error of the lowest-numbered failing job, so the report does not depend on the
// thread count.
#ifndef MASKFEED_PIPELINE_SHARD_PARALLEL_JOBS_H_
#define MASKFEED_PIPELINE_SHARD_PARALLEL_JOBS_H_

#include <cstddef>
#include <functional>

#include "absl/status/status.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/base/progress.h"

namespace maskfeed {

// `progress` is called after each finished job, from any thread but never concurrently.
absl::Status RunJobs(size_t count, tbb::task_arena* arena,
                     const std::function<absl::Status(size_t job)>& job,
                     const ProgressFn& progress = nullptr);

// The same on `threads` plain threads of its own (at least one): for jobs that wait on the
// network rather than compute, which would idle a TBB arena's workers.
absl::Status RunJobsOnThreads(size_t count, int threads,
                              const std::function<absl::Status(size_t job)>& job);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_PARALLEL_JOBS_H_
