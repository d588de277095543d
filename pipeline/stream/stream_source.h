// What streams are made from: an opened Dataset and a resolved masking config, checked against
// each other once — every masked modality has a folder and a reader of its kind
// (modality_reader.h) that can read it — and shared, immutable, by every stream over them.
#ifndef MASKFEED_PIPELINE_STREAM_STREAM_SOURCE_H_
#define MASKFEED_PIPELINE_STREAM_STREAM_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "maskfeed/v1/config.pb.h"
#include "pipeline/masking/masker.h"
#include "pipeline/order/order_spec.h"
#include "pipeline/shard/dataset.h"
#include "pipeline/stream/modality_reader.h"

namespace maskfeed {

class StreamSource {
 public:
  // NOT_FOUND naming a masked modality with no dataset folder (tried: `field`, the name, the
  // name before '@'); otherwise the first reader kind that claims the modality decides:
  // INVALID_ARGUMENT for records that cannot fit; FAILED_PRECONDITION naming the modality when
  // raw text has no tokenizer, det, poses or pixels no crop_settings, det or poses no
  // main_augment_domain, or an image folder read by an IMG modality without pixel_size has a
  // budget.
  static absl::StatusOr<std::shared_ptr<const StreamSource>> Create(
      std::shared_ptr<const Dataset> dataset, const v1::MaskingConfig& config,
      const RawOptions& raw = {});

  const Dataset& dataset() const { return *dataset_; }
  const Masker& masker() const { return masker_; }
  const MaskingSpec& spec() const { return masker_.spec(); }
  // The reader of masked modality m (modality_reader.h).
  const ModalityReader& reader(size_t m) const { return *readers_[m]; }
  // The masked modalities whose readers do more than read, by what they do (so that the
  // producer's loops skip the others): never budgeted, building after the reads, filling the
  // row before masking, needing the crop geometry to build.
  const std::vector<size_t>& never_budgeted() const { return never_budgeted_; }
  const std::vector<size_t>& builders() const { return builders_; }
  const std::vector<size_t>& fillers() const { return fillers_; }
  const std::vector<size_t>& geometry_users() const { return geometry_users_; }
  // The folders its samples' crops are read from (crop_settings, the main image).
  const CropSources& crop_sources() const { return crops_; }
  // A hash of what determines a stream's bytes apart from the order: the dataset's modalities
  // and shard sizes (not its path), the masking config, and what the readers build with
  // (tokenizer, main_augment_domain, caption alignment, the pixel path).
  uint64_t fingerprint() const { return fingerprint_; }

 private:
  StreamSource(std::shared_ptr<const Dataset> dataset, MaskingSpec spec)
      : dataset_(std::move(dataset)), masker_(std::move(spec)) {}

  std::shared_ptr<const Dataset> dataset_;
  Masker masker_;
  std::vector<std::unique_ptr<ModalityReader>> readers_;
  std::vector<size_t> never_budgeted_, builders_, fillers_, geometry_users_;
  CropSources crops_;
  std::shared_ptr<const text::WordPieceTokenizer> tokenizer_;  // the text readers use it
  uint64_t fingerprint_ = 0;
};

struct MixtureEntry {
  std::string name;  // for messages and metrics
  double weight = 1;
  std::shared_ptr<const StreamSource> source;
};

// Several datasets streamed together (4M's mixtures; docs/pipeline.md): each sample comes from one
// dataset, chosen by weight (MixtureOrder), masked with that dataset's own config; the batch holds
// the sorted union of all datasets' modalities, and a modality the sample's dataset lacks is a
// fully masked placeholder row. A single dataset is a mixture of one.
class MixtureSource {
 public:
  // INVALID_ARGUMENT when datasets define a modality of the same name differently.
  static absl::StatusOr<std::shared_ptr<const MixtureSource>> Create(
      std::vector<MixtureEntry> entries);
  // `name`: what batches call it (Batch::dataset_names); not part of the fingerprint.
  static std::shared_ptr<const MixtureSource> Single(std::shared_ptr<const StreamSource> source,
                                                     std::string name = "dataset");

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
