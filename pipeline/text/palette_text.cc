// color_palette (docs/raw-modalities.md#color_palette).
#include "pipeline/base/strings.h"
#include "pipeline/text/json_values.h"
#include "pipeline/text/text_builders.h"

namespace maskfeed::text {

absl::StatusOr<std::string> BuildPaletteText(JsonValue palette, Rng& rng) {
  const std::vector<JsonValue> list = Elements(palette);
  if (list.empty() || !list[0].is_object()) {
    return JsonDataLoss("[0]", "color_palette needs a list whose first element maps 1..7");
  }
  const JsonValue sizes = list[0];
  std::optional<JsonValue> by_size[8];
  for (int k = 1; k <= 7; ++k) {
    by_size[k] = Field(sizes, std::to_string(k));
    if (!by_size[k]) {
      return JsonDataLoss(StrCat("[0][\"", k, "\"]"), "missing (palettes 1..7 are required)");
    }
  }
  const int64_t k = rng.Between(1, 7);
  const std::string path = StrCat("[0][\"", k, "\"]");
  absl::StatusOr<std::vector<double>> values = FlatNumbers(*by_size[k], path);
  if (!values.ok()) return values.status();
  absl::StatusOr<std::string> count = RoundedInt(static_cast<double>(values->size()) / 3.0, path);
  if (!count.ok()) return count.status();
  std::string text = StrCat("v1=", *count);
  for (double x : *values) {
    absl::StatusOr<std::string> v = RoundedInt(x, path);
    if (!v.ok()) return v.status();
    StrAppend(&text, " v0=", *v);
  }
  return text;
}

}  // namespace maskfeed::text
