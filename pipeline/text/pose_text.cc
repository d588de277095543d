// human_poses (docs/raw-modalities.md#human_poses).
#include <algorithm>
#include <array>

#include "pipeline/base/strings.h"
#include "pipeline/text/json_values.h"
#include "pipeline/text/text_builders.h"

namespace maskfeed::text {
namespace {

// Person i's numbers under `key` (of `parent` at `path`): exactly `count` of them.
absl::StatusOr<std::vector<double>> PersonValues(const std::vector<JsonValue>* all,
                                                 const std::string& path, const char* key, size_t i,
                                                 size_t count) {
  const std::string at = StrCat(path, key, "[", i, "]");
  if (all == nullptr) return JsonDataLoss(StrCat(path, key), "missing");
  if (all->size() <= i) {
    return JsonDataLoss(StrCat(path, key), "fewer entries than bbox_xyxy has people");
  }
  absl::StatusOr<std::vector<double>> v = FlatNumbers((*all)[i], at);
  if (!v.ok()) return v.status();
  if (v->size() != count) {
    return JsonDataLoss(at, StrCat("holds ", v->size(), " numbers, not ", count));
  }
  return v;
}

// Every value is converted to a numeric array by 4M: a non-numeric one is fatal there.
absl::Status CheckNumeric(JsonValue object, const std::string& prefix) {
  for (const auto& [key, value] : Items(object)) {
    if (prefix.empty() && key == "pred_smpl_params") continue;
    absl::StatusOr<std::vector<double>> v = FlatNumbers(value, prefix + Printable(key));
    if (!v.ok()) return v.status();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> BuildPoseText(JsonValue poses, ImageSize orig, const CropWindow& crop,
                                          Rng& rng) {
  if (!poses.is_object()) return JsonDataLoss("$", "human_poses must be an object");
  if (DictOf(poses).size() == 0) return std::string("none");
  if (absl::Status s = CheckNumeric(poses, ""); !s.ok()) return s;
  const std::optional<JsonValue> smpl = Field(poses, "pred_smpl_params");
  if (!smpl || !smpl->is_object()) {
    return JsonDataLoss("pred_smpl_params", "missing or not an object");
  }
  if (absl::Status s = CheckNumeric(*smpl, "pred_smpl_params."); !s.ok()) return s;
  const std::optional<JsonValue> bbox = Field(poses, "bbox_xyxy");
  if (!bbox || !bbox->is_array()) return JsonDataLoss("bbox_xyxy", "missing or not a list");
  // Each list once as a vector (simdjson walks lists; people are indexed).
  std::vector<JsonValue> lists[5];
  const std::vector<JsonValue>* present[5] = {};
  const std::pair<JsonValue, const char*> sources[5] = {{poses, "bbox_xyxy"},
                                                        {*smpl, "global_orient"},
                                                        {*smpl, "betas"},
                                                        {poses, "pose_tokenized"},
                                                        {poses, "pred_cam"}};
  for (int k = 0; k < 5; ++k) {
    if (std::optional<JsonValue> v = Field(sources[k].first, sources[k].second)) {
      lists[k] = Elements(*v);  // not a list: CheckNumeric let a number through; no people
      present[k] = &lists[k];
    }
  }
  const size_t people = lists[0].size();
  std::string text;
  for (size_t i = 0; i < people; ++i) {
    absl::StatusOr<std::vector<double>> box = PersonValues(present[0], "", "bbox_xyxy", i, 4);
    absl::StatusOr<std::vector<double>> orient =
        PersonValues(present[1], "pred_smpl_params.", "global_orient", i, 9);
    absl::StatusOr<std::vector<double>> betas =
        PersonValues(present[2], "pred_smpl_params.", "betas", i, 10);
    absl::StatusOr<std::vector<double>> codes =
        PersonValues(present[3], "", "pose_tokenized", i, 8);
    absl::StatusOr<std::vector<double>> cam = PersonValues(present[4], "", "pred_cam", i, 3);
    for (const auto* v : {&box, &orient, &betas, &codes, &cam}) {
      if (!v->ok()) return v->status();
    }
    // Normalise by the original size, then into the crop, in exactly this order.
    std::array<double, 4> b = {((*box)[0] / orig.width * orig.width - crop.left) / crop.width,
                               ((*box)[1] / orig.height * orig.height - crop.top) / crop.height,
                               ((*box)[2] / orig.width * orig.width - crop.left) / crop.width,
                               ((*box)[3] / orig.height * orig.height - crop.top) / crop.height};
    if ((b[1] < 0 && b[3] < 0) || (b[0] < 0 && b[2] < 0) || (b[1] > 1 && b[3] > 1) ||
        (b[0] > 1 && b[2] > 1)) {
      continue;  // wholly outside the crop
    }
    for (double& c : b) c = std::clamp(c, 0.0, 1.0);
    // No flip: 4M ignores it here (docs/raw-modalities.md#where-4ms-behaviour-is-an-accident, 2).
    const std::string at = StrCat("bbox_xyxy[", i, "]");
    std::string person = "human";
    for (int j = 0; j < 4; ++j) {
      absl::StatusOr<std::string> q = RoundedInt(999 * b[j], at);
      if (!q.ok()) return q.status();
      StrAppend(&person, " v", j, "=", *q);
    }
    std::array<std::string, 4> groups;
    groups[0] = "pose";
    for (double p : *codes) {
      if (p != std::floor(p) || p < 0 || p > 1023) {
        return JsonDataLoss(StrCat("pose_tokenized[", i, "]"), "codes must be integers 0..1023");
      }
      const auto code = static_cast<int64_t>(p);
      StrAppend(&groups[0], code < 512 ? " v0=" : " v1=", code < 512 ? code : code - 512);
    }
    struct Scaled {
      std::string* out;
      const std::vector<double>* values;
      double scale, offset, lo, hi;
      std::string path;
    };
    groups[1] = "global";
    groups[2] = "camera";
    groups[3] = "shape";
    const double inf = std::numeric_limits<double>::infinity();
    for (const Scaled& s :
         {Scaled{&groups[1], &*orient, 499.5, 499.5, -inf, inf,
                 StrCat("pred_smpl_params.global_orient[", i, "]")},
          Scaled{&groups[2], &*cam, 49.95, 49.95, -1, 19, StrCat("pred_cam[", i, "]")},
          Scaled{&groups[3], &*betas, 166.5, 499.5, -inf, inf,
                 StrCat("pred_smpl_params.betas[", i, "]")}}) {
      for (double x : *s.values) {
        // Multiply first, then add; only the camera is clipped (betas are not:
        // docs/raw-modalities.md#where-4ms-behaviour-is-an-accident, 4).
        absl::StatusOr<std::string> q =
            RoundedInt(s.scale * std::clamp(x, s.lo, s.hi) + s.offset, s.path);
        if (!q.ok()) return q.status();
        StrAppend(s.out, " v0=", *q);
      }
    }
    // One fresh permutation of the four groups per person (torch.randperm(4) in 4M).
    std::array<int, 4> order = {0, 1, 2, 3};
    for (uint32_t k = 4; k > 1; --k) std::swap(order[k - 1], order[rng.Below(k)]);
    for (int g : order) StrAppend(&person, " ", groups[g]);
    text += person + " ";
  }
  return text.empty() ? std::string("none") : text;
}

}  // namespace maskfeed::text
