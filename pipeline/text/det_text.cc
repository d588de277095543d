// det (4m-raw-data §4.2).
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

}  // namespace

absl::StatusOr<std::vector<DetBox>> BuildDetBoxes(JsonValue det, ImageSize orig,
                                                  const CropWindow& crop) {
  const std::optional<JsonValue> instances = Field(det, "instances");
  if (!instances) return JsonDataLoss("instances", "missing (det needs {\"instances\": [...]})");
  if (!instances->is_array()) return JsonDataLoss("instances", "not a list");
  std::vector<Box> boxes;
  std::vector<double> b;
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
    if (!FlatNumbers(*box_value, "boxes", &b).ok() || b.size() != 4 || !box_value->is_array()) {
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
  std::stable_sort(boxes.begin(), boxes.end(), [](const Box& a, const Box& b) {
    return a.x0 * a.x0 + a.y0 * a.y0 < b.x0 * b.x0 + b.y0 * b.y0;
  });
  std::vector<DetBox> out(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    int j = 0;
    // Coordinates are clipped to [0, 1] (NaN boxes were dropped): rne(999 c) is in 0..999.
    for (double c : {boxes[i].x0, boxes[i].y0, boxes[i].x1, boxes[i].y1}) {
      out[i].values[j++] = static_cast<int>(std::nearbyint(999 * c));
    }
    out[i].name = boxes[i].name;
  }
  return out;
}

absl::StatusOr<std::string> BuildDetText(JsonValue det, ImageSize orig, const CropWindow& crop) {
  absl::StatusOr<std::vector<DetBox>> boxes = BuildDetBoxes(det, orig, crop);
  if (!boxes.ok()) return boxes.status();
  std::string text;
  for (const DetBox& box : *boxes) {
    if (!text.empty()) text.push_back(' ');
    for (int j = 0; j < 4; ++j) StrAppend(&text, "v", j, "=", box.values[j], " ");
    text += box.name;
  }
  return text;
}

}  // namespace maskfeed::text
