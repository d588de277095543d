// Compact forms of batch tensors for the wire (feed.proto's Packing): 0/1 masks as bits,
// token ids as uint16 when they fit, and decoder attention values left out when they follow
// from the target mask by 4M's rule. Packing is exact and checked: a Pack* function returns
// nullopt (and the tensor travels plain) unless every value allows it. Unpack* rebuild the
// plain bytes; clients call them through ExpandBatch.
#ifndef MASKFEED_PIPELINE_BATCH_TENSOR_PACKING_H_
#define MASKFEED_PIPELINE_BATCH_TENSOR_PACKING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "pipeline/batch/batch.h"

namespace maskfeed {

// Rows and columns of a tensor seen as (product of leading dims, last dim).
struct Matrix {
  int64_t rows = 0, cols = 0;
};
Matrix AsMatrix(const HostTensor& t);

// One row at a time (what producers call on each row right after masking it, while it is in
// cache). Each returns whether the row's values allow the form; `out` holds the packed row
// when they do: ceil(cols / 8) bytes for bits, `cols` uint16 for ids.
bool PackBitsRow(const uint8_t* row, int64_t cols, uint8_t* out);
bool PackUint16Row(const int32_t* row, int64_t cols, uint16_t* out);
bool RowFollowsTargetCountAtFirst(const int32_t* attention, const uint8_t* target_mask,
                                  int64_t cols);
bool RowFollowsTargetIndicator(const int32_t* attention, const uint8_t* target_mask, int64_t cols);

// Packs rows [begin, end) of every tensor of `m` into m->packed (allocated from `pool` for the
// whole batch on first use by BeginPacking) and records per row whether each form fits.
// BeginPacking before the rows, FinishPacking after all of them (it settles each tensor's
// form). Rows may be packed concurrently.
struct PackingState {
  // Per modality, per row: bit i set = form i of the row's tensors fits (see .cc).
  std::vector<std::vector<uint8_t>> row_fits;
};
void BeginPacking(Batch* batch, BufferPool* pool, PackingState* state);
void PackRow(Batch* batch, int64_t row, PackingState* state);
void FinishPacking(Batch* batch, const PackingState& state);

// A uint8 tensor of 0s and 1s, each row in ceil(cols / 8) bytes, least significant bit first.
std::optional<std::string> PackBits(const HostTensor& mask);
// An int32 / int64 tensor whose values all lie in 0..65535, as uint16.
std::optional<std::string> PackUint16(const HostTensor& ids);
// Whether int32 `attention` equals the rule of Packing::kTargetCountAtFirst (images) or
// kTargetIndicator (sequences) applied to the uint8 `target_mask` of the same shape.
bool FollowsTargetCountAtFirst(const HostTensor& attention, const HostTensor& target_mask);
bool FollowsTargetIndicator(const HostTensor& attention, const HostTensor& target_mask);

// Inverses, writing the plain tensor into `out` (`rows * cols` elements of the plain dtype).
// INVALID_ARGUMENT when `packed` has the wrong size for the shape.
absl::Status UnpackBits(std::string_view packed, Matrix shape, uint8_t* out);
absl::Status UnpackUint16(std::string_view packed, Matrix shape, bool int64, void* out);
void DeriveTargetCountAtFirst(const uint8_t* target_mask, Matrix shape, int32_t* out);
void DeriveTargetIndicator(const uint8_t* target_mask, Matrix shape, int32_t* out);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BATCH_TENSOR_PACKING_H_
