// 4M's rgb members to pixels: JPEG/PNG decoding with Pillow's conversions, then a crop (which
// may reach outside the image), the bicubic resize and the flip, as rgb@S does. Hostile bytes
// must give DATA_LOSS or an image of exactly its size, never a crash, a hang or a print.
// Images are limited to 2^20 pixels here (the product's limit is Pillow's, tested apart).
#include <cstring>
#include <vector>

#include "fuzz_util.h"
#include "pipeline/image/decode_rgb.h"
#include "pipeline/image/pillow_resample.h"
#include "pipeline/image/rgb_pixels.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  absl::StatusOr<RgbImage> image = DecodeRgb(fuzz::AsView(data, size), {.max_pixels = 1 << 20});
  if (!image.ok()) return 0;
  fuzz::Check(image->height > 0 && image->width > 0, "zero dimension");
  fuzz::Check(image->pixels.size() == size_t{3} * image->height * image->width, "pixel count");
  // A crop drawn from the first bytes: partly outside, and small or large.
  uint8_t b[4] = {};
  std::memcpy(b, data, std::min<size_t>(size, 4));
  const CropBox box{.top = b[0] % 64 - 16,
                    .left = b[1] % 64 - 16,
                    .height = 1 + (b[2] % 2 ? image->height : b[2] % 97),
                    .width = 1 + (b[3] % 2 ? image->width : b[3] % 89)};
  const RgbImage crop = CropRgb(*image, box);
  const int out = b[2] % 3 == 0 ? 7 : 32;
  std::vector<uint8_t> pixels(static_cast<size_t>(out) * out * 3);
  ResizeBicubic(crop.pixels.data(), crop.width, crop.height, pixels.data(), out, out);
  FlipRgb(pixels.data(), out, out);
  CropResizeFlip(*image, box, b[0] % 2 == 1, out, pixels.data());
  // The pixel path decodes a JPEG only around the crop: where it succeeds, the same bytes.
  std::vector<uint8_t> direct(pixels.size());
  if (RgbPixels(fuzz::AsView(data, size), box, b[0] % 2 == 1, out, {.max_pixels = 1 << 20},
                direct.data())
          .ok()) {
    fuzz::Check(direct == pixels, "a region decode differs from the whole decode");
  }
  // The fast path: a reduced-DCT decode when the crop is at least twice the output.
  (void)RgbPixels(fuzz::AsView(data, size), box, true, out / 4 + 1,
                  {.fast = true, .max_pixels = 1 << 20}, pixels.data());
  return 0;
}
