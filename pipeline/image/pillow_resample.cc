#include "pipeline/image/pillow_resample.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "pipeline/image/byte_transpose.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace maskfeed {
namespace {

constexpr int kPrecisionBits = 22;  // 32 − 8 − 2: sums of 8-bit taps stay inside an int32

double Bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

inline uint8_t Clip8(int32_t sum) {
  const int32_t v = sum >> kPrecisionBits;  // arithmetic: floor
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace

ResampleAxis BicubicAxis(int in_size, int out_size, double in0, double in1) {
  constexpr double kSupport = 2.0;
  if (in1 < 0) in1 = in_size;
  const double scale = (in1 - in0) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = kSupport * filter_scale;
  ResampleAxis axis;
  axis.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.first.resize(out_size);
  axis.count.resize(out_size);
  axis.weights.assign(static_cast<size_t>(out_size) * axis.taps, 0);
  const double inverse = 1.0 / filter_scale;  // Pillow multiplies by it (not divides)
  std::vector<double> k(axis.taps);
  for (int i = 0; i < out_size; ++i) {
    const double center = in0 + (i + 0.5) * scale;
    // C's truncating casts, then clamped to the input.
    int lo = static_cast<int>(center - support + 0.5);
    if (lo < 0) lo = 0;
    int hi = static_cast<int>(center + support + 0.5);
    if (hi > in_size) hi = in_size;
    const int n = hi - lo;
    double total = 0;
    for (int x = 0; x < n; ++x) {
      k[x] = Bicubic((x + lo - center + 0.5) * inverse);
      total += k[x];
    }
    int32_t* w = &axis.weights[static_cast<size_t>(i) * axis.taps];
    for (int x = 0; x < n; ++x) {
      const double v = total != 0 ? k[x] / total : k[x];
      const double fixed = v * (1 << kPrecisionBits);
      w[x] = static_cast<int32_t>(v < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    axis.first[i] = lo;
    axis.count[i] = n;
  }
  return axis;
}

void ResizeBicubic(const uint8_t* src, int width, int height, uint8_t* dst, int out_width,
                   int out_height) {
  const size_t in_row = static_cast<size_t>(width) * 3;
  const size_t out_row = static_cast<size_t>(out_width) * 3;
  std::vector<uint8_t> horizontal;
  const uint8_t* rows = src;  // what the vertical pass reads: `height` rows of out_width
  if (out_width != width) {
    const ResampleAxis axis = BicubicAxis(width, out_width);
    uint8_t* to = dst;
    if (out_height != height) {
      horizontal.resize(out_row * height);
      to = horizontal.data();
    }
    for (int y = 0; y < height; ++y) {
      const uint8_t* in = src + y * in_row;
      uint8_t* out = to + y * out_row;
      for (int x = 0; x < out_width; ++x) {
        const int32_t* w = &axis.weights[static_cast<size_t>(x) * axis.taps];
        const uint8_t* p = in + static_cast<size_t>(axis.first[x]) * 3;
        int32_t r = 1 << (kPrecisionBits - 1), g = r, b = r;
        for (int t = 0; t < axis.count[x]; ++t, p += 3) {
          r += p[0] * w[t];
          g += p[1] * w[t];
          b += p[2] * w[t];
        }
        out[3 * x] = Clip8(r);
        out[3 * x + 1] = Clip8(g);
        out[3 * x + 2] = Clip8(b);
      }
    }
    if (out_height == height) return;
    rows = horizontal.data();
  }
  if (out_height == height) {  // neither pass: a copy
    std::memcpy(dst, src, out_row * height);
    return;
  }
  const ResampleAxis axis = BicubicAxis(height, out_height);
  for (int y = 0; y < out_height; ++y) {
    const int32_t* w = &axis.weights[static_cast<size_t>(y) * axis.taps];
    const uint8_t* first = rows + static_cast<size_t>(axis.first[y]) * out_row;
    uint8_t* out = dst + y * out_row;
    for (size_t x = 0; x < out_row; ++x) {
      int32_t sum = 1 << (kPrecisionBits - 1);
      const uint8_t* p = first + x;
      for (int t = 0; t < axis.count[y]; ++t, p += out_row) sum += *p * w[t];
      out[x] = Clip8(sum);
    }
  }
}

RgbImage CropRgb(const RgbImage& image, const CropBox& box) {
  RgbImage out;
  out.height = static_cast<int>(box.height);
  out.width = static_cast<int>(box.width);
  out.pixels.assign(static_cast<size_t>(box.height) * box.width * 3, 0);
  // The part of the box inside the image.
  const int64_t x0 = std::max<int64_t>(box.left, 0);
  const int64_t x1 = std::min<int64_t>(box.left + box.width, image.width);
  const int64_t y0 = std::max<int64_t>(box.top, 0);
  const int64_t y1 = std::min<int64_t>(box.top + box.height, image.height);
  if (x0 >= x1 || y0 >= y1) return out;
  for (int64_t y = y0; y < y1; ++y) {
    std::memcpy(&out.pixels[static_cast<size_t>((y - box.top) * box.width + (x0 - box.left)) * 3],
                &image.pixels[static_cast<size_t>(y * image.width + x0) * 3],
                static_cast<size_t>(x1 - x0) * 3);
  }
  return out;
}

void FlipRgb(uint8_t* pixels, int width, int height) {
  for (int y = 0; y < height; ++y) {
    uint8_t* row = pixels + static_cast<size_t>(y) * width * 3;
    for (int a = 0, b = width - 1; a < b; ++a, --b) {
      std::swap_ranges(row + 3 * a, row + 3 * a + 3, row + 3 * b);
    }
  }
}

namespace {

// One plane's vertical pass: rows of `width` bytes into axis-many rows, row by row so the
// accumulation runs along contiguous bytes. The portable version.
void VerticalPlaneGeneric(const uint8_t* in, int width, const ResampleAxis& axis, int out_rows,
                          int32_t* acc, uint8_t* out) {
  for (int y = 0; y < out_rows; ++y) {
    const int32_t* w = &axis.weights[static_cast<size_t>(y) * axis.taps];
    for (int x = 0; x < width; ++x) acc[x] = 1 << (kPrecisionBits - 1);
    for (int t = 0; t < axis.count[y]; ++t) {
      const uint8_t* row = in + static_cast<size_t>(axis.first[y] + t) * width;
      const int32_t wt = w[t];
      for (int x = 0; x < width; ++x) acc[x] += row[x] * wt;
    }
    uint8_t* to = out + static_cast<size_t>(y) * width;
    for (int x = 0; x < width; ++x) to[x] = Clip8(acc[x]);
  }
}

#if defined(__x86_64__)
// (2^11·hi + lo + 2^21) >> 22 lane by lane: Pillow's rounded sums from the two halves.
__attribute__((target("avx2"))) inline __m256i FinishSums(__m256i lo, __m256i hi) {
  const __m256i round = _mm256_set1_epi32(1 << (kPrecisionBits - 1));
  return _mm256_srai_epi32(_mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(hi, 11), lo), round),
                           kPrecisionBits);
}

// lo += p·wl and hi += p·wh: pixel pairs (int16) times weight pairs, summed into int32 lanes.
__attribute__((target("avx2"))) inline void MultiplyAdd(__m256i p, __m256i wl, __m256i wh,
                                                        __m256i& lo, __m256i& hi) {
  lo = _mm256_add_epi32(lo, _mm256_madd_epi16(p, wl));
  hi = _mm256_add_epi32(hi, _mm256_madd_epi16(p, wh));
}

// The same sums with AVX2's 16-bit multiply-adds, written by hand because no library offers
// Pillow's arithmetic and it is most of a pixel sample's time. Each 22-bit weight w is split
// as hi·2^11 + lo (lo in [0, 2^11), |hi| <= 2^11), both int16, and taps go in pairs: vpmaddwd
// of interleaved (p_t, p_t+1) pixels with (lo_t, lo_t+1) and (hi_t, hi_t+1) gives two int32
// sums, and 2^11·Σp·hi + Σp·lo is Σp·w exactly (no sum leaves int32: |Σp·hi|·2^11 is bounded
// by 255·Σ|w|, as Pillow's own accumulator is). 32 (or 16) outputs stay in registers over all taps.
__attribute__((target("avx2"))) void VerticalPlaneAvx2(const uint8_t* in, int width,
                                                       const ResampleAxis& axis, int out_rows,
                                                       int32_t* acc, uint8_t* out) {
  std::vector<int32_t> lo_pairs, hi_pairs;  // per tap pair: (w_t, w_t+1) as two int16
  for (int y = 0; y < out_rows; ++y) {
    const int32_t* w = &axis.weights[static_cast<size_t>(y) * axis.taps];
    const int n = axis.count[y];
    const int pairs = (n + 1) / 2;
    lo_pairs.resize(static_cast<size_t>(pairs));
    hi_pairs.resize(static_cast<size_t>(pairs));
    for (int k = 0; k < pairs; ++k) {
      const int32_t w0 = w[2 * k], w1 = 2 * k + 1 < n ? w[2 * k + 1] : 0;
      const auto lo = [](int32_t v) { return static_cast<uint32_t>(v & 0x7FF); };
      const auto hi = [](int32_t v) {
        return static_cast<uint32_t>(static_cast<uint16_t>(v >> 11));
      };
      lo_pairs[k] = static_cast<int32_t>(lo(w0) | (lo(w1) << 16));
      hi_pairs[k] = static_cast<int32_t>(hi(w0) | (hi(w1) << 16));
    }
    const uint8_t* first = in + static_cast<size_t>(axis.first[y]) * width;
    uint8_t* to = out + static_cast<size_t>(y) * width;
    int x = 0;
    // 32 outputs at a time: the two rows' bytes interleaved and widened within 128-bit lanes,
    // so that packing the four int32 vectors back to bytes (also lane by lane) restores the
    // order with no permutation.
    for (; x + 32 <= width; x += 32) {
      const __m256i zero = _mm256_setzero_si256();
      __m256i lo0 = zero, lo1 = zero, lo2 = zero, lo3 = zero;
      __m256i hi0 = zero, hi1 = zero, hi2 = zero, hi3 = zero;
      for (int k = 0; k < pairs; ++k) {
        const uint8_t* r0 = first + static_cast<size_t>(2 * k) * width + x;
        const uint8_t* r1 = 2 * k + 1 < n ? r0 + width : r0;
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1));
        const __m256i ab_lo = _mm256_unpacklo_epi8(a, b);      // pixels 0-7 | 16-23, a and b
        const __m256i ab_hi = _mm256_unpackhi_epi8(a, b);      // pixels 8-15 | 24-31
        const __m256i p0 = _mm256_unpacklo_epi8(ab_lo, zero);  // 0-3 | 16-19 as words
        const __m256i p1 = _mm256_unpackhi_epi8(ab_lo, zero);  // 4-7 | 20-23
        const __m256i p2 = _mm256_unpacklo_epi8(ab_hi, zero);  // 8-11 | 24-27
        const __m256i p3 = _mm256_unpackhi_epi8(ab_hi, zero);  // 12-15 | 28-31
        const __m256i wl = _mm256_set1_epi32(lo_pairs[k]);
        const __m256i wh = _mm256_set1_epi32(hi_pairs[k]);
        MultiplyAdd(p0, wl, wh, lo0, hi0);
        MultiplyAdd(p1, wl, wh, lo1, hi1);
        MultiplyAdd(p2, wl, wh, lo2, hi2);
        MultiplyAdd(p3, wl, wh, lo3, hi3);
      }
      // Lane 0 of (0-3, 4-7) and (8-11, 12-15) packs to bytes 0-15, lane 1 to 16-31; the
      // saturating packs clip at 0 and 255 as Clip8 does.
      const __m256i words01 = _mm256_packs_epi32(FinishSums(lo0, hi0), FinishSums(lo1, hi1));
      const __m256i words23 = _mm256_packs_epi32(FinishSums(lo2, hi2), FinishSums(lo3, hi3));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + x),
                          _mm256_packus_epi16(words01, words23));
    }
    // 16 at a time to the end: the last block moves back to end at the row's end, summing
    // some columns again (the same sums, written twice) rather than leaving them to the
    // scalar loop, which only rows under 16 bytes need.
    for (; x < width && width >= 16; x += 16) {
      x = std::min(x, width - 16);
      __m256i lo0 = _mm256_setzero_si256(), lo1 = lo0, hi0 = lo0, hi1 = lo0;
      for (int k = 0; k < pairs; ++k) {
        const uint8_t* r0 = first + static_cast<size_t>(2 * k) * width + x;
        // An odd last tap pairs with itself under a zero weight.
        const uint8_t* r1 = 2 * k + 1 < n ? r0 + width : r0;
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1));
        const __m256i p0 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, b));
        const __m256i p1 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(a, b));
        const __m256i wl = _mm256_set1_epi32(lo_pairs[k]);
        const __m256i wh = _mm256_set1_epi32(hi_pairs[k]);
        MultiplyAdd(p0, wl, wh, lo0, hi0);
        MultiplyAdd(p1, wl, wh, lo1, hi1);
      }
      const __m256i s0 = FinishSums(lo0, hi0), s1 = FinishSums(lo1, hi1);
      // int32 -> int16 (lanes interleave; put them back in order) -> uint8, clipping at 0 and
      // 255 as Clip8 does.
      const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(s0, s1), 0xD8);
      const __m128i bytes =
          _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(to + x), bytes);
    }
    for (; x < width; ++x) {  // rows under 16 bytes, as the generic version
      int32_t sum = 1 << (kPrecisionBits - 1);
      for (int t = 0; t < n; ++t) sum += first[static_cast<size_t>(t) * width + x] * w[t];
      to[x] = Clip8(sum);
    }
  }
  (void)acc;
}
#endif

