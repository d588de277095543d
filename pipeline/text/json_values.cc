#include "pipeline/text/json_values.h"

#include <cmath>
#include <limits>

#include "pipeline/base/strings.h"
#include "pipeline/text/python_json.h"

namespace maskfeed::text {
namespace {

// The shape of the array being flattened: the length at each depth, and the depth of the
// numbers; a ragged or mixed nesting breaks it.
struct Shape {
  std::vector<size_t> lengths;
  int leaf_depth = -1;
};

absl::Status Flatten(const nlohmann::json& j, std::string_view path, std::vector<double>* out,
                     Shape* shape, size_t depth) {
  constexpr char kRagged[] = "lists of different lengths or depths (not a numeric array)";
  if (j.is_array()) {
    if (shape->leaf_depth >= 0 && static_cast<int>(depth) >= shape->leaf_depth) {
      return JsonDataLoss(path, kRagged);
    }
    if (shape->lengths.size() <= depth) {
      shape->lengths.push_back(j.size());
    } else if (shape->lengths[depth] != j.size()) {
      return JsonDataLoss(path, kRagged);
    }
    for (size_t k = 0; k < j.size(); ++k) {
      if (absl::Status s = Flatten(j[k], path, out, shape, depth + 1); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (shape->leaf_depth < 0) {
    if (depth < shape->lengths.size()) return JsonDataLoss(path, kRagged);
    shape->leaf_depth = static_cast<int>(depth);
  } else if (shape->leaf_depth != static_cast<int>(depth)) {
    return JsonDataLoss(path, kRagged);
  }
  absl::StatusOr<PyNumber> n = NumberAt(j, path);
  if (!n.ok()) return n.status();
  out->push_back(n->value());
  return absl::OkStatus();
}

}  // namespace

absl::Status JsonDataLoss(std::string_view path, std::string_view what) {
  return absl::DataLossError(StrCat(path, ": ", what));
}

absl::StatusOr<PyNumber> NumberAt(const nlohmann::json& j, std::string_view path) {
  PyNumber n;
  if (j.is_number_integer() && j.is_number_unsigned() &&
      j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    n.f = static_cast<double>(j.get<uint64_t>());  // beyond int64: a float is close enough
  } else if (j.is_number_integer()) {
    n.is_int = true;
    n.i = j.get<int64_t>();
  } else if (j.is_number_float()) {
    n.f = j.get<double>();
  } else if (j.is_string() && !j.get_ref<const std::string&>().empty() &&
             j.get_ref<const std::string&>()[0] == '\x01') {
    // NaN / Infinity / -Infinity, as python_json.h marks them.
    const std::string& s = j.get_ref<const std::string&>();
    if (s == kNanMarker) {
      n.f = std::numeric_limits<double>::quiet_NaN();
    } else if (s == kInfinityMarker) {
      n.f = std::numeric_limits<double>::infinity();
    } else if (s == kMinusInfinityMarker) {
      n.f = -std::numeric_limits<double>::infinity();
    } else {
      return JsonDataLoss(path, "not a number (string)");
    }
  } else if (j.is_boolean()) {  // Python's bool is an int
    n.is_int = true;
    n.i = j.get<bool>() ? 1 : 0;
  } else {
    return JsonDataLoss(path, StrCat("not a number (", j.type_name(), ")"));
  }
  return n;
}

absl::StatusOr<std::vector<double>> FlatNumbers(const nlohmann::json& j, std::string_view path) {
  std::vector<double> out;
  Shape shape;
  if (absl::Status s = Flatten(j, path, &out, &shape, 0); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> RoundedInt(double x, std::string_view path) {
  if (!std::isfinite(x)) return JsonDataLoss(path, "not a finite number");
  const double r = std::nearbyint(x);  // the default rounding mode: half to even
  if (std::fabs(r) >= 0x1p63) return JsonDataLoss(path, "too large");
  return std::to_string(static_cast<int64_t>(r));
}

}  // namespace maskfeed::text
