// How a stream reads one masked modality of a sample: one reader type per kind of modality —
// token arrays (token_reader.cc), raw text built into ids per sample (text_reader.cc), rgb
// pixels (pixel_reader.cc), image folders no modality reads (placeholder_reader.cc) — chosen
// once per modality when a StreamSource is made (reader_registry.cc), then called for each
// row in the producer's phases:
//
//   locate   PrefetchIndex   the row's sample is known: prefetch the index entries to look up
//   plan     Prefetch        the plan gives the modality a budget: prefetch what Read reads
//   read     Read, Build     read the records; then, once every budgeted modality is read,
//                            build what the masker reads from them (text into ids)
//   mask     Fill            write into the batch row what the masker does not (pixels)
//
// The producer never asks which kind it holds. Adding a kind (depth or normal pixels, audio)
// is a file with its reader and claim, and its entry in reader_registry.cc.
#ifndef MASKFEED_PIPELINE_STREAM_MODALITY_READER_H_
#define MASKFEED_PIPELINE_STREAM_MODALITY_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/base/random.h"
#include "pipeline/base/record.h"
#include "pipeline/image/crop_sampler.h"
#include "pipeline/image/rgb_pixels.h"
#include "pipeline/masking/masker.h"
#include "pipeline/shard/dataset.h"
#include "pipeline/text/text_modality.h"
#include "pipeline/text/wordpiece_tokenizer.h"

namespace maskfeed {

// How a dataset's raw members (4M's un-tokenized modalities) are turned into ids and pixels.
struct RawOptions {
  // 4M's text tokenizer; required when a masked modality reads raw text.
  std::shared_ptr<const text::WordPieceTokenizer> tokenizer;
  // The image modality (or folder) whose size det and human_poses need, as 4M's
  // main_augment_domain ("rgb@224" reads folder "rgb").
  std::string main_augment_domain;
  bool aligned_captions = true;
  // How rgb pixel modalities are decoded: exact (Pillow's bytes) by default; `fast` decodes
  // large JPEG crops at a reduced DCT scale (docs/pixels.md). Part of the fingerprint.
  PixelOptions pixels;
  // A dataset without crop_settings whose served modalities are not pre-tokenized is cropped
  // as 4M crops it then: a random-resized crop with these parameters, or the centre square
  // in evaluation passes (center_crop).
  RandomCropParams random_crop;
  bool center_crop = false;
};

// The dataset folders a sample's crop is read from, shared by a source's readers: 4M's
// crop_settings rows (pixels and the boxes of det and human_poses need them) and the image
// whose original size det and human_poses need (main_augment_domain).
struct CropSources {
  // Where a row's crop window comes from: its crop_settings row, or drawn from the row's crop
  // generator (4M's RandomCropImageAugmenter) or the centre square (CenterCropImageAugmenter)
  // of the image_size folder's image, for datasets without crop_settings.
  enum class Mode { kSettings, kRandom, kCenter };
  Mode mode = Mode::kSettings;
  RandomCropParams random;
  std::optional<size_t> crop_settings;
  std::optional<size_t> image_size;
};

// Per-thread buffers of the readers.
struct ReaderScratch {
  text::TextScratch text;
  Record image;  // an image read for its header (the crop geometry)
};

// One row being built: where its sample lives, its plan, and what readers share of the
// sample, read at most once (its crop_settings row, the crop geometry).
class RowState {
 public:
  // Requires: `dataset` and `crops` outlive the row.
  void Reset(const Dataset* dataset, const CropSources* crops, Dataset::Location location,
             uint64_t reader_seed, uint64_t epoch, uint64_t slot, uint32_t repeat);

  const Dataset& dataset() const { return *dataset_; }
  const Dataset::Location& location() const { return location_; }
  const CropSources& crop_sources() const { return *crops_; }
  const ShardReader& shard(size_t folder) const { return dataset_->shard(folder, location_.shard); }
  SamplePlan& plan() { return plan_; }
  const SamplePlan& plan() const { return plan_; }
  // After the plan is drawn: the dataset's crop variant count for this sample.
  void SetCropVariants(int64_t n_crops) {
    crop_.rand_aug_idx = plan_.crop;
    crop_.n_crops = n_crops;
  }

