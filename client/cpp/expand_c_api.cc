// A C ABI over the packed-wire expansion of pipeline/batch/tensor_unpacking.h, for the Python
// client's ctypes binding (client/python/maskfeed/_native.py): numpy's version of the same
// expansion costs the Python client several times the C++ client's time per batch. Each call
// expands one tensor (rows x cols) into memory the caller owns. Returns 0, or -1 when
// `packed_bytes` does not fit the shape.
#include <cstdint>
#include <string_view>

#include "pipeline/batch/tensor_unpacking.h"

namespace {

std::string_view Bytes(const void* data, int64_t size) {
  return {static_cast<const char*>(data), static_cast<size_t>(size)};
}

}  // namespace

extern "C" {

int maskfeed_unpack_bits(const void* packed, int64_t packed_bytes, int64_t rows, int64_t cols,
                         uint8_t* out) {
  return maskfeed::UnpackBits(Bytes(packed, packed_bytes), {rows, cols}, out).ok() ? 0 : -1;
}

int maskfeed_unpack_uint16(const void* packed, int64_t packed_bytes, int64_t rows, int64_t cols,
                           int int64, void* out) {
  return maskfeed::UnpackUint16(Bytes(packed, packed_bytes), {rows, cols}, int64 != 0, out).ok()
             ? 0
             : -1;
}

void maskfeed_derive_target_indicator(const uint8_t* target_mask, int64_t rows, int64_t cols,
                                      int32_t* out) {
  maskfeed::DeriveTargetIndicator(target_mask, {rows, cols}, out);
}

void maskfeed_derive_target_count_at_first(const uint8_t* target_mask, int64_t rows, int64_t cols,
                                           int32_t* out) {
  maskfeed::DeriveTargetCountAtFirst(target_mask, {rows, cols}, out);
}

}  // extern "C"
