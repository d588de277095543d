#include "pipeline/stream/stream_source.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "pipeline/base/sha256.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// Whether a dataset layout can feed a modality; the reason when not.
std::string LayoutProblem(const ModalitySpec& mod, const RecordLayout& layout) {
  switch (mod.type) {
    case ModalityType::kImg: {
      const int64_t last = layout.rank == 1 ? -1 : layout.inner[layout.rank - 2];
      if (!IsInteger(layout.dtype)) return "image tokens must be integers";
      if (layout.rank == 2 && last != mod.max_tokens) {
        return StrCat("records have ", last, " tokens per crop, max_tokens is ", mod.max_tokens);
      }
      if (layout.rank > 2) return "image token records must be (n_crops, n) or (n,)";
      return "";
    }
    case ModalityType::kSeq:
    case ModalityType::kSeqToken:
      if (!IsInteger(layout.dtype) || layout.rank != 1) return "sequences must be 1-D integer ids";
      return "";
    case ModalityType::kSeqEmb:
      if (layout.rank != 2 || layout.inner[0] != mod.embedding_dim ||
          (layout.dtype != DType::kFloat32 && layout.dtype != DType::kFloat16)) {
        return StrCat("embeddings must be float16/float32 (rows, ", mod.embedding_dim, ")");
      }
      return "";
  }
  return "";
}

}  // namespace

absl::StatusOr<std::shared_ptr<const StreamSource>> StreamSource::Create(
    std::shared_ptr<const Dataset> dataset, const v1::MaskingConfig& config) {
  absl::StatusOr<MaskingSpec> spec = ResolveMaskingConfig(config);
  if (!spec.ok()) return spec.status();
  std::shared_ptr<StreamSource> source(new StreamSource(std::move(dataset), std::move(*spec)));
  const Dataset& ds = *source->dataset_;
  for (const ModalitySpec& mod : source->spec().modalities) {
    std::vector<std::string> candidates;
    if (!mod.field.empty()) candidates.push_back(mod.field);
    candidates.push_back(mod.name);
    if (mod.name.find('@') != std::string::npos)
      candidates.push_back(mod.name.substr(0, mod.name.find('@')));
    std::optional<size_t> found;
    for (const std::string& c : candidates) {
      if ((found = ds.FindModality(c))) break;
    }
    if (!found) {
      return absl::NotFoundError(StrCat("modality ", mod.name, ": dataset ", ds.root(),
                                        " has no folder for it (looked for ", candidates[0],
                                        candidates.size() > 1 ? " and its aliases" : "", ")"));
    }
    const std::string problem = LayoutProblem(mod, ds.layout(*found));
    if (!problem.empty()) {
      return absl::InvalidArgumentError(StrCat("modality ", mod.name, ": dataset folder ",
                                               ds.modality_name(*found), " holds ",
                                               ds.layout(*found).ToString(), ": ", problem));
    }
    source->dataset_modality_.push_back(*found);
    source->reads_crop_row_.push_back(mod.type == ModalityType::kImg &&
                                      ds.layout(*found).rank == 2);
  }
  v1::DatasetInfo info = ds.Describe();
  info.clear_root();
  for (v1::ModalityInfo& m : *info.mutable_modalities()) {
    m.clear_bytes_on_disk();
    m.clear_format();  // tar and its .mfs conversion serve the same bytes
  }
  std::string identity;
  info.SerializeToString(&identity);
  // The expanded config, so that a preset name and the preset written out agree.
  absl::StatusOr<v1::MaskingConfig> expanded = ExpandMaskingPreset(config);
  if (!expanded.ok()) return expanded.status();
  std::string masking;
  google::protobuf::io::StringOutputStream stream(&masking);
  {
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    expanded->SerializeToCodedStream(&coded);
  }
  const std::array<uint8_t, 32> digest = Sha256(StrCat(identity, "|", masking));
  std::memcpy(&source->fingerprint_, digest.data(), sizeof(uint64_t));
  return source;
}

absl::StatusOr<std::shared_ptr<const MixtureSource>> MixtureSource::Create(
    std::vector<MixtureEntry> entries) {
  if (entries.empty()) return absl::InvalidArgumentError("datasets: at least one is needed");
  MaskingSpec layout;
  for (size_t d = 0; d < entries.size(); ++d) {
    if (entries[d].source == nullptr) {
      return absl::InvalidArgumentError(StrCat("datasets[", d, "]: no source"));
    }
    for (const ModalitySpec& mod : entries[d].source->spec().modalities) {
      std::optional<size_t> seen = layout.FindModality(mod.name);
      if (!seen) {
        layout.modalities.push_back(mod);
        std::sort(layout.modalities.begin(), layout.modalities.end(),
                  [](const ModalitySpec& a, const ModalitySpec& b) { return a.name < b.name; });
        continue;
      }
      const ModalitySpec& other = layout.modalities[*seen];
      if (other.type != mod.type || other.length() != mod.length() ||
          other.embedding_dim != mod.embedding_dim) {
        return absl::InvalidArgumentError(
            StrCat("datasets[", d, "] (", entries[d].name, ") modality ", mod.name,
                   ": its type or max_tokens differs from another dataset's; a batch has one "
                   "layout per modality"));
      }
    }
  }
  std::shared_ptr<MixtureSource> mixture(new MixtureSource(std::move(entries), std::move(layout)));
  std::string identity;
  for (const MixtureEntry& e : mixture->entries_) {
    std::vector<size_t> map;
    for (const ModalitySpec& mod : e.source->spec().modalities) {
      map.push_back(*mixture->spec().FindModality(mod.name));
    }
    std::vector<size_t> missing;
    for (size_t g = 0; g < mixture->spec().modalities.size(); ++g) {
      if (std::find(map.begin(), map.end(), g) == map.end()) missing.push_back(g);
    }
    mixture->global_.push_back(std::move(map));
    mixture->missing_.push_back(std::move(missing));
    identity += StrCat(e.source->fingerprint(), ":", e.weight, ";");
  }
  if (mixture->entries_.size() == 1) {
    mixture->fingerprint_ = mixture->entries_[0].source->fingerprint();
  } else {
    const std::array<uint8_t, 32> digest = Sha256(identity);
    std::memcpy(&mixture->fingerprint_, digest.data(), sizeof(uint64_t));
  }
  return std::shared_ptr<const MixtureSource>(std::move(mixture));
}

std::shared_ptr<const MixtureSource> MixtureSource::Single(
    std::shared_ptr<const StreamSource> source) {
  std::vector<MixtureEntry> entries;
  entries.push_back({"dataset", 1, std::move(source)});
  absl::StatusOr<std::shared_ptr<const MixtureSource>> mixture = Create(std::move(entries));
  return *mixture;  // one valid source always makes a valid mixture
}

}  // namespace maskfeed
