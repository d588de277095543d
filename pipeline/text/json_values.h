// Reading numbers out of decoded JSON the way 4M's loaders do (NumPy arrays of Python
// numbers), with DATA_LOSS errors that name the JSON path of what is wrong.
#ifndef MASKFEED_PIPELINE_TEXT_JSON_VALUES_H_
#define MASKFEED_PIPELINE_TEXT_JSON_VALUES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

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

// The number at `j`; DATA_LOSS naming `path` when it is not one.
absl::StatusOr<PyNumber> NumberAt(const nlohmann::json& j, std::string_view path);
// Every number of `j` (a number or nested lists of them, all of one shape, as NumPy needs
// to make a numeric array), flattened in order. DATA_LOSS naming `path` otherwise.
absl::StatusOr<std::vector<double>> FlatNumbers(const nlohmann::json& j, std::string_view path);
// Python's round(x) (half to even) printed as an int; DATA_LOSS naming `path` for NaN or
// infinity (Python raises there).
absl::StatusOr<std::string> RoundedInt(double x, std::string_view path);

}  // namespace maskfeed::text

#endif  // MASKFEED_PIPELINE_TEXT_JSON_VALUES_H_
