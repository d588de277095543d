// caption (docs/raw-modalities.md#caption).
#include "pipeline/base/strings.h"
#include "pipeline/text/json_values.h"
#include "pipeline/text/python_json.h"
#include "pipeline/text/text_builders.h"

namespace maskfeed::text {
namespace {

absl::StatusOr<std::string_view> CaptionOf(JsonValue j, std::string_view path) {
  if (j.is_string()) return j.get_string().value_unsafe();
  if (j.is_object()) {
    std::optional<JsonValue> caption = Field(j, "caption");
    if (caption && caption->is_string()) return caption->get_string().value_unsafe();
    return JsonDataLoss(StrCat(path, ".caption"), "missing or not a string");
  }
  return JsonDataLoss(path, StrCat("not a caption string (", PyTypeName(j), ")"));
}

}  // namespace

absl::StatusOr<std::string> CaptionFromTxt(std::string_view bytes) {
  if (absl::Status s = CheckUtf8(bytes); !s.ok()) return s;
  return std::string(bytes);
}

absl::StatusOr<std::string_view> SelectCaption(JsonValue caption, int64_t rand_aug_idx,
                                               int64_t n_crops, bool aligned, Rng& rng) {
  if (!caption.is_array()) return CaptionOf(caption, "$");
  const simdjson::dom::array list = ListOf(caption);
  const auto size = static_cast<int64_t>(list.size());
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
  return CaptionOf(list.at(static_cast<size_t>(index)).value_unsafe(), StrCat("[", index, "]"));
}

}  // namespace maskfeed::text
