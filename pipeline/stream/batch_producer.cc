#include "pipeline/stream/batch_producer.h"

#include <cstdio>

#include "oneapi/tbb/parallel_for.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// Rows per task: enough work to amortise scheduling, small enough to balance two cores.
constexpr size_t kRowsPerTask = 8;

}  // namespace

BatchProducer::BatchProducer(std::shared_ptr<const StreamSource> source,
                             const ProducerOptions& options, tbb::task_arena* arena,
                             std::shared_ptr<StreamMetrics> metrics)
    : source_(std::move(source)),
      options_(options),
      order_([&] {
        OrderOptions o = options.order;
        o.num_samples = source_->dataset().num_samples();
        return o;
      }()),
      collator_(source_->spec(), CollatorOptions{.int64_tokens = options.int64_tokens}),
      arena_(arena),
      metrics_(std::move(metrics)) {}

absl::StatusOr<Batch> BatchProducer::Produce(uint64_t index) {
  Batch batch = collator_.Allocate(options_.batch_size);
  batch.samples.resize(options_.batch_size);
  std::vector<absl::Status> errors(options_.batch_size);
  auto rows = [&](const tbb::blocked_range<uint32_t>& range) {
    RowScratch& scratch = scratch_.local();
    // Plan every row of the range first and prefetch what they will read, so the reads of
    // randomly placed records overlap their memory latency instead of paying it one by one.
    scratch.planned.resize(range.size());
    for (uint32_t r = range.begin(); r != range.end(); ++r) {
      PlanRow(batch, index, r, &scratch.planned[r - range.begin()], &scratch);
    }
    for (uint32_t r = range.begin(); r != range.end(); ++r) {
      errors[r] = ProduceRow(batch, index, r, &scratch.planned[r - range.begin()], &scratch);
    }
  };
  arena_->execute([&] {
    tbb::parallel_for(tbb::blocked_range<uint32_t>(0, options_.batch_size, kRowsPerTask), rows,
                      tbb::simple_partitioner());
  });
  for (const absl::Status& s : errors) {  // the first failing row, whatever the threads did
    if (!s.ok()) return s;
  }
  collator_.Finish(&batch);
  return batch;
}

void BatchProducer::PlanRow(Batch& batch, uint64_t index, uint32_t row, PlannedRow* p,
                            RowScratch* s) const {
  const Dataset& dataset = source_->dataset();
  const uint64_t position =
      StreamPosition(index, options_.rank, options_.world_size, options_.batch_size, row);
  p->view = order_.At(position);
  batch.samples[row] = p->view.sample;
  p->rng = Rng::ForSample(options_.seed, p->view.epoch, p->view.slot, p->view.repeat);
  source_->masker().Plan(p->rng, dataset.NumCropVariants(p->view.sample), &p->plan, &s->mask);
  for (size_t m = 0; m < source_->spec().modalities.size(); ++m) {
    if (p->plan.Needs(m)) dataset.Prefetch(source_->dataset_modality(m), p->view.sample);
  }
}

absl::Status BatchProducer::ProduceRow(Batch& batch, uint64_t index, uint32_t row, PlannedRow* p,
                                       RowScratch* s) {
  const MaskingSpec& spec = source_->spec();
  const Dataset& dataset = source_->dataset();
  const Masker& masker = source_->masker();
  const size_t k = spec.modalities.size();
  const SampleView& view = p->view;
  Rng& rng = p->rng;
  collator_.RowOf(batch, row, &s->row);
  s->records.resize(k);
  s->pointers.assign(k, nullptr);
  absl::Status status;
  for (size_t m = 0; m < k && status.ok(); ++m) {
    if (!p->plan.Needs(m)) continue;  // not read at all
    status = dataset.Read(source_->dataset_modality(m), view.sample, &s->records[m]);
    s->pointers[m] = &s->records[m];
  }
  if (status.ok()) {
    status = masker.Apply(p->plan, s->pointers, rng, s->row, &s->mask);
    if (!status.ok()) {  // the masker names the modality; add where the sample lives
      const Dataset::Location loc = dataset.Locate(view.sample);
      status = absl::Status(status.code(), StrCat(dataset.root(), ": shard ", loc.shard, " record ",
                                                  loc.record, " (key ", dataset.key(view.sample),
                                                  "): ", ToStd(status.message())));
    }
  }
  if (!status.ok()) {
    if (options_.on_corrupt != CorruptRecordPolicy::kSkip ||
        status.code() != absl::StatusCode::kDataLoss) {
      return status;
    }
    for (size_t m = 0; m < k; ++m) masker.WriteMasked(m, s->row[m]);
    if (metrics_) ++metrics_->skipped_records;
    std::fprintf(stderr, "maskfeed: skipped sample %llu (batch %llu row %u): %s\n",
                 static_cast<unsigned long long>(view.sample),
                 static_cast<unsigned long long>(index), row,
                 std::string(ToStd(status.message())).c_str());
    return absl::OkStatus();
  }
  if (metrics_) {
    for (size_t m = 0; m < k; ++m) {
      metrics_->input_tokens[m] += static_cast<uint64_t>(std::max(0, p->plan.input_budget[m]));
      metrics_->target_tokens[m] += static_cast<uint64_t>(std::max(0, p->plan.target_budget[m]));
    }
  }
  return absl::OkStatus();
}

}  // namespace maskfeed
