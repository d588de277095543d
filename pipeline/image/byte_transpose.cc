#include "pipeline/image/byte_transpose.h"

#include <algorithm>
#include <cstdlib>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <tmmintrin.h>
#endif

namespace maskfeed {
namespace {

void TransposeScalar(const uint8_t* in, size_t in_stride, int r0, int r1, int c0, int c1,
                     uint8_t* out, size_t out_stride) {
  for (int r = r0; r < r1; ++r) {
    for (int c = c0; c < c1; ++c) out[c * out_stride + r] = in[r * in_stride + c];
  }
}

#if defined(__SSE2__)
// One 16 x 16 block: four rounds of interleaving (8-, 16-, 32-, 64-bit lanes).
void Transpose16(const uint8_t* in, size_t in_stride, uint8_t* out, size_t out_stride) {
  __m128i a[16], b[16];
  for (int i = 0; i < 16; ++i) {
    a[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i * in_stride));
  }
  for (int i = 0; i < 8; ++i) {
    b[2 * i] = _mm_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
    b[2 * i + 1] = _mm_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 2; ++j) {
      a[4 * i + 2 * j] = _mm_unpacklo_epi16(b[4 * i + j], b[4 * i + j + 2]);
      a[4 * i + 2 * j + 1] = _mm_unpackhi_epi16(b[4 * i + j], b[4 * i + j + 2]);
    }
  }
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 4; ++j) {
      b[8 * i + 2 * j] = _mm_unpacklo_epi32(a[8 * i + j], a[8 * i + j + 4]);
      b[8 * i + 2 * j + 1] = _mm_unpackhi_epi32(a[8 * i + j], a[8 * i + j + 4]);
    }
  }
  for (int j = 0; j < 8; ++j) {
    a[2 * j] = _mm_unpacklo_epi64(b[j], b[j + 8]);
    a[2 * j + 1] = _mm_unpackhi_epi64(b[j], b[j + 8]);
  }
  for (int i = 0; i < 16; ++i) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i * out_stride), a[i]);
  }
}

// 16 pixels at a time: output byte j of channel c is input byte 3j + c, which lies in the
// k-th 16-byte load for 16k <= 3j + c < 16k + 16; one shuffle per (channel, load) gathers it
// there, and the three are ORed (0x80 in a shuffle mask gives a zero byte).
struct SplitMasks {
  uint8_t bytes[3][3][16];  // [channel][load][output byte]
  SplitMasks() {
    for (int c = 0; c < 3; ++c) {
      for (int k = 0; k < 3; ++k) {
        for (int j = 0; j < 16; ++j) {
          const int at = 3 * j + c - 16 * k;
          bytes[c][k][j] = at >= 0 && at < 16 ? static_cast<uint8_t>(at) : 0x80;
        }
      }
    }
  }
};

__attribute__((target("ssse3"))) size_t SplitRgbSsse3(const uint8_t* rgb, size_t n, uint8_t* r,
                                                      uint8_t* g, uint8_t* b) {
  static const SplitMasks masks;
  __m128i m[3][3];
  for (int c = 0; c < 3; ++c) {
    for (int k = 0; k < 3; ++k) {
      m[c][k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(masks.bytes[c][k]));
    }
  }
  uint8_t* planes[3] = {r, g, b};
  size_t i = 0;
  for (; i + 16 <= n; i += 16, rgb += 48) {
    const __m128i in[3] = {_mm_loadu_si128(reinterpret_cast<const __m128i*>(rgb)),
                           _mm_loadu_si128(reinterpret_cast<const __m128i*>(rgb + 16)),
                           _mm_loadu_si128(reinterpret_cast<const __m128i*>(rgb + 32))};
    for (int c = 0; c < 3; ++c) {
      const __m128i v = _mm_or_si128(
          _mm_or_si128(_mm_shuffle_epi8(in[0], m[c][0]), _mm_shuffle_epi8(in[1], m[c][1])),
          _mm_shuffle_epi8(in[2], m[c][2]));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(planes[c] + i), v);
    }
  }
  return i;
}
#endif

}  // namespace

void SplitRgbScalar(const uint8_t* rgb, size_t n, uint8_t* r, uint8_t* g, uint8_t* b) {
  for (size_t x = 0; x < n; ++x, rgb += 3) {
    r[x] = rgb[0];
    g[x] = rgb[1];
    b[x] = rgb[2];
  }
}

void SplitRgb(const uint8_t* rgb, size_t n, uint8_t* r, uint8_t* g, uint8_t* b) {
  size_t done = 0;
#if defined(__SSE2__)
  static const bool ssse3 =
      __builtin_cpu_supports("ssse3") && std::getenv("MASKFEED_PORTABLE_PIXELS") == nullptr;
  if (ssse3) done = SplitRgbSsse3(rgb, n, r, g, b);
#endif
  SplitRgbScalar(rgb + 3 * done, n - done, r + done, g + done, b + done);
}

void TransposeBytes(const uint8_t* in, size_t in_stride, int rows, int cols, uint8_t* out,
                    size_t out_stride) {
  int full_rows = 0, full_cols = 0;
#if defined(__SSE2__)
  full_rows = rows / 16 * 16;
  full_cols = cols / 16 * 16;
  for (int r = 0; r < full_rows; r += 16) {
    for (int c = 0; c < full_cols; c += 16) {
      Transpose16(in + r * in_stride + c, in_stride, out + c * out_stride + r, out_stride);
    }
  }
#endif
  TransposeScalar(in, in_stride, 0, full_rows, full_cols, cols, out, out_stride);
  TransposeScalar(in, in_stride, full_rows, rows, 0, cols, out, out_stride);
}

}  // namespace maskfeed
