#include "pipeline/image/byte_transpose.h"

#include <algorithm>

#if defined(__SSE2__)
#include <emmintrin.h>
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
#endif

}  // namespace

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
