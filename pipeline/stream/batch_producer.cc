#include "pipeline/stream/batch_producer.h"

#include <algorithm>
#include <cstring>

#include "oneapi/tbb/parallel_for.h"
#include "pipeline/base/log.h"
#include "pipeline/base/splitmix64.h"
#include "pipeline/base/strings.h"
#include "pipeline/collate/tensor_packing.h"
#include "pipeline/image/image_header.h"
#include "pipeline/image/rgb_pixels.h"

namespace maskfeed {
namespace {

// Rows per task: enough work to amortise scheduling, small enough to balance two cores.
constexpr size_t kRowsPerTask = 8;

// Separates the generators of text building from those of masking (same sample tuple).
constexpr uint64_t kTextSeedSalt = 0x7465787462756c64;  // "textbuld"

// Element i of an integer record, as int64. Requires: IsInteger(r.dtype), i in range.
int64_t IntAt(const Record& r, size_t i) {
  const std::byte* p = r.data.data() + i * ItemSize(r.dtype);
  auto load = [p]<typename T>(T) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return static_cast<int64_t>(v);
  };
  switch (r.dtype) {
    case DType::kInt8:
      return load(int8_t{});
    case DType::kInt16:
      return load(int16_t{});
    case DType::kInt32:
      return load(int32_t{});
    case DType::kInt64:
      return load(int64_t{});
    case DType::kUInt8:
      return load(uint8_t{});
    case DType::kUInt16:
      return load(uint16_t{});
    case DType::kUInt32:
      return load(uint32_t{});
    default:
      return 0;
  }
}

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

absl::StatusOr<Batch> BatchProducer::Produce(uint64_t index) {
  Batch batch = collator_.Allocate(options_.batch_size, buffers_.get());
  batch.samples.resize(options_.batch_size);
  batch.datasets.resize(options_.batch_size);
  std::vector<absl::Status> errors(options_.batch_size);
  PackingState packing;
  if (options_.pack_for_wire) BeginPacking(&batch, buffers_.get(), &packing);
  auto rows = [&](const tbb::blocked_range<uint32_t>& range) {
    RowScratch& scratch = scratch_.local();
    const uint32_t first = range.begin();
    const uint32_t n = static_cast<uint32_t>(range.size());
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
  };
  arena_->execute([&] {
    tbb::parallel_for(tbb::blocked_range<uint32_t>(0, options_.batch_size, kRowsPerTask), rows,
                      tbb::simple_partitioner());
  });
  for (const absl::Status& s : errors) {  // the first failing row, whatever the threads did
    if (!s.ok()) return s;
  }
  if (options_.pack_for_wire) FinishPacking(&batch, packing);
  collator_.Finish(&batch);
  return batch;
}

void BatchProducer::LocateRow(Batch& batch, uint64_t index, uint32_t row, PlannedRow* p) const {
  const uint64_t position =
      StreamPosition(index, options_.rank, options_.world_size, options_.batch_size, row);
  const MixtureView mv = order_.At(position);
  p->dataset = mv.dataset;
  p->view = mv.view;
  const StreamSource& source = *source_->entry(mv.dataset).source;
  const Dataset& dataset = source.dataset();
  batch.samples[row] = p->view.sample;
  batch.datasets[row] = mv.dataset;
  // Each dataset of a mixture draws from its own generators (dataset 0 as a lone dataset).
  p->rng = Rng::ForSample(options_.seed + mv.dataset * kSplitMixGamma, p->view.epoch, p->view.slot,
                          p->view.repeat);
  p->location = dataset.Locate(p->view.sample);
  for (size_t m = 0; m < source.spec().modalities.size(); ++m) {
    dataset.shard(source.dataset_modality(m), p->location.shard).PrefetchIndex(p->location.record);
  }
  // What det's geometry reads (whether this sample needs it is known once planned).
  for (std::optional<size_t> m : {source.crop_settings_modality(), source.image_size_modality()}) {
    if (m) dataset.shard(*m, p->location.shard).PrefetchIndex(p->location.record);
  }
}

bool BatchProducer::NeedsGeometry(const StreamSource& source, const SamplePlan& plan) {
  for (size_t m = 0; m < source.spec().modalities.size(); ++m) {
    const text::TextModality* t = source.text_modality(m);
    if (plan.Needs(m) && t != nullptr && text::BuilderNeedsImageGeometry(t->builder())) {
      return true;
    }
  }
  return false;
}

void BatchProducer::PlanRow(PlannedRow* p, RowScratch* s) const {
  const StreamSource& source = *source_->entry(p->dataset).source;
  const Dataset& dataset = source.dataset();
  source.masker().Plan(p->rng, dataset.NumCropVariants(p->location), &p->plan, &s->mask);
  for (size_t m = 0; m < source.spec().modalities.size(); ++m) {
    if (source.unserved(m)) {  // pixels: never budgeted (StreamSource refuses alphas for them)
      p->plan.input_budget[m] = p->plan.target_budget[m] = 0;
    }
    if (!p->plan.Needs(m)) continue;
    const ShardReader& shard = dataset.shard(source.dataset_modality(m), p->location.shard);
    if (ReadsCropRow(source, m, shard, *p)) {
      shard.PrefetchRow(p->location.record, p->plan.crop);
    } else {
      shard.Prefetch(p->location.record);
    }
  }
  p->geometry = source.has_text() && NeedsGeometry(source, p->plan);
  if (p->geometry) {
    // The crop_settings row, and the image's header (its frame header lies within the first
    // few hundred bytes of a camera's or Pillow's JPEG: not the whole image).
    const size_t record = p->location.record;
    const ShardReader& crops = dataset.shard(*source.crop_settings_modality(), p->location.shard);
    if (p->plan.crop < crops.first_dim(record)) crops.PrefetchRow(record, p->plan.crop);
    const ShardReader& images = dataset.shard(*source.image_size_modality(), p->location.shard);
    if (std::optional<std::string_view> image = images.PeekUnchecked(record)) {
      constexpr size_t kHeaderBytes = 256;
      PrefetchBytes(image->data(), std::min(image->size(), kHeaderBytes));
    }
  }
}

absl::Status BatchProducer::ReadCropRow(PlannedRow* p) const {
  const StreamSource& source = *source_->entry(p->dataset).source;
  const Dataset::Location& loc = p->location;
  const ShardReader& crops = source.dataset().shard(*source.crop_settings_modality(), loc.shard);
  if (p->plan.crop >= crops.first_dim(loc.record)) {
    return RecordError(crops.path(), loc.record, crops.key(loc.record),
                       StrCat("crop variant ", p->plan.crop, " drawn but the record has ",
                              crops.first_dim(loc.record), " rows"));
  }
  return crops.ReadRow(loc.record, p->plan.crop, &p->crop_row);
}

absl::Status BatchProducer::BuildPixels(PlannedRow* p, RowScratch* s) const {
  const StreamSource& source = *source_->entry(p->dataset).source;
  const Dataset::Location& loc = p->location;
  bool have_row = false;
  for (size_t m = 0; m < source.spec().modalities.size(); ++m) {
    if (!source.pixels(m) || !p->plan.Needs(m)) continue;
    if (!have_row) {
      if (absl::Status st = ReadCropRow(p); !st.ok()) return st;
      have_row = true;
    }
    const ModalitySpec& mod = source.spec().modalities[m];
    const CropBox box{.top = IntAt(p->crop_row, 0),
                      .left = IntAt(p->crop_row, 1),
                      .height = IntAt(p->crop_row, 2),
                      .width = IntAt(p->crop_row, 3)};
    absl::Status st = RgbPixels(p->records[m].bytes(), box, IntAt(p->crop_row, 4) != 0,
                                mod.pixel_size, source.pixel_options(), s->local[m].pixels);
    if (!st.ok()) {
      const ShardReader& images = source.dataset().shard(source.dataset_modality(m), loc.shard);
      if (st.code() != absl::StatusCode::kDataLoss) return st;
      return RecordError(images.path(), loc.record, images.key(loc.record),
                         StrCat(mod.name, ": ", ToStd(st.message())));
    }
  }
  return absl::OkStatus();
}

absl::Status BatchProducer::BuildText(PlannedRow* p, RowScratch* s) const {
  const StreamSource& source = *source_->entry(p->dataset).source;
  const Dataset& dataset = source.dataset();
  const size_t k = source.spec().modalities.size();
  const Dataset::Location& loc = p->location;
  text::SampleCrop crop;
  crop.rand_aug_idx = p->plan.crop;
  crop.n_crops = dataset.NumCropVariants(loc);
  // The crop_settings row and the image's header (StreamSource checked both exist).
  if (p->geometry) {
    if (absl::Status st = ReadCropRow(p); !st.ok()) return st;
    crop.window = text::CropWindow{.top = static_cast<double>(IntAt(p->crop_row, 0)),
                                   .left = static_cast<double>(IntAt(p->crop_row, 1)),
                                   .height = static_cast<double>(IntAt(p->crop_row, 2)),
                                   .width = static_cast<double>(IntAt(p->crop_row, 3)),
                                   .flip = IntAt(p->crop_row, 4) != 0};
    crop.has_window = true;
    // The image's header only: straight from the mapping when the record is stored
    // uncompressed (the decoder reports a damaged header; pixels, when read, are checked).
    const ShardReader& images = dataset.shard(*source.image_size_modality(), loc.shard);
    std::optional<std::string_view> image = images.PeekUnchecked(loc.record);
    if (!image) {
      if (absl::Status st = images.Read(loc.record, &s->image); !st.ok()) return st;
      image = s->image.bytes();
    }
    absl::StatusOr<ImageDims> dims = ReadImageDims(*image);
    if (!dims.ok()) {
      return RecordError(images.path(), loc.record, images.key(loc.record),
                         ToStd(dims.status().message()));
    }
    crop.orig = text::ImageSize{.height = static_cast<double>(dims->height),
                                .width = static_cast<double>(dims->width)};
  }
  p->built.resize(k);
  // Each modality draws from its own generator: its text does not depend on which other
  // modalities this sample's budgets needed.
  const uint64_t base = Rng::ForSample(options_.seed + p->dataset * kSplitMixGamma + kTextSeedSalt,
                                       p->view.epoch, p->view.slot, p->view.repeat)
                            .Next();
  for (size_t m = 0; m < k; ++m) {
    const text::TextModality* t = source.text_modality(m);
    if (t == nullptr || !p->plan.Needs(m)) continue;
    Rng rng(base + (m + 1) * kSplitMixGamma);
    if (absl::Status st = t->Build(p->records[m], crop, rng, &s->text, &p->built[m]); !st.ok()) {
      const ShardReader& shard = dataset.shard(source.dataset_modality(m), loc.shard);
      return absl::Status(
          st.code(), StrCat(shard.path(), ": record ", loc.record, " (key ", shard.key(loc.record),
                            "): ", source.spec().modalities[m].name, ": ", ToStd(st.message())));
    }
    p->pointers[m] = &p->built[m];
  }
  return absl::OkStatus();
}

void BatchProducer::ReadRow(PlannedRow* p, RowScratch* s) const {
  const StreamSource& source = *source_->entry(p->dataset).source;
  const Dataset& dataset = source.dataset();
  const size_t k = source.spec().modalities.size();
  p->records.resize(k);
  p->pointers.assign(k, nullptr);
  absl::Status status;
  for (size_t m = 0; m < k && status.ok(); ++m) {
    if (!p->plan.Needs(m)) continue;  // not read at all
    const ShardReader& shard = dataset.shard(source.dataset_modality(m), p->location.shard);
    // Image tokens: only the drawn crop variant's row (the masker takes it as (n,)).
    status = ReadsCropRow(source, m, shard, *p)
                 ? shard.ReadRow(p->location.record, p->plan.crop, &p->records[m])
                 : shard.Read(p->location.record, &p->records[m]);
    p->pointers[m] = &p->records[m];
  }
  if (status.ok() && source.has_text()) status = BuildText(p, s);
  p->read = std::move(status);
}

absl::Status BatchProducer::ProduceRow(Batch& batch, uint64_t index, uint32_t row, PlannedRow* p,
                                       RowScratch* s) {
  const StreamSource& source = *source_->entry(p->dataset).source;
  const Dataset& dataset = source.dataset();
  const Masker& masker = source.masker();
  const size_t k = source.spec().modalities.size();
  const SampleView& view = p->view;
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
  if (status.ok() && source.has_pixels()) status = BuildPixels(p, s);
  if (status.ok()) {
    status = masker.Apply(p->plan, p->pointers, p->rng, s->local, &s->mask);
    if (!status.ok()) {  // the masker names the modality; add where the sample lives
      const Dataset::Location& loc = p->location;
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
    if (!p->plan.budget_met_minimums) ++metrics_->budget_minimums_unmet;
    for (size_t m = 0; m < k; ++m) {
      const size_t g = source_->global_modality(p->dataset, m);
      metrics_->input_tokens[g] += static_cast<uint64_t>(std::max(0, p->plan.input_budget[m]));
      metrics_->target_tokens[g] += static_cast<uint64_t>(std::max(0, p->plan.target_budget[m]));
    }
  }
  return absl::OkStatus();
}

}  // namespace maskfeed
