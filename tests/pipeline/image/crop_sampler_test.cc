// The crops drawn for images without crop_settings: torchvision's random-resized crop
// parameters (every draw inside its constraints, the centred fallback when no try fits, the
// flip rate) and the centre square of 4M's CenterCropImageAugmenter.
#include "pipeline/image/crop_sampler.h"

#include <cmath>
#include <set>
#include <tuple>

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

// Whether (h, w) can come from a try: some area t in scale x image area and ratio r in the
// ratio range with round(sqrt(t r)) = w and round(sqrt(t / r)) = h, i.e. t r within w +- 1/2
// squared and t / r within h +- 1/2 squared.
bool FromATry(int64_t h, int64_t w, int64_t height, int64_t width, const RandomCropParams& p) {
  const double area = static_cast<double>(height) * width;
  const double t_lo = std::max(p.scale_min * area, (w - 0.5) * (h - 0.5));
  const double t_hi = std::min(p.scale_max * area, (w + 0.5) * (h + 0.5));
  const double r_lo = std::max(p.ratio_min, (w - 0.5) / (h + 0.5));
  const double r_hi = std::min(p.ratio_max, (w + 0.5) / (h - 0.5));
  return t_lo <= t_hi + 1e-9 && r_lo <= r_hi + 1e-9;
}

TEST(CropSamplerTest, RandomResizedCropsKeepTorchvisionsConstraints) {
  const RandomCropParams params;
  size_t flips = 0, draws = 0;
  std::set<std::tuple<int64_t, int64_t, int64_t, int64_t>> distinct;
  for (auto [height, width] : {std::pair<int64_t, int64_t>{480, 640},
                               {640, 480},
                               {333, 1001},
                               {17, 23},
                               {1, 1},
                               {224, 224}}) {
    for (uint64_t seed = 0; seed < 400; ++seed) {
      Rng rng(seed);
      const CropDraw d = DrawRandomResizedCrop(height, width, params, rng);
      const CropBox& b = d.box;
      ASSERT_GE(b.top, 0);
      ASSERT_GE(b.left, 0);
      ASSERT_GE(b.height, 1);
      ASSERT_GE(b.width, 1);
      ASSERT_LE(b.top + b.height, height);
      ASSERT_LE(b.left + b.width, width);
      EXPECT_TRUE(FromATry(b.height, b.width, height, width, params))
          << height << "x" << width << ": " << b.height << "x" << b.width;
      flips += d.flip;
      ++draws;
      if (height == 480) distinct.insert({b.top, b.left, b.height, b.width});
      // Deterministic: the same generator state, the same crop.
      Rng again(seed);
      const CropDraw e = DrawRandomResizedCrop(height, width, params, again);
      EXPECT_EQ(std::tie(b.top, b.left, b.height, b.width, d.flip),
                std::tie(e.box.top, e.box.left, e.box.height, e.box.width, e.flip));
    }
  }
  EXPECT_GT(distinct.size(), 390u);
  EXPECT_NEAR(static_cast<double>(flips) / draws, 0.5, 0.05);
}

// No try fits an image far outside the ratio range: torchvision's centred fallback, the whole
// image clamped to the range.
TEST(CropSamplerTest, FallbackIsTheCentredImageClampedToTheRatioRange) {
  const RandomCropParams params{.hflip = 0};
  Rng rng(1);
  CropDraw d = DrawRandomResizedCrop(10, 1000, params, rng);  // very wide: h = 10, w = 13
  EXPECT_EQ(d.box.height, 10);
  EXPECT_EQ(d.box.width, 13);  // round(10 x 1.3333)
  EXPECT_EQ(d.box.left, (1000 - 13) / 2);
  EXPECT_EQ(d.box.top, 0);
  EXPECT_FALSE(d.flip);
  d = DrawRandomResizedCrop(1000, 10, params, rng);  // very tall: w = 10, h = round(10 / 0.75)
  EXPECT_EQ(d.box.width, 10);
  EXPECT_EQ(d.box.height, 13);
  EXPECT_EQ(d.box.top, (1000 - 13) / 2);
  // Scale above 1 never fits: the fallback, whole image when its ratio is in range.
  d = DrawRandomResizedCrop(300, 400, {.scale_min = 2, .scale_max = 3, .hflip = 1}, rng);
  EXPECT_EQ(std::tie(d.box.top, d.box.left, d.box.height, d.box.width),
            std::make_tuple(int64_t{0}, int64_t{0}, int64_t{300}, int64_t{400}));
  EXPECT_TRUE(d.flip);
}

TEST(CropSamplerTest, CentreSquareAsCenterCropImageAugmenter) {
  CropDraw d = CenterSquareCrop(480, 640);
  EXPECT_EQ(std::tie(d.box.top, d.box.left, d.box.height, d.box.width),
            std::make_tuple(int64_t{0}, int64_t{80}, int64_t{480}, int64_t{480}));
  d = CenterSquareCrop(641, 480);  // (641 - 480) // 2 = 80
  EXPECT_EQ(std::tie(d.box.top, d.box.left, d.box.height, d.box.width),
            std::make_tuple(int64_t{80}, int64_t{0}, int64_t{480}, int64_t{480}));
  d = CenterSquareCrop(5, 5);
  EXPECT_EQ(std::tie(d.box.top, d.box.left, d.box.height, d.box.width),
            std::make_tuple(int64_t{0}, int64_t{0}, int64_t{5}, int64_t{5}));
  EXPECT_FALSE(d.flip);
}

}  // namespace
}  // namespace maskfeed
