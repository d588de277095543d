#include "pipeline/image/decode_rgb.h"

#include "pipeline/image/image_header.h"
#include "pipeline/image/jpeg_reader.h"
#include "pipeline/image/png_reader.h"

namespace maskfeed {

absl::StatusOr<RgbImage> DecodeRgb(std::string_view bytes, const DecodeOptions& options) {
  switch (SniffImage(bytes)) {
    case ImageFormat::kJpeg:
      return jpeg::DecodeRgb(bytes, options.max_pixels);
    case ImageFormat::kPng:
      return png::DecodeRgb(bytes, options.max_pixels);
    case ImageFormat::kUnknown:
      break;
  }
  return absl::DataLossError("not a JPEG or PNG image (unknown signature)");
}

}  // namespace maskfeed
