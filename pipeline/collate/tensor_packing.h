// Compact forms of batch tensors for the wire (feed.proto's Packing): 0/1 masks as bits,
// token ids as uint16 when they fit, and decoder attention values left out when they follow
// from the target mask by 4M's rule. Packing is exact and checked: a tensor takes a form only
// when every one of its rows allows it, and travels plain otherwise. Unpack* rebuild the
// plain bytes (pipeline/batch/tensor_unpacking.h, which clients link).
#ifndef MASKFEED_PIPELINE_COLLATE_TENSOR_PACKING_H_
#define MASKFEED_PIPELINE_COLLATE_TENSOR_PACKING_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "pipeline/batch/batch.h"
#include "pipeline/batch/tensor_unpacking.h"
#include "pipeline/masking/masker.h"

namespace maskfeed {

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

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_COLLATE_TENSOR_PACKING_H_
