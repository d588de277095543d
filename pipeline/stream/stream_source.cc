#include "pipeline/stream/stream_source.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "pipeline/base/sha256.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// The dataset folder of a modality: its `field`, its name, or its name before '@'.
std::optional<size_t> FindFolder(const Dataset& ds, std::string_view name, std::string_view field,
                                 std::vector<std::string>* tried) {
  if (!field.empty()) tried->emplace_back(field);
  tried->emplace_back(name);
  if (name.find('@') != std::string_view::npos) tried->emplace_back(name.substr(0, name.find('@')));
  for (const std::string& c : *tried) {
    if (std::optional<size_t> found = ds.FindModality(c)) return found;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const StreamSource>> StreamSource::Create(
    std::shared_ptr<const Dataset> dataset, const v1::MaskingConfig& config,
    const RawOptions& raw) {
  absl::StatusOr<MaskingSpec> spec = ResolveMaskingConfig(config);
  if (!spec.ok()) return spec.status();
  std::shared_ptr<StreamSource> source(new StreamSource(std::move(dataset), std::move(*spec)));
  const Dataset& ds = *source->dataset_;
  source->tokenizer_ = raw.tokenizer;
  const std::span<const ReaderKind> kinds = ReaderKinds();
  std::vector<size_t> kind_of;  // per masked modality, its reader's kind
  // 4M's is_pretokenized: a served modality whose rows were cut from crop_settings' crops.
  const bool pretokenized = std::any_of(
      source->spec().modalities.begin(), source->spec().modalities.end(),
      [](const ModalitySpec& m) { return m.name.starts_with("tok_") || m.name == "sam_instance"; });
  for (size_t m = 0; m < source->spec().modalities.size(); ++m) {
    const ModalitySpec& mod = source->spec().modalities[m];
    std::vector<std::string> candidates;
    const std::optional<size_t> found = FindFolder(ds, mod.name, mod.field, &candidates);
    if (!found) {
      return absl::NotFoundError(StrCat(
          "modality ", mod.name, ": dataset ", ds.root(), " has no folder for it (looked for ",
          candidates[0], candidates.size() > 1 ? " and its aliases" : "", ")",
          mod.is_pixels() ? "; a pixel modality reads the dataset's images: pre-tokenized data "
                            "without them is served by the -tokens presets (4m-7-tokens, "
                            "4m-21-tokens)"
                          : ""));
    }
    const ReaderContext context{.dataset = ds,
                                .spec = source->spec(),
                                .m = m,
                                .folder = *found,
                                .raw = raw,
                                .crops = &source->crops_,
                                .pretokenized = pretokenized};
    for (size_t k = 0; k < kinds.size() && kind_of.size() == m; ++k) {
      absl::StatusOr<std::unique_ptr<ModalityReader>> reader = kinds[k].claim(context);
      if (!reader.ok()) return reader.status();
      if (*reader == nullptr) continue;
      source->readers_.push_back(*std::move(reader));
      kind_of.push_back(k);
    }
    if (kind_of.size() == m) {
      return absl::InvalidArgumentError(StrCat(context.Where(), ": no reader reads them"));
    }
  }
  for (size_t m = 0; m < source->readers_.size(); ++m) {
    const ModalityReader& r = *source->readers_[m];
    if (r.never_budgeted()) source->never_budgeted_.push_back(m);
    if (r.builds()) source->builders_.push_back(m);
    if (r.fills()) source->fillers_.push_back(m);
    if (r.needs_geometry()) source->geometry_users_.push_back(m);
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
  // What the readers build with (tokenizer, pixel path), once per kind, in the kinds' order.
  std::string readers;
  for (size_t k = 0; k < kinds.size(); ++k) {
    auto first = std::find(kind_of.begin(), kind_of.end(), k);
    if (first != kind_of.end()) readers += source->readers_[first - kind_of.begin()]->identity();
  }
  // Crops drawn instead of read: how (the bytes depend on it).
  const CropSources& crops = source->crops_;
  if (crops.mode != CropSources::Mode::kSettings) {
    const RandomCropParams& r = crops.random;
    StrAppend(&readers, "|crop:",
              crops.mode == CropSources::Mode::kCenter
                  ? std::string("center")
                  : StrCat("random:", r.scale_min, ":", r.scale_max, ":", r.ratio_min, ":",
                           r.ratio_max, ":", r.hflip));
  }
  const std::array<uint8_t, 32> digest = Sha256(StrCat(identity, "|", masking, readers));
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

std::vector<OrderDataset> MixtureSource::OrderDatasets() const {
  std::vector<OrderDataset> datasets;
  for (const MixtureEntry& e : entries_) {
    const Dataset& ds = e.source->dataset();
    OrderDataset& od = datasets.emplace_back();
    od.root = ds.root();
    od.weight = e.weight;
    od.fetched_on_demand = ds.fetched_on_demand();
    for (size_t s = 0; s < ds.num_shards(); ++s) {
      od.shard_samples.push_back(ds.shard_size(s));
      od.shard_bytes.push_back(ds.shard_bytes(s));
    }
  }
  return datasets;
}

std::shared_ptr<const MixtureSource> MixtureSource::Single(
    std::shared_ptr<const StreamSource> source, std::string name) {
  std::vector<MixtureEntry> entries;
  entries.push_back({std::move(name), 1, std::move(source)});
  absl::StatusOr<std::shared_ptr<const MixtureSource>> mixture = Create(std::move(entries));
  return *mixture;  // one valid source always makes a valid mixture
}

}  // namespace maskfeed
