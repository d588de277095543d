// The size of a JPEG or PNG image from its header alone: what 4M's det and human_poses need
// of `main_augment_domain` (docs/raw-modalities.md#the-crop-variant) without decoding a pixel.
//
//   absl::StatusOr<ImageDims> dims = ReadImageDims(bytes);  // {.height = 480, .width = 640}
#ifndef MASKFEED_PIPELINE_IMAGE_IMAGE_HEADER_H_
#define MASKFEED_PIPELINE_IMAGE_IMAGE_HEADER_H_

#include <cstdint>
#include <optional>
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

// Reads the header of a JPEG or PNG file (libpng), whichever its signature says; a JPEG's
// size comes from ScanJpegFrameSize, else from libjpeg-turbo's header reader. DATA_LOSS
// saying what is wrong for anything else, a truncated or corrupt header, or a zero
// dimension. Never prints; thread-safe.
absl::StatusOr<ImageDims> ReadImageDims(std::string_view bytes);

// A JPEG's size from its frame header (SOF0-2), found by walking the segments before it;
// nullopt for anything unusual (junk, another frame type, a header libjpeg would refuse), which
// is then libjpeg's to read or report. Like Pillow's Image.open, it reads no table: damage
// after the frame header shows when the pixels are decoded, not here.
std::optional<ImageDims> ScanJpegFrameSize(std::string_view bytes);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_IMAGE_IMAGE_HEADER_H_