// The axis with its outputs in reverse order (output i becomes output n − 1 − i).
void ReverseOutputs(ResampleAxis& axis) {
  std::reverse(axis.first.begin(), axis.first.end());
  std::reverse(axis.count.begin(), axis.count.end());
  const size_t outputs = axis.first.size(), taps = static_cast<size_t>(axis.taps);
  for (size_t i = 0; i < outputs / 2; ++i) {
    std::swap_ranges(axis.weights.begin() + static_cast<ptrdiff_t>(i * taps),
                     axis.weights.begin() + static_cast<ptrdiff_t>((i + 1) * taps),
                     axis.weights.begin() + static_cast<ptrdiff_t>((outputs - 1 - i) * taps));
  }
}

void VerticalPlane(const uint8_t* in, int width, const ResampleAxis& axis, int out_rows,
                   int32_t* acc, uint8_t* out) {
#if defined(__x86_64__)
  // MASKFEED_PORTABLE_PIXELS=1 forces the portable loop (tests check both against Pillow).
  static const bool avx2 =
      __builtin_cpu_supports("avx2") && std::getenv("MASKFEED_PORTABLE_PIXELS") == nullptr;
  if (avx2) return VerticalPlaneAvx2(in, width, axis, out_rows, acc, out);
#endif
  VerticalPlaneGeneric(in, width, axis, out_rows, acc, out);
}

}  // namespace

