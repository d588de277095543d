// What streams are made from: an opened Dataset and a resolved masking config, checked against
// each other once (every masked modality has a folder whose records fit it) and shared,
// immutable, by every stream over them.
#ifndef MASKFEED_PIPELINE_STREAM_STREAM_SOURCE_H_
#define MASKFEED_PIPELINE_STREAM_STREAM_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "maskfeed/v1/config.pb.h"
#include "pipeline/image/rgb_pixels.h"
#include "pipeline/masking/masker.h"
#include "pipeline/order/order_spec.h"
#include "pipeline/shard/dataset.h"
#include "pipeline/text/text_modality.h"
#include "pipeline/text/wordpiece_tokenizer.h"

namespace maskfeed {

// How a dataset's raw members (4M's un-tokenized modalities) are turned into ids.
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
};

class StreamSource {
 public:
  // NOT_FOUND naming a masked modality with no dataset folder (tried: `field`, the name, the
  // name before '@'); INVALID_ARGUMENT for a config error or records that cannot fit;
  // FAILED_PRECONDITION naming the modality when raw text has no tokenizer, det, poses or
  // pixels no crop_settings, det or poses no main_augment_domain, or an image folder read by
  // an IMG modality without pixel_size has a budget.
  static absl::StatusOr<std::shared_ptr<const StreamSource>> Create(
      std::shared_ptr<const Dataset> dataset, const v1::MaskingConfig& config,
      const RawOptions& raw = {});

  const Dataset& dataset() const { return *dataset_; }
  const Masker& masker() const { return masker_; }
  const MaskingSpec& spec() const { return masker_.spec(); }
  // Dataset modality index of masked modality m.
  size_t dataset_modality(size_t m) const { return dataset_modality_[m]; }
  // Whether masked modality m needs only the sample's crop variant row of its record (image
  // tokens stored (n_crops, n)): streams then read and check just that row.
  bool reads_crop_row(size_t m) const { return reads_crop_row_[m]; }
  // The builder of masked modality m when it reads raw text members; null otherwise.
  const text::TextModality* text_modality(size_t m) const {
    return text_[m] ? &*text_[m] : nullptr;
  }
  // Whether masked modality m is an image folder read as no modality can (an IMG modality
  // without pixel_size): its budget is always zero (Create refuses a config that gives it any).
  bool unserved(size_t m) const { return unserved_[m]; }
  // Whether masked modality m is rgb pixels (ModalitySpec::pixel_size), built from the
  // dataset's images and crop_settings rows.
  bool pixels(size_t m) const { return pixels_[m]; }
  bool has_pixels() const { return has_pixels_; }
  const PixelOptions& pixel_options() const { return pixel_options_; }
  // Whether any masked modality is built from raw text, and what its builders need: the
  // dataset's crop_settings modality and the main_augment_domain image modality.
  bool has_text() const { return has_text_; }
  std::optional<size_t> crop_settings_modality() const { return crop_settings_; }
  std::optional<size_t> image_size_modality() const { return image_size_; }
  // A hash of what determines a stream's bytes apart from the order options: the dataset's
  // modalities and shard sizes (not its path), the masking config, and what builds raw
  // members (tokenizer, main_augment_domain, caption alignment, the pixel path).
  uint64_t fingerprint() const { return fingerprint_; }

 private:
  StreamSource(std::shared_ptr<const Dataset> dataset, MaskingSpec spec)
      : dataset_(std::move(dataset)), masker_(std::move(spec)) {}
  // Checks and sets up masked modality m, whose dataset folder holds raw members.
  absl::Status AddRawModality(size_t m, size_t folder, const RawOptions& raw);
  // Finds the dataset's crop_settings folder for masked modality m (`where` names it).
  absl::Status NeedCropSettings(const ModalitySpec& mod, const std::string& where);

  std::shared_ptr<const Dataset> dataset_;
  Masker masker_;
  std::vector<size_t> dataset_modality_;
  std::vector<bool> reads_crop_row_;
  std::vector<std::optional<text::TextModality>> text_;
  std::vector<bool> unserved_;
  std::vector<bool> pixels_;
  bool has_text_ = false;
  bool has_pixels_ = false;
  PixelOptions pixel_options_;
  std::optional<size_t> crop_settings_;
  std::optional<size_t> image_size_;
  std::shared_ptr<const text::WordPieceTokenizer> tokenizer_;
  uint64_t fingerprint_ = 0;
};

struct MixtureEntry {
  std::string name;  // for messages and metrics
  double weight = 1;
  std::shared_ptr<const StreamSource> source;
};

// Several datasets streamed together (spec §1.6): each sample comes from one dataset, chosen
// by weight (MixtureOrder), masked with that dataset's own config; the batch holds the sorted
// union of all datasets' modalities, and a modality the sample's dataset lacks is a fully
// masked placeholder row. A single dataset is a mixture of one.
class MixtureSource {
 public:
  // INVALID_ARGUMENT when datasets define a modality of the same name differently.
  static absl::StatusOr<std::shared_ptr<const MixtureSource>> Create(
      std::vector<MixtureEntry> entries);
  static std::shared_ptr<const MixtureSource> Single(std::shared_ptr<const StreamSource> source);

  size_t num_datasets() const { return entries_.size(); }
  const MixtureEntry& entry(size_t d) const { return entries_[d]; }
  // The batch layout: the union of the datasets' modalities, sorted by name.
  const MaskingSpec& spec() const { return union_masker_.spec(); }
  // Writes placeholder rows (global modality indices).
  const Masker& placeholder() const { return union_masker_; }
  // Global modality index of dataset d's modality m.
  size_t global_modality(size_t d, size_t m) const { return global_[d][m]; }
  // Global modalities dataset d does not have: their rows are placeholders.
  const std::vector<size_t>& missing_modalities(size_t d) const { return missing_[d]; }
  uint64_t fingerprint() const { return fingerprint_; }
  // What an order is built over (order_spec.h): each dataset's weight, shards and whether they
  // are fetched on demand.
  std::vector<OrderDataset> OrderDatasets() const;

 private:
  MixtureSource(std::vector<MixtureEntry> entries, MaskingSpec spec)
      : entries_(std::move(entries)), union_masker_(std::move(spec)) {}

  std::vector<MixtureEntry> entries_;
  Masker union_masker_;
  std::vector<std::vector<size_t>> global_;
  std::vector<std::vector<size_t>> missing_;
  uint64_t fingerprint_ = 0;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STREAM_STREAM_SOURCE_H_
