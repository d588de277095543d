#include "pipeline/base/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// Longer values (a status echoing a hostile request, say) are cut: one event, one bounded line.
constexpr size_t kMaxValueBytes = 4096;

void AppendValue(std::string* line, const std::string& value) {
  // Control and non-ASCII bytes become \xNN (Printable), which also keeps every line one line.
  std::string text = Printable(value, kMaxValueBytes);
  const bool quote = text.empty() || text.find_first_of(" \"=") != std::string::npos;
  if (!quote) {
    *line += text;
    return;
  }
  *line += '"';
  for (char c : text) {
    if (c == '"') *line += '\\';
    *line += c;
  }
  *line += '"';
}

std::atomic<int>& DebugFlag() {
  // -1: not yet decided; the environment decides unless SetDebugLogging does first.
  static std::atomic<int> flag{-1};
  return flag;
}

}  // namespace

void SetDebugLogging(bool on) { DebugFlag() = on ? 1 : 0; }

bool DebugLogging() {
  int on = DebugFlag().load(std::memory_order_relaxed);
  if (on < 0) {
    const char* env = std::getenv("MASKFEED_LOG_LEVEL");
    on = env != nullptr && std::string_view(env) == "debug" ? 1 : 0;
    DebugFlag() = on;
  }
  return on == 1;
}

std::string FormatLogFields(std::string_view level, std::string_view event,
                            std::initializer_list<LogField> fields) {
  std::string line = "level=";
  line += level;
  line += " event=";
  line += event;
  for (const LogField& f : fields) {
    line += ' ';
    line += f.first;
    line += '=';
    AppendValue(&line, f.second);
  }
  line += '\n';
  return line;
}

void LogEvent(std::string_view level, std::string_view event,
              std::initializer_list<LogField> fields) {
  if (level == "debug" && !DebugLogging()) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm utc;
  gmtime_r(&secs, &utc);
  char ts[96];
  std::snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  const std::string line = "ts=" + std::string(ts) + FormatLogFields(level, event, fields);
  // One write(2) per line keeps lines whole when threads log at once.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // stderr is gone: nowhere left to report it
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace maskfeed
