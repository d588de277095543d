#include "pipeline/batch/tensor_unpacking.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "pipeline/base/checked_math.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// Index of the first 0 of a mask row, or -1.
int64_t FirstZero(const uint8_t* row, int64_t n) {
  const void* at = std::memchr(row, 0, static_cast<size_t>(n));
  return at == nullptr ? -1 : static_cast<const uint8_t*>(at) - row;
}

int32_t CountZeros(const uint8_t* row, int64_t n) {
  int32_t count = 0;
  for (int64_t c = 0; c < n; ++c) count += row[c] == 0;  // vectorizes
  return count;
}

// rows * row_units * unit_bytes: the bytes a packed (rows, cols) tensor must have. nullopt for
// negative dimensions or a product past 64 bits, which no packed buffer matches: the shape
// comes from the wire (or a C ABI caller), and a product that wrapped could match a tiny
// buffer and let the loops below write far past `out`.
std::optional<uint64_t> PackedBytes(Matrix shape, uint64_t row_units, uint64_t unit_bytes) {
  if (shape.rows < 0 || shape.cols < 0) return std::nullopt;
  const std::optional<uint64_t> per_row = CheckedMul(row_units, unit_bytes);
  if (!per_row) return std::nullopt;
  return CheckedMul(static_cast<uint64_t>(shape.rows), *per_row);
}

}  // namespace

Matrix AsMatrix(const HostTensor& t) {
  if (t.shape.empty()) return {1, 1};
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < t.shape.size(); ++i) rows *= t.shape[i];
  return {rows, t.shape.back()};
}

void CopyUncached(void* dst, const void* src, size_t size) {
  auto* out = static_cast<uint8_t*>(dst);
  const auto* in = static_cast<const uint8_t*>(src);
#if defined(__SSE2__)
  // Up to the first 16-byte boundary and after the last one with ordinary stores.
  const size_t head = std::min(size, (16 - reinterpret_cast<uintptr_t>(out) % 16) % 16);
  std::memcpy(out, in, head);
  size_t i = head;
  for (; i + 16 <= size; i += 16) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
  }
  std::memcpy(out + i, in + i, size - i);
  _mm_sfence();  // the streamed stores are visible before whatever this thread does next
#else
  std::memcpy(out, in, size);
#endif
}

namespace {

// kSpread[b]: byte i is bit i of b.
constexpr std::array<uint64_t, 256> SpreadTable() {
  std::array<uint64_t, 256> table{};
  for (int b = 0; b < 256; ++b) {
    for (int i = 0; i < 8; ++i) table[b] |= uint64_t((b >> i) & 1) << (8 * i);
  }
  return table;
}
constexpr std::array<uint64_t, 256> kSpread = SpreadTable();

// One row of bits into `cols` 0/1 bytes.
void UnpackBitsRow(const uint8_t* row, int64_t cols, uint8_t* dst) {
  int64_t c = 0;
#if defined(__SSE2__)
  // Byte i of a 16-byte block tests bit i % 8 of packed byte i / 8.
  const __m128i select = _mm_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m128i one = _mm_set1_epi8(1);
  for (; c + 16 <= cols; c += 16) {
    uint16_t two;
    std::memcpy(&two, row + (c >> 3), 2);
    __m128i x = _mm_cvtsi32_si128(two);
    x = _mm_unpacklo_epi8(x, x);   // b0 b0 b1 b1
    x = _mm_unpacklo_epi16(x, x);  // b0 x4, b1 x4
    x = _mm_unpacklo_epi32(x, x);  // b0 x8, b1 x8
    const __m128i hit = _mm_cmpeq_epi8(_mm_and_si128(x, select), select);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + c), _mm_and_si128(hit, one));
  }
#endif
  for (; c + 8 <= cols; c += 8) std::memcpy(dst + c, &kSpread[row[c >> 3]], 8);
  for (; c < cols; ++c) dst[c] = (row[c >> 3] >> (c & 7)) & 1;
}

}  // namespace

