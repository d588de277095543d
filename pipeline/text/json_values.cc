#include "pipeline/text/json_values.h"

#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "pipeline/base/strings.h"

namespace maskfeed::text {
namespace {

using simdjson::dom::element_type;

// The shape of the array being flattened: the length at each depth, and the depth of the
// numbers; a ragged or mixed nesting breaks it.
struct Shape {
  std::vector<size_t> lengths;
  int leaf_depth = -1;
};

absl::Status Flatten(JsonValue j, std::string_view path, std::vector<double>* out, Shape* shape,
                     size_t depth) {
  constexpr char kRagged[] = "lists of different lengths or depths (not a numeric array)";
  if (j.type() == element_type::ARRAY) {
    if (shape->leaf_depth >= 0 && static_cast<int>(depth) >= shape->leaf_depth) {
      return JsonDataLoss(path, kRagged);
    }
    const simdjson::dom::array list = ListOf(j);
    if (shape->lengths.size() <= depth) {
      shape->lengths.push_back(list.size());
    } else if (shape->lengths[depth] != list.size()) {
      return JsonDataLoss(path, kRagged);
    }
    for (JsonValue item : list) {
      if (absl::Status s = Flatten(item, path, out, shape, depth + 1); !s.ok()) return s;
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

std::string_view PyTypeName(JsonValue j) {
  switch (j.type()) {
    case element_type::ARRAY:
      return "list";
    case element_type::OBJECT:
      return "dict";
    case element_type::INT64:
    case element_type::UINT64:
      return "int";
    case element_type::DOUBLE:
      return "float";
    case element_type::STRING:
      return "str";
    case element_type::BOOL:
      return "bool";
    case element_type::NULL_VALUE:
      return "None";
  }
  return "?";
}

simdjson::dom::array ListOf(JsonValue j) {
  simdjson::dom::array list;
  if (j.get(list) != simdjson::SUCCESS) return {};
  return list;
}

simdjson::dom::object DictOf(JsonValue j) {
  simdjson::dom::object dict;
  if (j.get(dict) != simdjson::SUCCESS) return {};
  return dict;
}

std::optional<JsonValue> Field(JsonValue j, std::string_view key) {
  if (j.type() != element_type::OBJECT) return std::nullopt;
  std::optional<JsonValue> found;
  for (simdjson::dom::key_value_pair kv : DictOf(j)) {
    if (kv.key == key) found = kv.value;
  }
  return found;
}

std::vector<JsonValue> Elements(JsonValue j) {
  std::vector<JsonValue> out;
  if (j.type() != element_type::ARRAY) return out;
  for (JsonValue item : ListOf(j)) out.push_back(item);
  return out;
}

std::vector<std::pair<std::string_view, JsonValue>> Items(JsonValue j) {
  std::vector<std::pair<std::string_view, JsonValue>> out;
  if (j.type() != element_type::OBJECT) return out;
  absl::flat_hash_map<std::string_view, size_t> index;
  for (simdjson::dom::key_value_pair kv : DictOf(j)) {
    auto [at, inserted] = index.try_emplace(kv.key, out.size());
    if (inserted) {
      out.emplace_back(kv.key, kv.value);
    } else {
      out[at->second].second = kv.value;
    }
  }
  return out;
}

absl::StatusOr<PyNumber> NumberAt(JsonValue j, std::string_view path) {
  PyNumber n;
  switch (j.type()) {
    case element_type::INT64:
      n.is_int = true;
      n.i = j.get_int64().value_unsafe();
      return n;
    case element_type::UINT64:  // beyond int64: a float is close enough
      n.f = static_cast<double>(j.get_uint64().value_unsafe());
      return n;
    case element_type::DOUBLE:
      n.f = j.get_double().value_unsafe();
      return n;
    case element_type::BOOL:  // Python's bool is an int
      n.is_int = true;
      n.i = j.get_bool().value_unsafe() ? 1 : 0;
      return n;
    case element_type::STRING: {
      // NaN / Infinity / -Infinity, as python_json.h marks them.
      const std::string_view s = j.get_string().value_unsafe();
      if (s == kNanMarker) {
        n.f = std::numeric_limits<double>::quiet_NaN();
      } else if (s == kInfinityMarker) {
        n.f = std::numeric_limits<double>::infinity();
      } else if (s == kMinusInfinityMarker) {
        n.f = -std::numeric_limits<double>::infinity();
      } else {
        return JsonDataLoss(path, "not a number (str)");
      }
      return n;
    }
    default:
      return JsonDataLoss(path, StrCat("not a number (", PyTypeName(j), ")"));
  }
}

absl::Status FlatNumbers(JsonValue j, std::string_view path, std::vector<double>* out) {
  out->clear();
  Shape shape;
  return Flatten(j, path, out, &shape, 0);
}

absl::StatusOr<std::vector<double>> FlatNumbers(JsonValue j, std::string_view path) {
  std::vector<double> out;
  if (absl::Status s = FlatNumbers(j, path, &out); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> RoundedInt(double x, std::string_view path) {
  if (!std::isfinite(x)) return JsonDataLoss(path, "not a finite number");
  const double r = std::nearbyint(x);  // the default rounding mode: half to even
  if (std::fabs(r) >= 0x1p63) return JsonDataLoss(path, "too large");
  return std::to_string(static_cast<int64_t>(r));
}

}  // namespace maskfeed::text
