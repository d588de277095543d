// JSON written in a test (text or nlohmann-json), parsed as maskfeed parses 4M's members, for
// the builders that take a parsed value.
//
//   BuildDetText(ParsedJson(R"({"instances": []})"), size, crop);
#ifndef MASKFEED_TESTS_TESTING_PARSED_JSON_H_
#define MASKFEED_TESTS_TESTING_PARSED_JSON_H_

#include <deque>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pipeline/text/python_json.h"

namespace maskfeed::testing {

// The value lives until the test program ends: each call parses with a parser of its own.
inline text::JsonValue ParsedJson(std::string_view json) {
  static std::deque<text::PythonJsonParser> parsers;
  absl::StatusOr<text::JsonValue> value = parsers.emplace_back().Parse(json);
  if (!value.ok()) {
    ADD_FAILURE() << "test JSON does not parse: " << value.status();
    return *parsers.back().Parse("null");
  }
  return *value;
}

inline text::JsonValue ParsedJson(const char* json) { return ParsedJson(std::string_view(json)); }
inline text::JsonValue ParsedJson(const std::string& json) {
  return ParsedJson(std::string_view(json));
}
inline text::JsonValue ParsedJson(const nlohmann::json& json) { return ParsedJson(json.dump()); }

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_PARSED_JSON_H_
