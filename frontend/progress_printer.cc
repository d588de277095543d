#include "frontend/progress_printer.h"

#include <unistd.h>

#include <cstdio>

namespace maskfeed {

ProgressFn ProgressPrinter(std::string what) {
  const bool tty = ::isatty(STDERR_FILENO);
  return [what = std::move(what), tty](size_t done, size_t total) {
    if (total == 0) return;
    if (tty) {
      std::fprintf(stderr, "\r%s: %zu/%zu%s", what.c_str(), done, total, done == total ? "\n" : "");
    } else if (done == total || done * 10 / total != (done - 1) * 10 / total) {
      std::fprintf(stderr, "%s: %zu/%zu\n", what.c_str(), done, total);
    }
  };
}

}  // namespace maskfeed
