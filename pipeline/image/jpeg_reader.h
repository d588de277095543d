// libjpeg-turbo's decompressor, one per thread, made afresh for each image (no table of one
// image reaches the next), with errors turned into statuses (libjpeg's default prints and
// exits) and warnings silenced. Shared by the header reader and the pixel decoder.
#ifndef MASKFEED_PIPELINE_IMAGE_JPEG_READER_H_
#define MASKFEED_PIPELINE_IMAGE_JPEG_READER_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "pipeline/image/decode_rgb.h"
#include "pipeline/image/image_header.h"
#include "pipeline/image/pillow_resample.h"

namespace maskfeed::jpeg {

// The JPEG's size from its header.
absl::StatusOr<ImageDims> ReadDims(std::string_view bytes);

// The JPEG's pixels as Pillow's convert("RGB") gives them (decode_rgb.h); with scale_denom
// 2, 4 or 8, libjpeg's reduced-size DCT decode instead (ceil(W / denom) × ceil(H / denom),
// not Pillow's: the fast path). The pixel limit applies to the full size.
absl::StatusOr<RgbImage> DecodeRgb(std::string_view bytes, uint64_t max_pixels,
                                   int scale_denom = 1);

// Part of a decoded image: `image` holds rows [top, top + image.height) and columns
// [left, left + image.width) of the whole (scaled) image, which is `full` in size.
struct RgbRegion {
  RgbImage image;
  int64_t top = 0;
  int64_t left = 0;
  ImageDims full;
};

// As DecodeRgb, but only what covers `want` (rows and columns of the scaled image; it may
// reach outside it) is decoded, with the same pixels there as a whole decode: libjpeg's
// horizontal crop and row skipping, kept an iMCU away from `want` so that the chroma
// upsampling next to the region's edges is the whole image's; decoding stops after the
// last row wanted (the file must still have its end marker: a truncated file is refused as
// Pillow refuses it). The region always has at least one pixel and lies inside the image;
// a `want` outside the image gets the nearest pixels.
absl::StatusOr<RgbRegion> DecodeRgbRegion(std::string_view bytes, uint64_t max_pixels,
                                          int scale_denom, const CropBox& want);

}  // namespace maskfeed::jpeg

#endif  // MASKFEED_PIPELINE_IMAGE_JPEG_READER_H_