  // The sample's crop_settings row for the plan's crop variant: DATA_LOSS naming the record
  // when the drawn variant has no row. Read once per row.
  absl::StatusOr<const Record*> CropRow();
  // Reads the crop window (crop_settings, or drawn for the image) and the original image size
  // (the image's header) into crop(); before any Build or Fill when a budgeted reader
  // needs_geometry().
  absl::Status ReadGeometry(ReaderScratch* scratch);
  // The crop variant drawn, the dataset's crop count, and (after ReadGeometry) the window
  // and the image size.
  const text::SampleCrop& crop() const { return crop_; }
  // The generator of masked modality m's building: its own, so that what a modality builds
  // does not depend on which other modalities the sample's budgets needed.
  Rng ModalityRng(size_t m);

 private:
  const Dataset* dataset_ = nullptr;
  const CropSources* crops_ = nullptr;
  Dataset::Location location_;
  SamplePlan plan_;
  uint64_t reader_seed_ = 0, epoch_ = 0, slot_ = 0;
  uint32_t repeat_ = 0;
  // The seed of the row's reader generators: the crop draw's (itself) and each modality's
  // (offset by the modality). From the seed and view, on first use.
  uint64_t ReaderBase();
  std::optional<uint64_t> modality_base_;
  Record crop_row_;
  bool have_crop_row_ = false;
  text::SampleCrop crop_;
};

// What a reader reads for one modality of one row, reused from row to row.
struct ModalitySlot {
  Record record;                  // as read from the shard
  Record built;                   // built from it (text ids)
  const Record* input = nullptr;  // what the masker reads: record or built
};

class ModalityReader {
 public:
  virtual ~ModalityReader() = default;

  // A modality that is never given a budget: the producer zeroes its budgets after planning.
  virtual bool never_budgeted() const { return false; }
  // Whether Build needs RowState::ReadGeometry first.
  virtual bool needs_geometry() const { return false; }
  // Whether Build, and Fill, do anything (the producer calls them only for readers that do).
  virtual bool builds() const { return false; }
  virtual bool fills() const { return false; }
  // What this kind's bytes depend on beyond the dataset and the masking config (tokenizer,
  // pixel path), for the source's fingerprint; empty when nothing.
  virtual std::string identity() const { return ""; }

  virtual void PrefetchIndex(const RowState& row) const = 0;
  virtual void Prefetch(const RowState& row) const = 0;
  // Reads the modality's record into slot->record and points slot->input at what the masker
  // reads. Errors name the file and record.
  virtual absl::Status Read(RowState& row, ModalitySlot* slot) const = 0;
  virtual absl::Status Build(RowState& row, ReaderScratch* scratch, ModalitySlot* slot) const {
    return absl::OkStatus();
  }
  virtual absl::Status Fill(RowState& row, const ModalitySlot& slot, const ModalityRow& out) const {
    return absl::OkStatus();
  }
};

// What a kind looks at to decide whether it reads masked modality `m` (held in dataset folder
// `folder`): the dataset, the masking spec, the raw options; and the crop sources it may fill.
struct ReaderContext {
  const Dataset& dataset;
  const MaskingSpec& spec;
  size_t m = 0;
  size_t folder = 0;
  const RawOptions& raw;
  CropSources* crops;
  // Whether a served modality is pre-tokenized (tok_*, sam_instance): its rows were cut from
  // crop_settings' crops, so no other crop may be drawn (4M's is_pretokenized).
  bool pretokenized = false;

  const ModalitySpec& modality() const { return spec.modalities[m]; }
  // "modality M: dataset folder F holds K members", the start of a kind's messages.
  std::string Where() const;
  // Settles where this modality's crop comes from: the crop_settings folder when the dataset
  // has one; else, when nothing served is pre-tokenized, crops drawn for the image (its size
  // from crops->image_size, which the caller sets); else FAILED_PRECONDITION saying why.
  absl::Status NeedCrop() const;
};

// A kind of modality reader: claims the modalities it reads (nullptr when not its kind; an
// error when it is its kind but cannot be read so).
struct ReaderKind {
  const char* name;
  absl::StatusOr<std::unique_ptr<ModalityReader>> (*claim)(const ReaderContext& context);
};

// The registered kinds (reader_registry.cc), in the order they claim — which is also the
// order their identities enter a source's fingerprint.
std::span<const ReaderKind> ReaderKinds();

// Whether every member kind is an image (jpg or png).
bool AllImages(const std::vector<RecordKind>& kinds);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STREAM_MODALITY_READER_H_
