// Compact forms of batch tensors for the wire (feed.proto's Packing): 0/1 masks as bits,
// token ids as uint16 when they fit, and decoder attention values left out when they follow
// from the target mask by 4M's rule. Packing is exact and checked: a tensor takes a form only
// when every one of its rows allows it, and travels plain otherwise. Unpack* rebuild the
// plain bytes; clients call them through ExpandBatch.
#ifndef MASKFEED_PIPELINE_BATCH_TENSOR_PACKING_H_
#define MASKFEED_PIPELINE_BATCH_TENSOR_PACKING_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "pipeline/batch/batch.h"
#include "pipeline/masking/masker.h"

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
// The target mask row packed as PackBitsRow packs it, and which of 4M's rules the row's
// decoder attention values follow (`attention` may be null: no rule is checked), in one pass:
// `indicator`, 1 where the target mask is 0 and 0 elsewhere; `count_at_first`, 0 everywhere
// but at the first 0 of the target mask, which holds the number of its 0s. The rules hold
// only for rows whose target mask `bits` fit.
struct TargetRowFit {
  bool bits = false, indicator = false, count_at_first = false;
};
TargetRowFit PackTargetRow(const uint8_t* target_mask, const int32_t* attention, int64_t cols,
                           uint8_t* out);

// Packing while a batch is built, row by row: BeginPacking allocates m->packed of every
// modality from `pool`; PackRow packs one row from `src` (the row as the masker wrote it, in
// a scratch row outside the batch) and records which forms fit it; FinishPacking
// settles each tensor's form. Every tensor ends in one form: a packed tensor's plain buffer
// is released; a tensor that some row keeps plain has all its rows in the plain buffer (rows
// that packed are rebuilt from their packed form). Rows may be packed concurrently.
struct PackingState {
  // Per modality, per row: bit i set = form i of the row's tensors fits (see .cc).
  std::vector<std::vector<uint8_t>> row_fits;
};
void BeginPacking(Batch* batch, BufferPool* pool, PackingState* state);
void PackRow(Batch* batch, int64_t row, const std::vector<ModalityRow>& src, PackingState* state);
void FinishPacking(Batch* batch, const PackingState& state);

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

#endif  // MASKFEED_PIPELINE_BATCH_TENSOR_PACKING_H_
