// det (docs/raw-modalities.md#det).
#include <algorithm>
#include <cmath>

#include "pipeline/base/strings.h"
#include "pipeline/text/json_values.h"
#include "pipeline/text/text_builders.h"

namespace maskfeed::text {
namespace {

constexpr double kMinScore = 0.6;

// np.clip: NaN stays NaN.
double Clip01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }

struct Box {
  double x0, y0, x1, y1;
  std::string_view name;
};

// A box as four JSON numbers of the usual kinds (float or int): the common case, read without
// the general flattening. false for anything else, which FlatNumbers then reads or reports.
bool FourPlainNumbers(JsonValue j, std::vector<double>* out) {
  simdjson::dom::array list;
  if (j.get(list) != simdjson::SUCCESS || list.size() != 4) return false;
  out->clear();
  for (JsonValue item : list) {
    double v;
    if (item.is_double()) {
      v = item.get_double().value_unsafe();
    } else if (item.is_int64()) {
      v = static_cast<double>(item.get_int64().value_unsafe());
    } else {
      return false;
    }
    out->push_back(v);
  }
  return true;
}

// std::stable_sort, without its buffer for the few boxes an image has.
template <typename Less>
void StableSortFew(std::vector<Box>* boxes, Less less) {
  if (boxes->size() > 32) {
    std::stable_sort(boxes->begin(), boxes->end(), less);
    return;
  }
  for (size_t i = 1; i < boxes->size(); ++i) {  // insertion sort: stable
    const Box box = (*boxes)[i];
    size_t j = i;
    for (; j > 0 && less(box, (*boxes)[j - 1]); --j) (*boxes)[j] = (*boxes)[j - 1];
    (*boxes)[j] = box;
  }
}

}  // namespace

absl::Status BuildDetBoxes(JsonValue det, ImageSize orig, const CropWindow& crop,
                           std::vector<DetBox>* out) {
  out->clear();
  const std::optional<JsonValue> instances = Field(det, "instances");
  if (!instances) return JsonDataLoss("instances", "missing (det needs {\"instances\": [...]})");
  if (!instances->is_array()) return JsonDataLoss("instances", "not a list");
  thread_local std::vector<Box> boxes;
  thread_local std::vector<double> b;
  boxes.clear();
  size_t i = 0;
  for (JsonValue in : ListOf(*instances)) {
    // Paths are only spelled out for a message.
    auto path = [i] { return StrCat("instances[", i, "]"); };
    if (!in.is_object()) return JsonDataLoss(path(), "not an object");
    std::optional<JsonValue> score_value, box_value, name_value;
    for (simdjson::dom::key_value_pair kv : DictOf(in)) {
      if (kv.key == "score") score_value = kv.value;
      if (kv.key == "boxes") box_value = kv.value;
      if (kv.key == "class_name") name_value = kv.value;
    }
    if (!score_value) return JsonDataLoss(StrCat(path(), ".score"), "missing");
    if (!box_value) return JsonDataLoss(StrCat(path(), ".boxes"), "missing");
    if (!name_value) return JsonDataLoss(StrCat(path(), ".class_name"), "missing");
    absl::StatusOr<PyNumber> score = NumberAt(*score_value, "score");
    if (!score.ok()) return NumberAt(*score_value, StrCat(path(), ".score")).status();
    if (!name_value->is_string())
      return JsonDataLoss(StrCat(path(), ".class_name"), "not a string");
    if (!FourPlainNumbers(*box_value, &b) &&
        (!FlatNumbers(*box_value, "boxes", &b).ok() || b.size() != 4 || !box_value->is_array())) {
      absl::Status numbers = FlatNumbers(*box_value, StrCat(path(), ".boxes"), &b);
      if (!numbers.ok()) return numbers;
      return JsonDataLoss(StrCat(path(), ".boxes"), "not [x0, y0, x1, y1]");
    }
    ++i;
    if (!(score->value() >= kMinScore)) continue;
    // Original pixels, then the crop's frame, in this order (as 4M's box helpers do).
    Box box{Clip01((b[0] * orig.width - crop.left) / crop.width),
            Clip01((b[1] * orig.height - crop.top) / crop.height),
            Clip01((b[2] * orig.width - crop.left) / crop.width),
            Clip01((b[3] * orig.height - crop.top) / crop.height),
            name_value->get_string().value_unsafe()};
    if (!(box.x1 > box.x0 && box.y1 > box.y0)) continue;  // empty, outside, inverted or NaN
    if (crop.flip) {
      const double x0 = 1 - box.x1, x1 = 1 - box.x0;
      box.x0 = x0;
      box.x1 = x1;
    }
    boxes.push_back(box);
  }
  StableSortFew(&boxes, [](const Box& a, const Box& b) {
    return a.x0 * a.x0 + a.y0 * a.y0 < b.x0 * b.x0 + b.y0 * b.y0;
  });
  out->resize(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    int j = 0;
    // Coordinates are clipped to [0, 1] (NaN boxes were dropped): rne(999 c) is in 0..999.
    for (double c : {boxes[i].x0, boxes[i].y0, boxes[i].x1, boxes[i].y1}) {
      (*out)[i].values[j++] = static_cast<int>(std::nearbyint(999 * c));
    }
    (*out)[i].name = boxes[i].name;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BuildDetText(JsonValue det, ImageSize orig, const CropWindow& crop) {
  std::vector<DetBox> boxes;
  if (absl::Status s = BuildDetBoxes(det, orig, crop, &boxes); !s.ok()) return s;
  std::string text;
  for (const DetBox& box : boxes) {
    if (!text.empty()) text.push_back(' ');
    for (int j = 0; j < 4; ++j) StrAppend(&text, "v", j, "=", box.values[j], " ");
    text += box.name;
  }
  return text;
}

}  // namespace maskfeed::text
