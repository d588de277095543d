// Collation: lays out a Batch for a masking config and hands the masker each sample's row of
// every tensor, so masked samples are written once, straight into their final buffer.
//
//   Collator collator(spec, options);
//   Batch batch = collator.Allocate(128);
//   for (int i = 0; i < 128; ++i) {
//     collator.RowOf(batch, i, &row);   // one ModalityRow per modality
//     masker.Apply(plan, records, rng, row, &scratch);
//   }
//   collator.Finish(&batch);            // widens token ids when int64 was asked for
#ifndef MASKFEED_PIPELINE_COLLATE_COLLATOR_H_
#define MASKFEED_PIPELINE_COLLATE_COLLATOR_H_

#include <vector>

#include "pipeline/batch/batch.h"
#include "pipeline/masking/masker.h"
#include "pipeline/masking/masking_config.h"

namespace maskfeed {

struct CollatorOptions {
  // Token ids as int64 instead of int32 (int32 by default, int64 on request:
  // docs/masking.md#the-batch).
  bool int64_tokens = false;
};

class Collator {
 public:
  Collator(const MaskingSpec& spec, CollatorOptions options);

  // A batch of `batch_size` rows with every tensor allocated (contents unspecified until
  // every row is masked), from `pool` when given. Requires: batch_size > 0.
  Batch Allocate(int64_t batch_size, BufferPool* pool = nullptr) const;

  // Pointers to row `row` of each modality's tensors.
  void RowOf(Batch& batch, int64_t row, std::vector<ModalityRow>* out) const;
  // Pointers to one row of each modality's tensors laid out in `storage` (resized to fit):
  // a scratch row that stays in cache, for rows that are packed rather than kept plain.
  void ScratchRowOf(std::vector<std::byte>* storage, std::vector<ModalityRow>* out) const;

  // Completes a batch whose rows are all written.
  void Finish(Batch* batch) const;

  // Bytes of one sample's row across all tensors (before int64 widening).
  size_t RowBytes() const;

 private:
  const MaskingSpec& spec_;
  CollatorOptions options_;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_COLLATE_COLLATOR_H_
