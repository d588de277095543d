// One sample's rgb@S pixels from its image member, as the stream needs them: decoded,
// cropped to its crop_settings row, resized, flipped, channel-first (docs/raw-modalities.md#rgbs,
// steps 1-4). Exact by default (Pillow's bytes, pillow_resample.h); a JPEG is decoded only around
// its crop, with the whole decode's pixels there (jpeg::DecodeRgbRegion). The fast path (off by
// default) decodes a JPEG whose crop is at least twice S on both sides at libjpeg's reduced DCT
// scale (1/2, 1/4 or 1/8: the largest that keeps the crop at least S) and resizes the crop's
// fractional window from there; close to the exact bytes, not equal (docs/pixels.md gives
// PSNR and the largest difference on the exactness corpus).
//
//   std::vector<uint8_t> chw(3 * 224 * 224);
//   absl::Status s = RgbPixels(bytes, box, flip, 224, {.fast = true}, chw.data());
#ifndef MASKFEED_PIPELINE_IMAGE_RGB_PIXELS_H_
#define MASKFEED_PIPELINE_IMAGE_RGB_PIXELS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "pipeline/image/decode_rgb.h"
#include "pipeline/image/pillow_resample.h"

namespace maskfeed {

struct PixelOptions {
  bool fast = false;
  uint64_t max_pixels = kDefaultMaxImagePixels;  // of the full-size image
};

// The DCT scale denominator the fast path uses for a crop of `box` resized to `size` (1: none).
int FastScaleDenom(const CropBox& box, int size);

// Writes (3, size, size) uint8 into `chw`. DATA_LOSS for an undecodable image or a crop row
// that is empty, out of range or over the pixel limit; INVALID_ARGUMENT for a size below 1.
absl::Status RgbPixels(std::string_view bytes, const CropBox& box, bool flip, int size,
                       const PixelOptions& options, uint8_t* chw);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_IMAGE_RGB_PIXELS_H_
