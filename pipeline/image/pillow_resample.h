// Pillow's antialiased resize of 8-bit RGB with its BICUBIC filter (a = −0.5), the filter 4M's
// rgb@S path uses (docs/raw-modalities.md#rgbs, step 3), bit for bit: per axis, taps over
// [trunc(c − support + 0.5), trunc(c + support + 0.5)) around the centre c = (i + 0.5)·scale
// with support 2·max(scale, 1), weights normalised in double and rounded half away from zero
// to 22-bit fixed point; each output clamp(floor((2^21 + Σ w·p) / 2^22), 0, 255); the
// horizontal pass first, into 8 bits, then the vertical one; a pass whose lengths are equal
// is skipped. Written from that arithmetic (Pillow's Resample.c is the reference it is
// tested against, through python3-pil).
//
//   std::vector<uint8_t> chw(3 * 224 * 224);     // rgb@224 as the wire carries it
//   CropResizeFlip(image, {.top = 10, .left = -4, .height = 300, .width = 280}, /*flip=*/true,
//                  224, chw.data());
#ifndef MASKFEED_PIPELINE_IMAGE_PILLOW_RESAMPLE_H_
#define MASKFEED_PIPELINE_IMAGE_PILLOW_RESAMPLE_H_

#include <cstdint>
#include <vector>

#include "pipeline/image/decode_rgb.h"

namespace maskfeed {

// One axis of a resize: for each output index, its first input index and tap count, and the
// fixed-point weights (`taps` per output, zero-padded).
struct ResampleAxis {
  int taps = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;
};
// Requires: in_size >= 1, out_size >= 1. The input window [in0, in1) (Pillow's `box`, may
// be fractional) defaults to the whole axis.
ResampleAxis BicubicAxis(int in_size, int out_size, double in0 = 0, double in1 = -1);

// `src` (height rows of width × 3 bytes) resized to out_width × out_height into `dst`
// (out_height rows of out_width × 3 bytes). Requires: all sizes >= 1.
void ResizeBicubic(const uint8_t* src, int width, int height, uint8_t* dst, int out_width,
                   int out_height);

// The crop box of a crop_settings row, in pixels of the image: [left, left + width) ×
// [top, top + height), which may reach outside it.
struct CropBox {
  int64_t top = 0;
  int64_t left = 0;
  int64_t height = 0;
  int64_t width = 0;
};

// Pillow's Image.crop: the box's pixels, zero where it lies outside the image. Requires:
// box.height and box.width >= 1 (callers check rows first).
RgbImage CropRgb(const RgbImage& image, const CropBox& box);

// Pillow's transpose(FLIP_LEFT_RIGHT), in place.
void FlipRgb(uint8_t* pixels, int width, int height);

// 4M's rgb@S step in one: crop `box` (zero outside the image), resize to size × size, flip
// when asked, written channel-first into `chw` (3 planes of size × size), the layout the wire
// carries. Equal to CropRgb, ResizeBicubic and FlipRgb then a transpose, but works on
// planes, whose contiguous taps are summed 16 outputs at a time (AVX2's 16-bit multiply-adds
// where the CPU has them, exactly Pillow's int32 sums; a portable loop otherwise).
// Requires: box.height, box.width, size >= 1.
void CropResizeFlip(const RgbImage& image, const CropBox& box, bool flip, int size, uint8_t* chw);

// The part of the cropped image a resize reads, in its pixels (Pillow's resize `box`).
struct ResampleWindow {
  double x0, x1, y0, y1;
};
// The same, resizing only `window` of the crop (the fast path's fractional crops).
void CropResizeFlip(const RgbImage& image, const CropBox& box, const ResampleWindow& window,
                    bool flip, int size, uint8_t* chw);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_IMAGE_PILLOW_RESAMPLE_H_
