// caption (4m-raw-data §4.1, §2.3).
#include "pipeline/base/strings.h"
#include "pipeline/text/json_values.h"
#include "pipeline/text/python_json.h"
#include "pipeline/text/text_builders.h"

namespace maskfeed::text {
namespace {

absl::StatusOr<std::string> CaptionOf(const nlohmann::json& j, const std::string& path) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("caption") && j["caption"].is_string()) {
    return j["caption"].get<std::string>();
  }
  if (j.is_object()) return JsonDataLoss(StrCat(path, ".caption"), "missing or not a string");
  return JsonDataLoss(path, StrCat("not a caption string (", j.type_name(), ")"));
}

}  // namespace

absl::StatusOr<std::string> CaptionFromTxt(std::string_view bytes) {
  if (absl::Status s = CheckUtf8(bytes); !s.ok()) return s;
  return std::string(bytes);
}

absl::StatusOr<std::string> SelectCaption(const nlohmann::json& caption, int64_t rand_aug_idx,
                                          int64_t n_crops, bool aligned, Rng& rng) {
  if (!caption.is_array()) return CaptionOf(caption, "$");
  const auto size = static_cast<int64_t>(caption.size());
  if (size == 0) return JsonDataLoss("$", "an empty caption list");
  int64_t index = 0;
  if (aligned) {
    index = rand_aug_idx < 0 ? 0 : rand_aug_idx;
    if (size < n_crops || index >= size) {
      return JsonDataLoss("$", StrCat("the caption list has ", size,
                                      " elements but the sample has ", std::max(n_crops, index + 1),
                                      " crop variants (aligned_captions needs one per crop)"));
    }
  } else {
    index = rng.Below(static_cast<uint32_t>(std::min<int64_t>(size, UINT32_MAX)));
  }
  return CaptionOf(caption[static_cast<size_t>(index)], StrCat("[", index, "]"));
}

}  // namespace maskfeed::text
