// The size of a JPEG or PNG image from its header alone: what 4M's det and human_poses need
// of `main_augment_domain` (4m-raw-data §3.2) without decoding a pixel.
//
//   absl::StatusOr<ImageDims> dims = ReadImageDims(bytes);  // {.height = 480, .width = 640}
#ifndef MASKFEED_PIPELINE_IMAGE_IMAGE_HEADER_H_
#define MASKFEED_PIPELINE_IMAGE_IMAGE_HEADER_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace maskfeed {

struct ImageDims {
  uint32_t height = 0;
  uint32_t width = 0;
};

enum class ImageFormat { kUnknown, kJpeg, kPng };
// The format the file's signature says.
ImageFormat SniffImage(std::string_view bytes);

// Reads the header of a JPEG (libjpeg-turbo) or PNG (libpng) file, whichever its signature
// says. DATA_LOSS saying what is wrong for anything else, a truncated or corrupt header, or a
// zero dimension. Never prints; thread-safe.
absl::StatusOr<ImageDims> ReadImageDims(std::string_view bytes);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_IMAGE_IMAGE_HEADER_H_