absl::Status UnpackBits(std::string_view packed, Matrix shape, uint8_t* out) {
  const int64_t row_bytes = BitsRowBytes(shape.cols);
  if (PackedBytes(shape, static_cast<uint64_t>(row_bytes), 1) != packed.size()) {
    return absl::InvalidArgumentError(StrCat("bit-packed mask: ", packed.size(), " bytes for ",
                                             shape.rows, " rows of ", shape.cols));
  }
  const auto* src = reinterpret_cast<const uint8_t*>(packed.data());
  for (int64_t r = 0; r < shape.rows; ++r) {
    UnpackBitsRow(src + r * row_bytes, shape.cols, out + r * shape.cols);
  }
  return absl::OkStatus();
}

absl::Status UnpackUint16(std::string_view packed, Matrix shape, bool int64, void* out) {
  if (PackedBytes(shape, static_cast<uint64_t>(shape.cols), 2) != packed.size()) {
    return absl::InvalidArgumentError(
        StrCat("uint16 ids: ", packed.size(), " bytes for ", shape.rows, " rows of ", shape.cols));
  }
  const int64_t count = shape.rows * shape.cols;  // fits: PackedBytes checked 2x of it
  const auto* src = reinterpret_cast<const uint16_t*>(packed.data());
  int64_t i = 0;
#if defined(__SSE2__)
  // Widened eight at a time and streamed past the cache (see CopyUncached), when `out` is
  // 16-byte aligned as pool buffers are.
  if (reinterpret_cast<uintptr_t>(out) % 16 == 0) {
    const __m128i zero = _mm_setzero_si128();
    auto* dst = static_cast<__m128i*>(out);
    for (; i + 8 <= count; i += 8) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
      const __m128i lo = _mm_unpacklo_epi16(x, zero), hi = _mm_unpackhi_epi16(x, zero);
      if (int64) {
        _mm_stream_si128(dst++, _mm_unpacklo_epi32(lo, zero));
        _mm_stream_si128(dst++, _mm_unpackhi_epi32(lo, zero));
        _mm_stream_si128(dst++, _mm_unpacklo_epi32(hi, zero));
        _mm_stream_si128(dst++, _mm_unpackhi_epi32(hi, zero));
      } else {
        _mm_stream_si128(dst++, lo);
        _mm_stream_si128(dst++, hi);
      }
    }
    _mm_sfence();
  }
#endif
  if (int64) {
    auto* dst = static_cast<int64_t*>(out);
    for (; i < count; ++i) dst[i] = src[i];
  } else {
    auto* dst = static_cast<int32_t*>(out);
    for (; i < count; ++i) dst[i] = src[i];
  }
  return absl::OkStatus();
}

void DeriveTargetCountAtFirst(const uint8_t* target_mask, Matrix shape, int32_t* out) {
  // Row by row, so each row is written once, while it is in cache.
  for (int64_t r = 0; r < shape.rows; ++r) {
    const uint8_t* trow = target_mask + r * shape.cols;
    int32_t* orow = out + r * shape.cols;
    std::memset(orow, 0, static_cast<size_t>(shape.cols) * sizeof(int32_t));
    const int64_t first = FirstZero(trow, shape.cols);
    if (first >= 0) orow[first] = CountZeros(trow, shape.cols);
  }
}

void DeriveTargetIndicator(const uint8_t* target_mask, Matrix shape, int32_t* out) {
  const int64_t count = shape.rows * shape.cols;
  int64_t i = 0;
#if defined(__SSE2__)
  if (reinterpret_cast<uintptr_t>(out) % 16 == 0) {
    const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi8(1);
    auto* dst = reinterpret_cast<__m128i*>(out);
    for (; i + 16 <= count; i += 16) {
      const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(target_mask + i));
      const __m128i bytes = _mm_and_si128(_mm_cmpeq_epi8(t, zero), one);
      const __m128i lo = _mm_unpacklo_epi8(bytes, zero), hi = _mm_unpackhi_epi8(bytes, zero);
      _mm_stream_si128(dst++, _mm_unpacklo_epi16(lo, zero));
      _mm_stream_si128(dst++, _mm_unpackhi_epi16(lo, zero));
      _mm_stream_si128(dst++, _mm_unpacklo_epi16(hi, zero));
      _mm_stream_si128(dst++, _mm_unpackhi_epi16(hi, zero));
    }
    _mm_sfence();
  }
#endif
  for (; i < count; ++i) out[i] = target_mask[i] == 0;
}

}  // namespace maskfeed
