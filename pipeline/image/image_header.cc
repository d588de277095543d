#include "pipeline/image/image_header.h"

#include "pipeline/base/strings.h"
#include "pipeline/image/jpeg_reader.h"
#include "pipeline/image/png_reader.h"

namespace maskfeed {

ImageFormat SniffImage(std::string_view bytes) {
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xff &&
      static_cast<unsigned char>(bytes[1]) == 0xd8 &&
      static_cast<unsigned char>(bytes[2]) == 0xff) {
    return ImageFormat::kJpeg;
  }
  constexpr std::string_view kPngSignature{"\x89PNG\r\n\x1a\n", 8};
  if (bytes.substr(0, kPngSignature.size()) == kPngSignature) return ImageFormat::kPng;
  return ImageFormat::kUnknown;
}

absl::StatusOr<ImageDims> ReadImageDims(std::string_view bytes) {
  absl::StatusOr<ImageDims> dims;
  switch (SniffImage(bytes)) {
    case ImageFormat::kJpeg:
      dims = jpeg::ReadDims(bytes);
      break;
    case ImageFormat::kPng:
      dims = png::ReadDims(bytes);
      break;
    case ImageFormat::kUnknown:
      return absl::DataLossError("not a JPEG or PNG image (unknown signature)");
  }
  if (dims.ok() && (dims->height == 0 || dims->width == 0)) {
    return absl::DataLossError(StrCat("image of ", dims->width, "x", dims->height, " pixels"));
  }
  return dims;
}

}  // namespace maskfeed
