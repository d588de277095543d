// 4M's raw JSON members: bytes (or their gunzipped form, as for .json.gz captions) parsed as
// Python's json does, then handed to every text builder (caption, det, metadata, palette,
// poses) with a fixed crop: hostile structure must give DATA_LOSS, never a crash.
#include "fuzz_util.h"
#include "pipeline/text/python_json.h"
#include "pipeline/text/text_builders.h"

namespace {

void Build(maskfeed::text::JsonValue j) {
  using namespace maskfeed::text;
  maskfeed::Rng rng(1);
  const ImageSize size{.height = 480, .width = 640};
  const CropWindow crop{.top = 10, .left = 80, .height = 400, .width = 420, .flip = true};
  (void)SelectCaption(j, 1, 2, true, rng);
  (void)SelectCaption(j, -1, 0, false, rng);
  (void)BuildDetText(j, size, crop);
  (void)BuildMetadataChunks(j, rng);
  (void)BuildPaletteText(j, rng);
  (void)BuildPoseText(j, size, crop, rng);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  const std::string_view bytes = fuzz::AsView(data, size);
  text::PythonJsonParser parser;
  absl::StatusOr<text::JsonValue> j = parser.Parse(bytes);
  if (j.ok()) Build(*j);
  absl::StatusOr<std::string> unzipped = text::Gunzip(bytes, 1 << 20);
  if (unzipped.ok()) {
    fuzz::Check(unzipped->size() <= (1 << 20), "gunzip past its limit");
    absl::StatusOr<text::JsonValue> inner = parser.Parse(*unzipped);
    if (inner.ok()) Build(*inner);
  }
  return 0;
}
