// Progress of a long job on stderr ("what: done/total"): redrawn in place on a terminal,
// about ten lines otherwise (a log file gets a readable trace, not thousands of lines).
//
//   ProgressFn progress = ProgressPrinter("synth: shards written");
//   for (size_t i = 0; i < n; ++i) { ...; progress(i + 1, n); }
#ifndef MASKFEED_FRONTEND_PROGRESS_PRINTER_H_
#define MASKFEED_FRONTEND_PROGRESS_PRINTER_H_

#include <string>

#include "pipeline/base/progress.h"

namespace maskfeed {

// Not thread-safe: callers on several threads serialise their calls.
ProgressFn ProgressPrinter(std::string what);

}  // namespace maskfeed

#endif  // MASKFEED_FRONTEND_PROGRESS_PRINTER_H_
