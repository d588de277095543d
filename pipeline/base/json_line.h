// One JSON object on one line, as maskfeed's benchmarks and `--json` outputs print them:
// `{"key": value, "key": value}` — valid JSON (nlohmann's encoder escapes strings and numbers;
// a non-finite number becomes null), with the spacing the scripts in bench/ read by eye and
// by grep.
#ifndef MASKFEED_PIPELINE_BASE_JSON_LINE_H_
#define MASKFEED_PIPELINE_BASE_JSON_LINE_H_

#include <string>

#include "nlohmann/json.hpp"

namespace maskfeed {

inline std::string JsonLine(const nlohmann::ordered_json& object) {
  std::string line = "{";
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it != object.begin()) line += ", ";
    line += nlohmann::ordered_json(it.key()).dump();
    line += ": ";
    line += it.value().dump();
  }
  return line + "}";
}

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_JSON_LINE_H_
