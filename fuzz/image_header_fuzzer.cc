// 4M's image members: the JPEG/PNG header reader that gives det and human_poses the original
// image size. Hostile bytes must give DATA_LOSS (or a size), never a crash, a hang or a print.
#include "fuzz/fuzz_util.h"
#include "pipeline/image/image_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<maskfeed::ImageDims> dims =
      maskfeed::ReadImageDims(maskfeed::fuzz::AsView(data, size));
  if (dims.ok()) maskfeed::fuzz::Check(dims->height > 0 && dims->width > 0, "zero dimension");
  return 0;
}
