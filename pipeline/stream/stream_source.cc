#include "pipeline/stream/stream_source.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "pipeline/base/sha256.h"
#include "pipeline/base/status_fields.h"
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

std::string KindList(const std::vector<RecordKind>& kinds) {
  std::string out;
  for (RecordKind k : kinds) StrAppend(&out, out.empty() ? "" : ", ", RecordKindName(k));
  return out;
}

bool AllImages(const std::vector<RecordKind>& kinds) {
  return !kinds.empty() && std::all_of(kinds.begin(), kinds.end(), [](RecordKind k) {
    return k == RecordKind::kJpeg || k == RecordKind::kPng;
  });
}

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

absl::Status StreamSource::NeedCropSettings(const ModalitySpec& mod, const std::string& where) {
  if (crop_settings_) return absl::OkStatus();
  crop_settings_ = dataset_->FindModality(kCropSettings);
  if (!crop_settings_) {
    return absl::FailedPreconditionError(
        StrCat(where, ": ", mod.name, " is cropped with the image, so the dataset needs its ",
               kCropSettings, " folder"));
  }
  return absl::OkStatus();
}

absl::Status StreamSource::AddRawModality(size_t m, size_t folder, const RawOptions& raw) {
  const ModalitySpec& mod = spec().modalities[m];
  const Dataset& ds = *dataset_;
  const std::vector<RecordKind>& kinds = ds.record_kinds(folder);
  const std::string where =
      StrCat("modality ", mod.name, ": dataset folder ", ds.modality_name(folder), " holds ",
             KindList(kinds), " members");
  if (AllImages(kinds) && mod.type == ModalityType::kImg && mod.is_pixels()) {
    if (absl::Status s = NeedCropSettings(mod, where); !s.ok()) return s;
    pixels_[m] = true;
    has_pixels_ = true;
    return absl::OkStatus();
  }
  if (AllImages(kinds) && mod.type == ModalityType::kImg) {
    // Images read as token ids: only possible without a budget (4M's rgb@S is pixel_size S).
    const MaskingSpec& sp = spec();
    bool budget = mod.role != TransferRole::kNone;
    for (const MixtureComponentSpec& c : sp.mixture) {
      budget |= c.input_alpha[m] > kAlphaFloor || c.target_alpha[m] > kAlphaFloor;
    }
    if (budget) {
      return absl::FailedPreconditionError(
          StrCat(where, ": images are served as pixels by a modality with pixel_size (4M's rgb@",
                 16 * static_cast<int>(std::lround(std::sqrt(mod.max_tokens))), " has pixel_size ",
                 16 * static_cast<int>(std::lround(std::sqrt(mod.max_tokens))),
                 "); without it give the modality input and target alpha 0"));
    }
    unserved_[m] = true;
    return absl::OkStatus();
  }
  const std::optional<text::TextBuilder> builder = text::TextBuilderFor(mod.name);
  if (!builder) {
    return absl::InvalidArgumentError(
        StrCat(where,
               "; maskfeed builds raw caption, det, metadata, color_palette, human_poses, "
               "sam_instance and t5_caption members (not yet pixels)"));
  }
  const bool tokenizes = text::BuilderTokenizes(*builder);
  if (mod.type != (tokenizes ? ModalityType::kSeq : ModalityType::kSeqEmb)) {
    return absl::InvalidArgumentError(StrCat(
        where, tokenizes ? ": raw text becomes MODALITY_TYPE_SEQ ids, the modality is not one"
                         : ": T5 embeddings need MODALITY_TYPE_SEQ_EMB"));
  }
  for (RecordKind k : kinds) {
    if (!text::BuilderReads(*builder, k)) {
      return absl::InvalidArgumentError(
          StrCat(where, "; ", mod.name, " reads ", text::BuilderReadsText(*builder), " members"));
    }
  }
  if (!tokenizes) {
    text_[m].emplace(*builder, nullptr, text::TextModalityOptions{});
    has_text_ = true;
    return absl::OkStatus();
  }
  if (raw.tokenizer == nullptr) {
    return WithFields(absl::FailedPreconditionError(
                          StrCat(where,
                                 ": raw text needs 4M's text tokenizer (text_tokenizer in the "
                                 "dataset's config)")),
                      {"text_tokenizer"});
  }
  if (mod.vocab_size > 0 && raw.tokenizer->max_id() >= static_cast<int64_t>(mod.vocab_size)) {
    return absl::InvalidArgumentError(StrCat(where, ": the text tokenizer has ids up to ",
                                             raw.tokenizer->max_id(), " but vocab_size is ",
                                             mod.vocab_size));
  }
  if (text::BuilderNeedsImageGeometry(*builder)) {
    if (absl::Status s = NeedCropSettings(mod, where); !s.ok()) return s;
    const std::string& domain = raw.main_augment_domain;
    if (domain.empty() || domain.find("tok") != std::string::npos) {
      return absl::FailedPreconditionError(StrCat(
          where, ": ", mod.name,
          " needs the original image size, from main_augment_domain (an image modality, not a "
          "tok_ one)",
          domain.empty() ? ", which is not set" : StrCat(", which is '", domain, "'")));
    }
    std::vector<std::string> tried;
    const std::optional<size_t> image = FindFolder(ds, domain, "", &tried);
    if (!image || !AllImages(ds.record_kinds(*image))) {
      return absl::FailedPreconditionError(StrCat(
          where, ": main_augment_domain '", domain, "' ",
          image ? StrCat("is folder ", ds.modality_name(*image), ", which holds ",
                         ds.layout(*image).raw ? KindList(ds.record_kinds(*image))
                                               : ds.layout(*image).ToString(),
                         ", not jpg/png images")
                : StrCat("has no folder in dataset ", ds.root(), " (looked for ", tried[0], ")")));
    }
    image_size_ = image;
  }
  text_[m].emplace(*builder, raw.tokenizer.get(),
                   text::TextModalityOptions{.aligned_captions = raw.aligned_captions});
  has_text_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const StreamSource>> StreamSource::Create(
    std::shared_ptr<const Dataset> dataset, const v1::MaskingConfig& config,
    const RawOptions& raw) {
  absl::StatusOr<MaskingSpec> spec = ResolveMaskingConfig(config);
  if (!spec.ok()) return spec.status();
  std::shared_ptr<StreamSource> source(new StreamSource(std::move(dataset), std::move(*spec)));
  const Dataset& ds = *source->dataset_;
  const size_t k = source->spec().modalities.size();
  source->text_.resize(k);
  source->unserved_.assign(k, false);
  source->pixels_.assign(k, false);
  source->tokenizer_ = raw.tokenizer;
  source->pixel_options_ = raw.pixels;
  for (size_t m = 0; m < k; ++m) {
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
    source->dataset_modality_.push_back(*found);
    source->reads_crop_row_.push_back(mod.type == ModalityType::kImg &&
                                      ds.layout(*found).rank == 2);
    if (ds.layout(*found).raw) {
      if (absl::Status s = source->AddRawModality(m, *found, raw); !s.ok()) return s;
      continue;
    }
    const std::string problem = LayoutProblem(mod, ds.layout(*found));
    if (!problem.empty()) {
      return absl::InvalidArgumentError(StrCat("modality ", mod.name, ": dataset folder ",
                                               ds.modality_name(*found), " holds ",
                                               ds.layout(*found).ToString(), ": ", problem));
    }
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
  // What turns raw members into ids is part of what the bytes depend on.
  std::string text_identity;
  if (source->has_text_) {
    text_identity =
        StrCat("|text:", (raw.tokenizer ? raw.tokenizer->digest() : std::string("none")), ":",
               raw.main_augment_domain, ":", raw.aligned_captions);
  }
  // The fast pixel path gives other bytes than the exact one (the pixel limit only errors).
  if (source->has_pixels_ && raw.pixels.fast) text_identity += "|pixels:fast";
  const std::array<uint8_t, 32> digest = Sha256(StrCat(identity, "|", masking, text_identity));
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
    std::shared_ptr<const StreamSource> source) {
  std::vector<MixtureEntry> entries;
  entries.push_back({"dataset", 1, std::move(source)});
  absl::StatusOr<std::shared_ptr<const MixtureSource>> mixture = Create(std::move(entries));
  return *mixture;  // one valid source always makes a valid mixture
}

}  // namespace maskfeed
