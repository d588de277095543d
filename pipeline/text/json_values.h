// Reading values out of parsed JSON the way 4M's loaders do (Python dicts, NumPy arrays of
// Python numbers), with DATA_LOSS errors that name the JSON path of what is wrong.
#ifndef MASKFEED_PIPELINE_TEXT_JSON_VALUES_H_
#define MASKFEED_PIPELINE_TEXT_JSON_VALUES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/text/python_json.h"

namespace maskfeed::text {

// A Python number: an int (JSON integer) or a float.
struct PyNumber {
  bool is_int = false;
  int64_t i = 0;
  double f = 0;
  double value() const { return is_int ? static_cast<double>(i) : f; }
};

// DATA_LOSS "<path>: <what>".
absl::Status JsonDataLoss(std::string_view path, std::string_view what);

// The value's type as Python names it: "str", "list", "dict", "int", "float", "bool", "None".
std::string_view PyTypeName(JsonValue j);

// The list or dict `j` is; callers check the type first (an empty one otherwise).
simdjson::dom::array ListOf(JsonValue j);
simdjson::dom::object DictOf(JsonValue j);

// The value of `key` in the object `j` as Python's dict keeps it (the last of duplicate
// keys wins); nullopt when `j` is not an object or has no such key.
std::optional<JsonValue> Field(JsonValue j, std::string_view key);
// The elements of the list `j`, for indexing (simdjson's lists are walked, not indexed);
// empty when `j` is not a list.
std::vector<JsonValue> Elements(JsonValue j);
// The keys of the object `j` as Python's dict orders them (first occurrence; a duplicate key
// keeps its first place and its last value), with their values.
std::vector<std::pair<std::string_view, JsonValue>> Items(JsonValue j);

// The number at `j`; DATA_LOSS naming `path` when it is not one.
absl::StatusOr<PyNumber> NumberAt(JsonValue j, std::string_view path);
// Every number of `j` (a number or nested lists of them, all of one shape, as NumPy needs
// to make a numeric array), flattened in order, into `out` (cleared first). DATA_LOSS naming
// `path` otherwise.
absl::Status FlatNumbers(JsonValue j, std::string_view path, std::vector<double>* out);
absl::StatusOr<std::vector<double>> FlatNumbers(JsonValue j, std::string_view path);
// Python's round(x) (half to even) printed as an int; DATA_LOSS naming `path` for NaN or
// infinity (Python raises there).
absl::StatusOr<std::string> RoundedInt(double x, std::string_view path);

}  // namespace maskfeed::text

#endif  // MASKFEED_PIPELINE_TEXT_JSON_VALUES_H_
