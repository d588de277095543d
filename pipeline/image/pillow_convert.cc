#include "pipeline/image/pillow_convert.h"

namespace maskfeed {
namespace {

// a·b/255 rounded as Pillow computes it: t = a·b + 128, then (t/256 + t)/256.
inline int MulDiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

}  // namespace

void GreyToRgb(const uint8_t* grey, size_t n, uint8_t* rgb) {
  for (size_t i = 0; i < n; ++i) {
    rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey[i];
  }
}

void InvertedCmykToRgb(const uint8_t* cmyk, size_t n, uint8_t* rgb) {
  for (size_t i = 0; i < n; ++i, cmyk += 4, rgb += 3) {
    const int nk = cmyk[3];  // 255 − k, k stored inverted
    for (int c = 0; c < 3; ++c) {
      const int v = nk - MulDiv255(255 - cmyk[c], nk);
      rgb[c] = static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
    }
  }
}

}  // namespace maskfeed
