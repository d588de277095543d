#include "pipeline/stream/batch_producer.h"

#include <algorithm>
#include <cstring>

#include "oneapi/tbb/parallel_for.h"
#include "pipeline/base/log.h"
#include "pipeline/base/splitmix64.h"
#include "pipeline/base/strings.h"
#include "pipeline/collate/tensor_packing.h"

namespace maskfeed {
namespace {

// Rows per task: enough work to amortise scheduling, small enough to balance two cores.
constexpr size_t kRowsPerTask = 8;

// Separates the generators of what readers build (text) from those of masking (same sample
// tuple).
constexpr uint64_t kReaderSeedSalt = 0x7465787462756c64;  // "textbuld"

}  // namespace

BatchProducer::BatchProducer(std::shared_ptr<const MixtureSource> source, MixtureOrder order,
                             const ProducerOptions& options, tbb::task_arena* arena,
                             std::shared_ptr<StreamMetrics> metrics)
    : source_(std::move(source)),
      options_(options),
      order_(std::move(order)),
      collator_(source_->spec(), CollatorOptions{.int64_tokens = options.int64_tokens}),
      arena_(arena),
      metrics_(std::move(metrics)),
      buffers_(BufferPool::Create(BufferBudget(source_->spec(), options))) {}

size_t BatchProducer::BufferBudget(const MaskingSpec& spec, const ProducerOptions& options) {
  // The batches a stream holds at once (queued or being built, and the consumer's), at a
  // generous row size (int64 doubles the masks too); a packed batch briefly holds its plain
  // buffers beside its packed ones (a quarter more).
  const size_t row = Collator(spec, {}).RowBytes() * (options.int64_tokens ? 2 : 1);
  return size_t{std::max<uint32_t>(1, options.pooled_batches)} * options.batch_size * row *
         (options.pack_for_wire ? 5 : 4) / 4;
}

uint32_t BatchProducer::SampleRows(uint64_t index) const {
  if (options_.end_position == 0) return options_.batch_size;
  const uint64_t first =
      options_.layout.Position(index, options_.rank, options_.world_size, options_.batch_size, 0);
  if (first >= options_.end_position) return 0;
  return static_cast<uint32_t>(
      std::min<uint64_t>(options_.batch_size, options_.end_position - first));
}

absl::StatusOr<Batch> BatchProducer::Produce(uint64_t index) {
  const uint32_t with_sample = SampleRows(index);
  const uint32_t rows_in_batch = options_.partial_last ? with_sample : options_.batch_size;
  Batch batch = collator_.Allocate(rows_in_batch, buffers_.get());
  batch.samples.resize(rows_in_batch);
  batch.datasets.resize(rows_in_batch);
  batch.padding_rows = rows_in_batch - with_sample;
  for (size_t d = 0; d < source_->num_datasets(); ++d) {
    batch.dataset_names.push_back(source_->entry(d).name);
  }
  std::vector<absl::Status> errors(rows_in_batch);
  PackingState packing;
  if (options_.pack_for_wire) BeginPacking(&batch, buffers_.get(), &packing);
  auto rows = [&](const tbb::blocked_range<uint32_t>& range) {
    RowScratch& scratch = scratch_.local();
    const uint32_t first = range.begin();
    // Rows past the last sample (evaluation passes) are padding; the others go through the
    // phases below.
    const uint32_t n = static_cast<uint32_t>(
        std::min<uint32_t>(range.end(), std::max(first, with_sample)) - first);
    scratch.planned.resize(n);
    // In phases over the task's rows, so that each row's reads of randomly placed memory are
    // in flight while earlier rows are worked on, and each phase's tables stay in cache: every
    // row's sample is located and its index entries prefetched; then each row is planned (its
    // records prefetched); then read, raw text built into ids (the tokenizer's tables); then
    // masked (the masker's).
    for (uint32_t i = 0; i < n; ++i) LocateRow(batch, index, first + i, &scratch.planned[i]);
    for (uint32_t i = 0; i < n; ++i) PlanRow(&scratch.planned[i], &scratch);
    for (uint32_t i = 0; i < n; ++i) ReadRow(&scratch.planned[i], &scratch);
    for (uint32_t i = 0; i < n; ++i) {
      if (options_.row_hook) options_.row_hook(index, first + i);
      errors[first + i] = ProduceRow(batch, index, first + i, &scratch.planned[i], &scratch);
      if (options_.pack_for_wire) PackRow(&batch, first + i, scratch.row, &packing);
    }
    for (uint32_t row = first + n; row < range.end(); ++row) {
      PadRow(batch, row, &scratch);
      if (options_.pack_for_wire) PackRow(&batch, row, scratch.row, &packing);
    }
  };
  arena_->execute([&] {
    tbb::parallel_for(tbb::blocked_range<uint32_t>(0, rows_in_batch, kRowsPerTask), rows,
                      tbb::simple_partitioner());
  });
  for (const absl::Status& s : errors) {  // the first failing row, whatever the threads did
    if (!s.ok()) return s;
  }
  if (options_.pack_for_wire) FinishPacking(&batch, packing);
  collator_.Finish(&batch);
  return batch;
}

void BatchProducer::PadRow(Batch& batch, uint32_t row, RowScratch* s) {
  if (options_.pack_for_wire) {
    if (s->scratch_row.empty()) collator_.ScratchRowOf(&s->scratch_row, &s->row);
  } else {
    collator_.RowOf(batch, row, &s->row);
  }
  for (size_t g = 0; g < s->row.size(); ++g) source_->placeholder().WriteMasked(g, s->row[g]);
  batch.samples[row] = ~uint64_t{0};
  batch.datasets[row] = 0;
}

void BatchProducer::LocateRow(Batch& batch, uint64_t index, uint32_t row, PlannedRow* p) const {
  const uint64_t position =
      options_.layout.Position(index, options_.rank, options_.world_size, options_.batch_size, row);
  const MixtureView mv = order_.At(position);
  p->dataset = mv.dataset;
  p->view = mv.view;
  const StreamSource& source = *source_->entry(mv.dataset).source;
  const Dataset& dataset = source.dataset();
  batch.samples[row] = p->view.sample;
  batch.datasets[row] = mv.dataset;
  // Each dataset of a mixture draws from its own generators (dataset 0 as a lone dataset);
  // what readers build draws from generators of their own (kReaderSeedSalt).
  const uint64_t seed = options_.seed + mv.dataset * kSplitMixGamma;
  p->rng = Rng::ForSample(seed, p->view.epoch, p->view.slot, p->view.repeat);
  p->state.Reset(&dataset, &source.crop_sources(), dataset.Locate(p->view.sample),
                 seed + kReaderSeedSalt, p->view.epoch, p->view.slot, p->view.repeat);
  for (size_t m = 0; m < source.spec().modalities.size(); ++m) {
    source.reader(m).PrefetchIndex(p->state);
  }
  // What the crop geometry reads (whether this sample needs it is known once planned).
  const CropSources& crops = source.crop_sources();
  for (std::optional<size_t> folder : {crops.crop_settings, crops.image_size}) {
    if (folder) p->state.shard(*folder).PrefetchIndex(p->state.location().record);
  }
}

void BatchProducer::PlanRow(PlannedRow* p, RowScratch* s) const {
  const StreamSource& source = *source_->entry(p->dataset).source;
  RowState& state = p->state;
  SamplePlan& plan = state.plan();
  const int64_t n_crops = source.dataset().NumCropVariants(state.location());
  source.masker().Plan(p->rng, n_crops, &plan, &s->mask);
  state.SetCropVariants(n_crops);
  for (size_t m : source.never_budgeted()) plan.input_budget[m] = plan.target_budget[m] = 0;
  for (size_t m = 0; m < source.spec().modalities.size(); ++m) {
    if (plan.Needs(m)) source.reader(m).Prefetch(state);
  }
  p->geometry = false;
  for (size_t m : source.geometry_users()) p->geometry |= plan.Needs(m);
  if (p->geometry) {
    // The crop_settings row (when the crop is not drawn), and the image's header (its frame
    // header lies within the first few hundred bytes of a camera's or Pillow's JPEG: not the
    // whole image).
    const CropSources& crops = source.crop_sources();
    const size_t record = state.location().record;
    if (crops.crop_settings) {
      const ShardReader& crop_rows = state.shard(*crops.crop_settings);
      if (plan.crop < crop_rows.first_dim(record)) crop_rows.PrefetchRow(record, plan.crop);
    }
    if (std::optional<std::string_view> image =
            state.shard(*crops.image_size).PeekUnchecked(record)) {
      constexpr size_t kHeaderBytes = 256;
      PrefetchBytes(image->data(), std::min(image->size(), kHeaderBytes));
    }
  }
}

void BatchProducer::ReadRow(PlannedRow* p, RowScratch* s) const {
  const StreamSource& source = *source_->entry(p->dataset).source;
  const size_t k = source.spec().modalities.size();
  const SamplePlan& plan = p->state.plan();
  p->slots.resize(k);
  p->inputs.assign(k, nullptr);
  absl::Status status;
  for (size_t m = 0; m < k && status.ok(); ++m) {
    if (plan.Needs(m)) status = source.reader(m).Read(p->state, &p->slots[m]);
  }
  if (status.ok() && p->geometry) status = p->state.ReadGeometry(&s->readers);
  for (size_t m : source.builders()) {
    if (!status.ok()) break;
    if (plan.Needs(m)) status = source.reader(m).Build(p->state, &s->readers, &p->slots[m]);
  }
  for (size_t m = 0; m < k; ++m) p->inputs[m] = plan.Needs(m) ? p->slots[m].input : nullptr;
  p->read = std::move(status);
}

absl::Status BatchProducer::ProduceRow(Batch& batch, uint64_t index, uint32_t row, PlannedRow* p,
                                       RowScratch* s) {
  const StreamSource& source = *source_->entry(p->dataset).source;
  const Dataset& dataset = source.dataset();
  const Masker& masker = source.masker();
  const size_t k = source.spec().modalities.size();
  const SampleView& view = p->view;
  const SamplePlan& plan = p->state.plan();
  // Rows packed for the wire are masked into a scratch row that stays in cache (laid out once
  // per thread): the batch keeps only their packed form (and plain values no form fits).
  if (options_.pack_for_wire) {
    if (s->scratch_row.empty()) collator_.ScratchRowOf(&s->scratch_row, &s->row);
  } else {
    collator_.RowOf(batch, row, &s->row);
  }
  // The dataset's modalities write into their places in the batch; the others are
  // placeholders: fully masked.
  s->local.resize(k);
  for (size_t m = 0; m < k; ++m) s->local[m] = s->row[source_->global_modality(p->dataset, m)];
  for (size_t g : source_->missing_modalities(p->dataset)) {
    source_->placeholder().WriteMasked(g, s->row[g]);
  }
  absl::Status status = std::move(p->read);
  for (size_t m : source.fillers()) {
    if (!status.ok()) break;
    if (plan.Needs(m)) status = source.reader(m).Fill(p->state, p->slots[m], s->local[m]);
  }
  if (status.ok()) {
    status = masker.Apply(plan, p->inputs, p->rng, s->local, &s->mask);
    if (!status.ok()) {  // the masker names the modality; add where the sample lives
      const Dataset::Location& loc = p->state.location();
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
    for (size_t g = 0; g < s->row.size(); ++g) source_->placeholder().WriteMasked(g, s->row[g]);
    if (metrics_) ++metrics_->skipped_records;
    LogEvent("warn", "record_skipped",
             {{"dataset", source_->entry(p->dataset).name},
              {"sample", std::to_string(view.sample)},
              {"batch", std::to_string(index)},
              {"row", std::to_string(row)},
              {"message", std::string(ToStd(status.message()))}});
    return absl::OkStatus();
  }
  if (metrics_) {
    if (!plan.budget_met_minimums) ++metrics_->budget_minimums_unmet;
    for (size_t m = 0; m < k; ++m) {
      const size_t g = source_->global_modality(p->dataset, m);
      metrics_->input_tokens[g] += static_cast<uint64_t>(std::max(0, plan.input_budget[m]));
      metrics_->target_tokens[g] += static_cast<uint64_t>(std::max(0, plan.target_budget[m]));
    }
  }
  return absl::OkStatus();
}

}  // namespace maskfeed