void CropResizeFlip(const RgbImage& image, const CropBox& box, bool flip, int size, uint8_t* chw) {
  CropResizeFlip(image, box,
                 {0, static_cast<double>(box.width), 0, static_cast<double>(box.height)}, flip,
                 size, chw);
}

void CropResizeFlip(const RgbImage& image, const CropBox& box, const ResampleWindow& window,
                    bool flip, int size, uint8_t* chw) {
  const auto w = static_cast<int>(box.width), h = static_cast<int>(box.height);
  const size_t crop_plane = static_cast<size_t>(w) * h;
  // The crop's planes are kept transposed (a column per row): the horizontal pass then runs,
  // like the vertical one, along contiguous bytes, many outputs per instruction. Buffers are
  // thread-local and reused, and never zero-filled when they grow (every byte is written).
  thread_local PixelBuffer columns, horizontal_t, horizontal;
  thread_local std::vector<int32_t> acc;
  const int64_t x0 = std::max<int64_t>(box.left, 0);
  const int64_t x1 = std::min<int64_t>(box.left + box.width, image.width);
  const int64_t y0 = std::max<int64_t>(box.top, 0);
  const int64_t y1 = std::min<int64_t>(box.top + box.height, image.height);
  columns.resize(crop_plane * 3);
  // Image.crop's zero fill, only where the crop leaves the image.
  const bool columns_need_zeros =
      x0 != box.left || y0 != box.top || x1 != box.left + box.width || y1 != box.top + box.height;
  // Interleaved rows into planes (sequential), then each plane into columns (SIMD blocks).
  thread_local PixelBuffer planar;
  planar.resize(crop_plane * 3);
  if (columns_need_zeros) std::fill(planar.begin(), planar.end(), 0);
  for (int64_t y = y0; x0 < x1 && y < y1; ++y) {  // (a crop beside the image reads nothing)
    const uint8_t* from = &image.pixels[static_cast<size_t>(y * image.width + x0) * 3];
    const size_t at = static_cast<size_t>((y - box.top) * box.width + (x0 - box.left));
    uint8_t* r = planar.data() + at;
    SplitRgb(from, static_cast<size_t>(x1 - x0), r, r + crop_plane, r + 2 * crop_plane);
  }
  for (int c = 0; c < 3; ++c) {
    TransposeBytes(planar.data() + c * crop_plane, static_cast<size_t>(w), h, w,
                   columns.data() + c * crop_plane, static_cast<size_t>(h));
  }
  const size_t out_plane = static_cast<size_t>(size) * size;
  // Pillow skips a pass whose window is the whole axis at the same length.
  const bool horizontal_pass = size != w || window.x0 != 0 || window.x1 != w;
  const bool vertical_pass = size != h || window.y0 != 0 || window.y1 != h;
  ResampleAxis across =
      horizontal_pass ? BicubicAxis(w, size, window.x0, window.x1) : ResampleAxis{};
  // A flip is the horizontal pass writing its outputs in reverse order: the same sums, no
  // extra pass over the result.
  const bool flip_in_pass = flip && horizontal_pass;
  if (flip_in_pass) ReverseOutputs(across);
  const ResampleAxis down =
      vertical_pass ? BicubicAxis(h, size, window.y0, window.y1) : ResampleAxis{};
  horizontal_t.resize(static_cast<size_t>(size) * h);
  horizontal.resize(static_cast<size_t>(size) * h);
  acc.resize(static_cast<size_t>(std::max(size, h)));
  for (int c = 0; c < 3; ++c) {
    const uint8_t* plane_t = columns.data() + c * crop_plane;  // w rows of h
    uint8_t* out = chw + c * out_plane;
    // Pass by pass, as Pillow: each writes 8 bits; a pass of equal lengths is skipped.
    const uint8_t* after_t = plane_t;  // the horizontal pass's result, transposed
    if (horizontal_pass) {
      VerticalPlane(plane_t, h, across, size, acc.data(), horizontal_t.data());
      after_t = horizontal_t.data();
    }
    TransposeBytes(after_t, static_cast<size_t>(h), size, h, horizontal.data(),
                   static_cast<size_t>(size));  // h rows of `size`
    if (vertical_pass) {
      VerticalPlane(horizontal.data(), size, down, size, acc.data(), out);
    } else {
      std::memcpy(out, horizontal.data(), out_plane);
    }
    if (flip && !flip_in_pass) {
      for (int y = 0; y < size; ++y) std::reverse(out + y * size, out + (y + 1) * size);
    }
  }
}

}  // namespace maskfeed
