// Structured log lines: one line per event on stderr, logfmt style
// ("ts=... level=info event=stream_open id=s1 rank=0 ..."), so that operators can grep them
// and log shippers can parse them. Thread-safe: a line is written with one call.
#ifndef MASKFEED_PIPELINE_BASE_LOG_H_
#define MASKFEED_PIPELINE_BASE_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace maskfeed {

using LogField = std::pair<std::string_view, std::string>;

// level: "debug", "info", "warn" or "error". Values with spaces, quotes or '=' are quoted.
// "debug" lines are written only after SetDebugLogging(true) (maskfeed-server --log-level
// debug, or MASKFEED_LOG_LEVEL=debug in the environment).
void LogEvent(std::string_view level, std::string_view event,
              std::initializer_list<LogField> fields = {});

void SetDebugLogging(bool on);
bool DebugLogging();

// The line LogEvent writes after its "ts=... " prefix ("level=... event=... k=v ...\n").
std::string FormatLogFields(std::string_view level, std::string_view event,
                            std::initializer_list<LogField> fields);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_LOG_H_
