// libjpeg-turbo's decompressor, one per thread and reused (creating one allocates its memory
// pools), with errors turned into statuses (libjpeg's default prints and exits) and warnings
// silenced. Shared by the header reader and the pixel decoder.
#ifndef MASKFEED_PIPELINE_IMAGE_JPEG_READER_H_
#define MASKFEED_PIPELINE_IMAGE_JPEG_READER_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "pipeline/image/decode_rgb.h"
#include "pipeline/image/image_header.h"

namespace maskfeed::jpeg {

// The JPEG's size from its header.
absl::StatusOr<ImageDims> ReadDims(std::string_view bytes);

// The JPEG's pixels as Pillow's convert("RGB") gives them (decode_rgb.h); with scale_denom
// 2, 4 or 8, libjpeg's reduced-size DCT decode instead (ceil(W / denom) × ceil(H / denom),
// not Pillow's: the fast path). The pixel limit applies to the full size.
absl::StatusOr<RgbImage> DecodeRgb(std::string_view bytes, uint64_t max_pixels,
                                   int scale_denom = 1);

}  // namespace maskfeed::jpeg

#endif  // MASKFEED_PIPELINE_IMAGE_JPEG_READER_H_
