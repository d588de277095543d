// Arithmetic on sizes, counts and offsets read from files or requests: every product, sum and
// decimal number built from untrusted input goes through these, so a crafted header cannot
// wrap 64 bits (or overflow a signed type) into a small, plausible size.
//
//   std::optional<uint64_t> bytes = CheckedMul(elements, item_size);
//   if (!bytes || *bytes > available) return DataLossError(...);
#ifndef MASKFEED_PIPELINE_BASE_CHECKED_MATH_H_
#define MASKFEED_PIPELINE_BASE_CHECKED_MATH_H_

#include <cstdint>
#include <optional>

namespace maskfeed {

// a * b, or nullopt when it does not fit in 64 bits.
inline std::optional<uint64_t> CheckedMul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// a + b, or nullopt when it does not fit in 64 bits.
inline std::optional<uint64_t> CheckedAdd(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// value * 10 + digit (a decimal number read one digit at a time), or nullopt past 2^64 - 1.
// Requires: 0 <= digit <= 9.
inline std::optional<uint64_t> CheckedDecimalDigit(uint64_t value, int digit) {
  std::optional<uint64_t> shifted = CheckedMul(value, 10);
  if (!shifted) return std::nullopt;
  return CheckedAdd(*shifted, static_cast<uint64_t>(digit));
}

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_CHECKED_MATH_H_
