// 4M's image members: the JPEG/PNG header reader that gives det and human_poses the original
// image size. Hostile bytes must give DATA_LOSS (or a size), never a crash, a hang or a print;
// where the JPEG frame-header walk finds a size and libjpeg reads the header too, they agree.
#include "fuzz_util.h"
#include "pipeline/image/image_header.h"
#include "pipeline/image/jpeg_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = maskfeed::fuzz::AsView(data, size);
  absl::StatusOr<maskfeed::ImageDims> dims = maskfeed::ReadImageDims(bytes);
  if (dims.ok()) maskfeed::fuzz::Check(dims->height > 0 && dims->width > 0, "zero dimension");
  if (std::optional<maskfeed::ImageDims> scanned = maskfeed::ScanJpegFrameSize(bytes)) {
    absl::StatusOr<maskfeed::ImageDims> libjpeg = maskfeed::jpeg::ReadDims(bytes);
    if (libjpeg.ok()) {
      maskfeed::fuzz::Check(libjpeg->height == scanned->height && libjpeg->width == scanned->width,
                            "frame-header walk and libjpeg disagree");
    }
  }
  return 0;
}
