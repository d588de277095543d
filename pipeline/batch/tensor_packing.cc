#include "pipeline/batch/tensor_packing.h"

#include <array>
#include <cstring>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// Eight 0/1 bytes: only their low bits may be set. Multiplying by kGatherLowBits moves the
// low bit of byte i to bit 56 + i.
constexpr uint64_t kLowBits = 0x0101010101010101ull;
constexpr uint64_t kGatherLowBits = 0x0102040810204080ull;

int64_t BytesPerRow(int64_t cols) { return (cols + 7) / 8; }

// Index of the first 0 of a mask row, or -1.
int64_t FirstZero(const uint8_t* row, int64_t n) {
  const void* at = std::memchr(row, 0, static_cast<size_t>(n));
  return at == nullptr ? -1 : static_cast<const uint8_t*>(at) - row;
}

// int32 attention values and a uint8 target mask of the same shape.
bool IsAttentionMaskPair(const HostTensor& attention, const HostTensor& target_mask) {
  return attention.dtype == DType::kInt32 && target_mask.dtype == DType::kUInt8 &&
         attention.shape == target_mask.shape;
}

int32_t CountZeros(const uint8_t* row, int64_t n) {
  int32_t count = 0;
  for (int64_t c = 0; c < n; ++c) count += row[c] == 0;  // vectorizes
  return count;
}

template <typename T>
std::optional<std::string> NarrowIds(const T* ids, int64_t count) {
  std::string out(static_cast<size_t>(count) * 2, '\0');
  auto* dst = reinterpret_cast<uint16_t*>(out.data());
  T bad = 0;
  for (int64_t i = 0; i < count; ++i) {
    // Out-of-range values leave a mark in `bad` instead of a branch in the loop.
    bad |= ids[i] & ~T{0xFFFF};
    dst[i] = static_cast<uint16_t>(ids[i]);
  }
  if (bad != 0) return std::nullopt;
  return out;
}

}  // namespace

Matrix AsMatrix(const HostTensor& t) {
  if (t.shape.empty()) return {1, 1};
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < t.shape.size(); ++i) rows *= t.shape[i];
  return {rows, t.shape.back()};
}

std::optional<std::string> PackBits(const HostTensor& mask) {
  if (mask.dtype != DType::kUInt8) return std::nullopt;
  const Matrix m = AsMatrix(mask);
  const int64_t row_bytes = BytesPerRow(m.cols);
  std::string out(static_cast<size_t>(m.rows * row_bytes), '\0');
  const uint8_t* src = mask.as<uint8_t>();
  uint64_t bad = 0;
  for (int64_t r = 0; r < m.rows; ++r) {
    const uint8_t* row = src + r * m.cols;
    auto* dst = reinterpret_cast<uint8_t*>(out.data()) + r * row_bytes;
    int64_t c = 0;
    for (; c + 8 <= m.cols; c += 8) {
      uint64_t x;
      std::memcpy(&x, row + c, 8);
      bad |= x & ~kLowBits;
      // Byte i's low bit lands on bit 56 + i, with no carries between the partial products.
      dst[c >> 3] = static_cast<uint8_t>((x * kGatherLowBits) >> 56);
    }
    for (; c < m.cols; ++c) {
      bad |= row[c] & 0xFE;
      dst[c >> 3] |= static_cast<uint8_t>((row[c] & 1) << (c & 7));
    }
  }
  if (bad != 0) return std::nullopt;
  return out;
}

std::optional<std::string> PackUint16(const HostTensor& ids) {
  const Matrix m = AsMatrix(ids);
  if (ids.dtype == DType::kInt32) return NarrowIds(ids.as<int32_t>(), m.rows * m.cols);
  if (ids.dtype == DType::kInt64) return NarrowIds(ids.as<int64_t>(), m.rows * m.cols);
  return std::nullopt;
}

