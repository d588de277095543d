#include "pipeline/image/rgb_pixels.h"

#include <algorithm>
#include <cmath>

#include "pipeline/base/strings.h"
#include "pipeline/image/image_header.h"
#include "pipeline/image/jpeg_reader.h"

namespace maskfeed {

int FastScaleDenom(const CropBox& box, int size) {
  const int64_t side = std::min(box.height, box.width);
  for (int denom : {8, 4, 2}) {
    if (side >= int64_t{denom} * size) return denom;
  }
  return 1;
}

absl::Status RgbPixels(std::string_view bytes, const CropBox& box, bool flip, int size,
                       const PixelOptions& options, uint8_t* chw) {
  if (size < 1) return absl::InvalidArgumentError(StrCat("resize to ", size, " pixels"));
  // Crop rows come from the dataset: bounded before any arithmetic or allocation.
  constexpr int64_t kMaxCoordinate = int64_t{1} << 30;
  for (int64_t v : {box.top, box.left, box.height, box.width}) {
    if (v < -kMaxCoordinate || v > kMaxCoordinate) {
      return absl::DataLossError(StrCat("crop row (", box.top, ", ", box.left, ", ", box.height,
                                        ", ", box.width, ") is out of range"));
    }
  }
  if (box.height < 1 || box.width < 1) {
    return absl::DataLossError(
        StrCat("crop of ", box.width, "x", box.height, " pixels (a crop row needs >= 1)"));
  }
  if (options.max_pixels != 0 &&
      static_cast<uint64_t>(box.height) * static_cast<uint64_t>(box.width) > options.max_pixels) {
    return absl::DataLossError(StrCat("crop of ", box.width, "x", box.height,
                                      " pixels, over the limit of ", options.max_pixels));
  }
  if (SniffImage(bytes) != ImageFormat::kJpeg) {
    absl::StatusOr<RgbImage> image = DecodeRgb(bytes, {.max_pixels = options.max_pixels});
    if (!image.ok()) return image.status();
    CropResizeFlip(*image, box, flip, size, chw);
    return absl::OkStatus();
  }
  // A JPEG is decoded only around the crop (jpeg_reader.h: the same pixels there as a whole
  // decode), at the fast path's reduced scale if any (1 otherwise), and the box moved into the
  // decoded region. In the reduced image the box is whole pixels around it (zero outside the
  // image, as the exact crop) with the fractional window inside them that the resize reads; at
  // scale 1 that window is the whole box. Every pixel of the box inside the image is inside the
  // region, and the region inside the image: what the box has outside the region is outside
  // the image, zero in both.
  const double d = options.fast ? FastScaleDenom(box, size) : 1;
  const double fx0 = box.left / d, fx1 = (box.left + box.width) / d;
  const double fy0 = box.top / d, fy1 = (box.top + box.height) / d;
  const auto ix0 = static_cast<int64_t>(std::floor(fx0));
  const auto iy0 = static_cast<int64_t>(std::floor(fy0));
  const auto ix1 = static_cast<int64_t>(std::ceil(fx1));
  const auto iy1 = static_cast<int64_t>(std::ceil(fy1));
  const CropBox reduced{.top = iy0, .left = ix0, .height = iy1 - iy0, .width = ix1 - ix0};
  absl::StatusOr<jpeg::RgbRegion> region =
      jpeg::DecodeRgbRegion(bytes, options.max_pixels, static_cast<int>(d), reduced);
  if (!region.ok()) return region.status();
  CropResizeFlip(region->image,
                 {.top = iy0 - region->top,
                  .left = ix0 - region->left,
                  .height = reduced.height,
                  .width = reduced.width},
                 {fx0 - ix0, fx1 - ix0, fy0 - iy0, fy1 - iy0}, flip, size, chw);
  return absl::OkStatus();
}

}  // namespace maskfeed
