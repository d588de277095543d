// PNG files to RGB pixels as Pillow's Image.open(...).convert("RGB") gives them (libpng reads
// the raw samples; the conversion follows Pillow's modes, see decode_rgb.h).
#ifndef MASKFEED_PIPELINE_IMAGE_PNG_READER_H_
#define MASKFEED_PIPELINE_IMAGE_PNG_READER_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "pipeline/image/decode_rgb.h"
#include "pipeline/image/image_header.h"

namespace maskfeed::png {

// The PNG's size from its header.
absl::StatusOr<ImageDims> ReadDims(std::string_view bytes);

absl::StatusOr<RgbImage> DecodeRgb(std::string_view bytes, uint64_t max_pixels);

}  // namespace maskfeed::png

#endif  // MASKFEED_PIPELINE_IMAGE_PNG_READER_H_
