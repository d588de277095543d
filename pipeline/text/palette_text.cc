// color_palette (4m-raw-data §4.4).
#include "pipeline/base/strings.h"
#include "pipeline/text/json_values.h"
#include "pipeline/text/text_builders.h"

namespace maskfeed::text {

absl::StatusOr<std::string> BuildPaletteText(const nlohmann::json& palette, Rng& rng) {
  if (!palette.is_array() || palette.empty() || !palette[0].is_object()) {
    return JsonDataLoss("[0]", "color_palette needs a list whose first element maps 1..7");
  }
  const nlohmann::json& sizes = palette[0];
  for (int k = 1; k <= 7; ++k) {
    if (!sizes.contains(std::to_string(k))) {
      return JsonDataLoss(StrCat("[0][\"", k, "\"]"), "missing (palettes 1..7 are required)");
    }
  }
  const int64_t k = rng.Between(1, 7);
  const std::string path = StrCat("[0][\"", k, "\"]");
  absl::StatusOr<std::vector<double>> values = FlatNumbers(sizes[std::to_string(k)], path);
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
