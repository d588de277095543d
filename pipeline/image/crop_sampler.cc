#include "pipeline/image/crop_sampler.h"

#include <algorithm>
#include <cmath>

namespace maskfeed {
namespace {

// Python's round() of a non-negative double to an integer: half to even.
int64_t RoundHalfEven(double v) { return static_cast<int64_t>(std::nearbyint(v)); }

// Uniform in [0, n) for the image's dimensions (below 2^32: images are bounded by the pixel
// limit long before).
int64_t Below(Rng& rng, int64_t n) {
  return static_cast<int64_t>(rng.Below(static_cast<uint32_t>(n)));
}

}  // namespace

CropDraw DrawRandomResizedCrop(int64_t height, int64_t width, const RandomCropParams& params,
                               Rng& rng) {
  CropDraw draw;
  const double area = static_cast<double>(height) * static_cast<double>(width);
  const double log_lo = std::log(params.ratio_min), log_hi = std::log(params.ratio_max);
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const double target =
        area * (params.scale_min + (params.scale_max - params.scale_min) * rng.Uniform());
    const double ratio = std::exp(log_lo + (log_hi - log_lo) * rng.Uniform());
    const int64_t w = RoundHalfEven(std::sqrt(target * ratio));
    const int64_t h = RoundHalfEven(std::sqrt(target / ratio));
    if (0 < w && w <= width && 0 < h && h <= height) {
      draw.box = {.top = Below(rng, height - h + 1),
                  .left = Below(rng, width - w + 1),
                  .height = h,
                  .width = w};
      found = true;
    }
  }
  if (!found) {
    const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
    int64_t w = width, h = height;
    if (in_ratio < params.ratio_min) {
      h = RoundHalfEven(static_cast<double>(w) / params.ratio_min);
    } else if (in_ratio > params.ratio_max) {
      w = RoundHalfEven(static_cast<double>(h) * params.ratio_max);
    }
    draw.box = {.top = (height - h) / 2, .left = (width - w) / 2, .height = h, .width = w};
  }
  draw.flip = rng.Uniform() < params.hflip;
  return draw;
}

CropDraw CenterSquareCrop(int64_t height, int64_t width) {
  CropDraw draw;
  if (height > width) {
    draw.box = {.top = (height - width) / 2, .left = 0, .height = width, .width = width};
  } else {
    draw.box = {.top = 0, .left = (width - height) / 2, .height = height, .width = height};
  }
  return draw;
}

}  // namespace maskfeed
