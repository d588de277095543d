// How long jobs of the library (writing, converting, verifying or indexing shards) report
// their progress: a callback the front end supplies (frontend/progress_printer.h prints it).
#ifndef MASKFEED_PIPELINE_BASE_PROGRESS_H_
#define MASKFEED_PIPELINE_BASE_PROGRESS_H_

#include <cstddef>
#include <functional>

namespace maskfeed {

// Called with the units done so far and the total; callers on several threads serialise
// their calls.
using ProgressFn = std::function<void(size_t done, size_t total)>;

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_PROGRESS_H_
