// The crops 4M draws for images without crop_settings (docs/pixels.md#crops-without-crop_settings):
// torchvision's RandomResizedCrop.get_params (4M's RandomCropImageAugmenter, in training) and
// the centre square (its CenterCropImageAugmenter, in evaluation), drawn from the sample's own
// generator so that the same seed gives the same crops for any thread count or replica.
//
//   Rng rng = ...;  // the row's crop generator
//   CropDraw draw = DrawRandomResizedCrop(480, 640, RandomCropParams{}, rng);
//   // draw.box: top, left, height, width in pixels of the image; draw.flip
#ifndef MASKFEED_PIPELINE_IMAGE_CROP_SAMPLER_H_
#define MASKFEED_PIPELINE_IMAGE_CROP_SAMPLER_H_

#include <cstdint>

#include "pipeline/base/random.h"
#include "pipeline/image/pillow_resample.h"

namespace maskfeed {

// 4M's RandomCropImageAugmenter defaults.
struct RandomCropParams {
  double scale_min = 0.2;
  double scale_max = 1.0;
  double ratio_min = 0.75;
  double ratio_max = 1.3333;
  double hflip = 0.5;
};

struct CropDraw {
  CropBox box;
  bool flip = false;
};

// torchvision's get_params: up to 10 tries of an area (image area x uniform in [scale_min,
// scale_max]) and an aspect ratio (exp of uniform in [log ratio_min, log ratio_max]), giving
// w = round(sqrt(area x ratio)), h = round(sqrt(area / ratio)) (Python's round); the first
// that fits (0 < w <= width, 0 < h <= height) is placed uniformly. Otherwise the centred
// fallback: the whole image clamped to the ratio range. Then flip with probability hflip.
// Requires: height, width >= 1; 0 < scale_min <= scale_max; 0 < ratio_min <= ratio_max.
CropDraw DrawRandomResizedCrop(int64_t height, int64_t width, const RandomCropParams& params,
                               Rng& rng);

// The centred square of side min(height, width): top = (height - width) / 2 when taller,
// else left = (width - height) / 2 (integer division). Never flipped.
CropDraw CenterSquareCrop(int64_t height, int64_t width);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_IMAGE_CROP_SAMPLER_H_
