// The client's side of the packed wire forms (feed.proto's Packing, made by
// pipeline/collate/tensor_packing.h): bits back into 0/1 mask bytes, uint16 ids back into
// int32/int64, and decoder attention values derived from the target mask by 4M's rules.
// Depends on nothing but the batch layout, so a trainer's client links it without the
// pipeline.
#ifndef MASKFEED_PIPELINE_BATCH_TENSOR_UNPACKING_H_
#define MASKFEED_PIPELINE_BATCH_TENSOR_UNPACKING_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "pipeline/batch/batch.h"

namespace maskfeed {

// Rows and columns of a tensor seen as (product of leading dims, last dim).
struct Matrix {
  int64_t rows = 0, cols = 0;
};
Matrix AsMatrix(const HostTensor& t);

// Bytes of one row of `cols` mask values packed as bits.
inline int64_t BitsRowBytes(int64_t cols) { return (cols + 7) / 8; }

// Inverses, writing the plain tensor into `out` (`rows * cols` elements of the plain dtype).
// INVALID_ARGUMENT when `packed` has the wrong size for the shape. Ids and indicators (4 or 8
// bytes per value, most of an expanded batch) are written around the cache as CopyUncached
// writes; masks, which the attention rules read back, through it.
absl::Status UnpackBits(std::string_view packed, Matrix shape, uint8_t* out);
absl::Status UnpackUint16(std::string_view packed, Matrix shape, bool int64, void* out);
void DeriveTargetCountAtFirst(const uint8_t* target_mask, Matrix shape, int32_t* out);
void DeriveTargetIndicator(const uint8_t* target_mask, Matrix shape, int32_t* out);

// memcpy with non-temporal stores: the bytes go to memory without first reading each line
// into the cache, and without evicting what the cache holds. For large outputs that this
// thread will not read again, such as a batch expanded for its consumer: an expanded batch
// is larger than the cache, and writing it through the cache costs both the client and the
// server beside it (measured: bench/transport_efficiency.sh, README).
void CopyUncached(void* dst, const void* src, size_t size);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BATCH_TENSOR_UNPACKING_H_