bool FollowsTargetCountAtFirst(const HostTensor& attention, const HostTensor& target_mask) {
  if (!IsAttentionMaskPair(attention, target_mask)) return false;
  const Matrix m = AsMatrix(attention);
  const int32_t* a = attention.as<int32_t>();
  const uint8_t* t = target_mask.as<uint8_t>();
  for (int64_t r = 0; r < m.rows; ++r) {
    const int32_t* arow = a + r * m.cols;
    const uint8_t* trow = t + r * m.cols;
    const int64_t first = FirstZero(trow, m.cols);
    int32_t others = 0;
    for (int64_t c = 0; c < m.cols; ++c) others |= c == first ? 0 : arow[c];
    if (others != 0) return false;
    if (first >= 0 && arow[first] != CountZeros(trow, m.cols)) return false;
  }
  return true;
}

bool FollowsTargetIndicator(const HostTensor& attention, const HostTensor& target_mask) {
  if (!IsAttentionMaskPair(attention, target_mask)) return false;
  const Matrix m = AsMatrix(attention);
  const int32_t* a = attention.as<int32_t>();
  const uint8_t* t = target_mask.as<uint8_t>();
  for (int64_t r = 0; r < m.rows; ++r) {  // a row at a time, to give up early
    int32_t diff = 0;
    for (int64_t c = r * m.cols; c < (r + 1) * m.cols; ++c) {
      diff |= a[c] ^ static_cast<int32_t>(t[c] == 0);
    }
    if (diff != 0) return false;
  }
  return true;
}

absl::Status UnpackBits(std::string_view packed, Matrix shape, uint8_t* out) {
  const int64_t row_bytes = BytesPerRow(shape.cols);
  if (static_cast<int64_t>(packed.size()) != shape.rows * row_bytes) {
    return absl::InvalidArgumentError(StrCat("bit-packed mask: ", packed.size(),
                                             " bytes for ", shape.rows, " rows of ", shape.cols));
  }
  static const std::array<uint64_t, 256> kSpread = [] {
    std::array<uint64_t, 256> table{};
    for (int b = 0; b < 256; ++b) {
      for (int i = 0; i < 8; ++i) table[b] |= uint64_t((b >> i) & 1) << (8 * i);
    }
    return table;
  }();
  const auto* src = reinterpret_cast<const uint8_t*>(packed.data());
  for (int64_t r = 0; r < shape.rows; ++r) {
    const uint8_t* row = src + r * row_bytes;
    uint8_t* dst = out + r * shape.cols;
    int64_t c = 0;
    for (; c + 8 <= shape.cols; c += 8) std::memcpy(dst + c, &kSpread[row[c >> 3]], 8);
    for (; c < shape.cols; ++c) dst[c] = (row[c >> 3] >> (c & 7)) & 1;
  }
  return absl::OkStatus();
}

absl::Status UnpackUint16(std::string_view packed, Matrix shape, bool int64, void* out) {
  const int64_t count = shape.rows * shape.cols;
  if (static_cast<int64_t>(packed.size()) != count * 2) {
    return absl::InvalidArgumentError(
        StrCat("uint16 ids: ", packed.size(), " bytes for ", count, " values"));
  }
  const auto* src = reinterpret_cast<const uint16_t*>(packed.data());
  if (int64) {
    auto* dst = static_cast<int64_t*>(out);
    for (int64_t i = 0; i < count; ++i) dst[i] = src[i];
  } else {
    auto* dst = static_cast<int32_t*>(out);
    for (int64_t i = 0; i < count; ++i) dst[i] = src[i];
  }
  return absl::OkStatus();
}

void DeriveTargetCountAtFirst(const uint8_t* target_mask, Matrix shape, int32_t* out) {
  std::memset(out, 0, static_cast<size_t>(shape.rows * shape.cols) * sizeof(int32_t));
  for (int64_t r = 0; r < shape.rows; ++r) {
    const uint8_t* trow = target_mask + r * shape.cols;
    const int64_t first = FirstZero(trow, shape.cols);
    if (first >= 0) out[r * shape.cols + first] = CountZeros(trow, shape.cols);
  }
}

void DeriveTargetIndicator(const uint8_t* target_mask, Matrix shape, int32_t* out) {
  for (int64_t i = 0; i < shape.rows * shape.cols; ++i) out[i] = target_mask[i] == 0;
}

}  // namespace maskfeed
