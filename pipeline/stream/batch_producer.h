// Builds the batches of one stream: batch k of rank r reads the samples at its positions
// (SampleOrder), reads only the modalities its masking plan needs — each through its
// modality's reader (modality_reader.h), whatever its kind — masks each row with the row's
// own generator, and writes it into the batch. Rows are spread over the TBB arena; each row
// is a pure function of its position, so the bytes do not depend on the thread count.
#ifndef MASKFEED_PIPELINE_STREAM_BATCH_PRODUCER_H_
#define MASKFEED_PIPELINE_STREAM_BATCH_PRODUCER_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "oneapi/tbb/enumerable_thread_specific.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/collate/collator.h"
#include "pipeline/order/mixture_order.h"
#include "pipeline/stream/stream_metrics.h"
#include "pipeline/stream/stream_source.h"

namespace maskfeed {

enum class CorruptRecordPolicy {
  kFail,  // end the stream with DATA_LOSS naming the file and record
  kSkip,  // mask the sample out entirely (its row ignores everything), count and log it
};

struct ProducerOptions {
  uint32_t batch_size = 0;
  uint32_t rank = 0;
  uint32_t world_size = 1;
  LayoutStart layout;  // where this rank layout begins (sample_order.h)
  // Positions from this one on hold no sample: their rows are padding (every mask 1), or with
  // partial_last are left out of the batch. 0 = none.
  uint64_t end_position = 0;
  bool partial_last = false;
  uint64_t seed = 0;
  CorruptRecordPolicy on_corrupt = CorruptRecordPolicy::kFail;
  bool int64_tokens = false;
  // Build each tensor in its compact wire form (ModalityBatch::packed) where every row
  // allows one: rows are masked into a scratch row and packed from it; a packed tensor's
  // plain buffer is released (see FinishPacking).
  bool pack_for_wire = false;
  // Batches' worth of buffers the producer's pool may hold, handed out and cached together
  // (BufferPool's budget): the most batches its stream has alive at once.
  uint32_t pooled_batches = 4;
  // Called on the worker before each row is produced, with the batch index and the row: the
  // seam through which tests inject faults (an exception thrown here must reach the stream's
  // consumer as a status). Empty in production.
  std::function<void(uint64_t batch, uint32_t row)> row_hook;
};

class BatchProducer {
 public:
  // Requires: options validated (see StreamOptions) and `order` made for this mixture.
  BatchProducer(std::shared_ptr<const MixtureSource> source, MixtureOrder order,
                const ProducerOptions& options, tbb::task_arena* arena,
                std::shared_ptr<StreamMetrics> metrics);

  // The budget of the producer's buffer pool: pooled_batches batches of `spec` as `options`
  // lays them out. The pool holds no more unless its consumer holds more batches than that.
  static size_t BufferBudget(const MaskingSpec& spec, const ProducerOptions& options);

  // Batch `index` of this rank. Errors name file and record (DATA_LOSS) under kFail.
  absl::StatusOr<Batch> Produce(uint64_t index);
  // Rows of batch `index` that hold a sample (batch_size unless end_position cuts it).
  uint32_t SampleRows(uint64_t index) const;
  // Bytes of batch buffers alive: handed out (in batches queued, being built or held by the
  // consumer) and cached for reuse.
  size_t buffer_bytes() const { return buffers_->in_use_bytes() + buffers_->cached_bytes(); }

 private:
  // A row planned but not yet masked: its sample and generator, what its readers share
  // (RowState: location, plan, crop), and what they read into.
  struct PlannedRow {
    uint32_t dataset = 0;
    SampleView view;
    Rng rng{0};
    RowState state;
    bool geometry = false;              // a budgeted reader needs the crop geometry
    std::vector<ModalitySlot> slots;    // per modality of the sample's dataset
    std::vector<const Record*> inputs;  // what the masker reads (slots[m].input)
    absl::Status read;                  // how reading and building went
  };

  struct RowScratch {
    MaskScratch mask;
    std::vector<PlannedRow> planned;
    ReaderScratch readers;
    std::vector<std::byte> scratch_row;  // a row's plain values, when packing for the wire
    std::vector<ModalityRow> row;        // every modality of the batch, or of scratch_row
    std::vector<ModalityRow> local;      // the sample's dataset's modalities
  };

  // Phase locate: finds row `row`'s sample and generator; its readers prefetch index entries.
  void LocateRow(Batch& batch, uint64_t index, uint32_t row, PlannedRow* planned) const;
  // Phase plan: draws the row's plan; the readers with a budget prefetch their records.
  void PlanRow(PlannedRow* planned, RowScratch* scratch) const;
  // Phase read: the readers with a budget read, then build (after the crop geometry when one
  // needs it); the outcome goes to planned->read.
  void ReadRow(PlannedRow* planned, RowScratch* scratch) const;
  // A row past end_position: every modality a fully masked placeholder.
  void PadRow(Batch& batch, uint32_t row, RowScratch* scratch);
  // Phase mask: the readers fill what the masker does not write, then the masker writes the
  // row into the batch (or the row is skipped, by the policy).
  absl::Status ProduceRow(Batch& batch, uint64_t index, uint32_t row, PlannedRow* planned,
                          RowScratch* scratch);

  std::shared_ptr<const MixtureSource> source_;
  ProducerOptions options_;
  MixtureOrder order_;
  Collator collator_;
  tbb::task_arena* arena_;
  std::shared_ptr<StreamMetrics> metrics_;
  std::shared_ptr<BufferPool> buffers_;  // recycles the tensors of delivered batches
  tbb::enumerable_thread_specific<RowScratch> scratch_;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STREAM_BATCH_PRODUCER_H_
