// 4M's raw text modalities (caption, det, metadata, color_palette, human_poses, sam_instance,
// t5_caption): the member is read, then built into ids per sample and crop by its builder and
// 4M's tokenizer (pipeline/text/text_modality.h) — det and human_poses with the crop window and
// the original image size, which RowState reads once per row.
#include <memory>
#include <optional>

#include "pipeline/base/status_fields.h"
#include "pipeline/base/strings.h"
#include "pipeline/stream/modality_reader.h"

namespace maskfeed {
namespace {

// The dataset folder of a modality: its `field`, its name, or its name before '@'.
std::optional<size_t> FindImageFolder(const Dataset& ds, std::string_view name,
                                      std::string* tried) {
  *tried = std::string(name);
  if (std::optional<size_t> found = ds.FindModality(name)) return found;
  if (name.find('@') != std::string_view::npos)
    return ds.FindModality(name.substr(0, name.find('@')));
  return std::nullopt;
}

class TextReader final : public ModalityReader {
 public:
  TextReader(size_t m, size_t folder, std::string name, text::TextModality builder,
             std::string identity)
      : m_(m),
        folder_(folder),
        name_(std::move(name)),
        builder_(std::move(builder)),
        identity_(std::move(identity)) {}

  bool needs_geometry() const override {
    return text::BuilderNeedsImageGeometry(builder_.builder());
  }
  std::string identity() const override { return identity_; }
  bool builds() const override { return true; }

  void PrefetchIndex(const RowState& row) const override {
    row.shard(folder_).PrefetchIndex(row.location().record);
  }
  void Prefetch(const RowState& row) const override {
    row.shard(folder_).Prefetch(row.location().record);
  }
  absl::Status Read(RowState& row, ModalitySlot* slot) const override {
    slot->input = &slot->record;
    return row.shard(folder_).Read(row.location().record, &slot->record);
  }
  absl::Status Build(RowState& row, ReaderScratch* scratch, ModalitySlot* slot) const override {
    Rng rng = row.ModalityRng(m_);
    absl::Status st = builder_.Build(slot->record, row.crop(), rng, &scratch->text, &slot->built);
    if (!st.ok()) {
      const ShardReader& shard = row.shard(folder_);
      const size_t record = row.location().record;
      return absl::Status(st.code(),
                          StrCat(shard.path(), ": record ", record, " (key ", shard.key(record),
                                 "): ", name_, ": ", ToStd(st.message())));
    }
    slot->input = &slot->built;
    return absl::OkStatus();
  }

 private:
  const size_t m_;
  const size_t folder_;
  const std::string name_;
  const text::TextModality builder_;
  const std::string identity_;
};

// det and human_poses need the original image size, from main_augment_domain's folder.
absl::Status FindImageSize(const ReaderContext& c) {
  const std::string& domain = c.raw.main_augment_domain;
  const ModalitySpec& mod = c.modality();
  if (domain.empty() || domain.find("tok") != std::string::npos) {
    return WithFields(
        absl::FailedPreconditionError(StrCat(
            c.Where(), ": ", mod.name,
            " needs the original image size, from main_augment_domain (an image modality, not "
            "a tok_ one)",
            domain.empty() ? ", which is not set" : StrCat(", which is '", domain, "'"))),
        {"main_augment_domain"});
  }
  std::string tried;
  const std::optional<size_t> image = FindImageFolder(c.dataset, domain, &tried);
  if (!image || !AllImages(c.dataset.record_kinds(*image))) {
    std::string holds;
    if (image) {
      const RecordLayout& layout = c.dataset.layout(*image);
      if (layout.raw) {
        for (RecordKind k : c.dataset.record_kinds(*image)) {
          StrAppend(&holds, holds.empty() ? "" : ", ", RecordKindName(k));
        }
      } else {
        holds = layout.ToString();
      }
    }
    return absl::FailedPreconditionError(StrCat(
        c.Where(), ": main_augment_domain '", domain, "' ",
        image
            ? StrCat("is folder ", c.dataset.modality_name(*image), ", which holds ", holds,
                     ", not jpg/png images")
            : StrCat("has no folder in dataset ", c.dataset.root(), " (looked for ", tried, ")")));
  }
  c.crops->image_size = image;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModalityReader>> ClaimTextReader(const ReaderContext& c) {
  const ModalitySpec& mod = c.modality();
  const std::vector<RecordKind>& kinds = c.dataset.record_kinds(c.folder);
  if (!c.dataset.layout(c.folder).raw || (AllImages(kinds) && mod.type == ModalityType::kImg)) {
    return nullptr;
  }
  const std::optional<text::TextBuilder> builder = text::TextBuilderFor(mod.name);
  if (!builder) {
    return absl::InvalidArgumentError(
        StrCat(c.Where(),
               "; maskfeed builds raw caption, det, metadata, color_palette, human_poses, "
               "sam_instance and t5_caption members (not yet pixels)"));
  }
  const bool tokenizes = text::BuilderTokenizes(*builder);
  if (mod.type != (tokenizes ? ModalityType::kSeq : ModalityType::kSeqEmb)) {
    return absl::InvalidArgumentError(StrCat(
        c.Where(), tokenizes ? ": raw text becomes MODALITY_TYPE_SEQ ids, the modality is not one"
                             : ": T5 embeddings need MODALITY_TYPE_SEQ_EMB"));
  }
  for (RecordKind k : kinds) {
    if (!text::BuilderReads(*builder, k)) {
      return absl::InvalidArgumentError(StrCat(c.Where(), "; ", mod.name, " reads ",
                                               text::BuilderReadsText(*builder), " members"));
    }
  }
  // What turns raw members into ids is part of what the bytes depend on.
  const RawOptions& raw = c.raw;
  std::string identity =
      StrCat("|text:", (raw.tokenizer ? raw.tokenizer->digest() : std::string("none")), ":",
             raw.main_augment_domain, ":", raw.aligned_captions);
  if (!tokenizes) {
    return std::make_unique<TextReader>(
        c.m, c.folder, mod.name, text::TextModality(*builder, nullptr, text::TextModalityOptions{}),
        std::move(identity));
  }
  if (raw.tokenizer == nullptr) {
    return WithFields(absl::FailedPreconditionError(
                          StrCat(c.Where(),
                                 ": raw text needs 4M's text tokenizer (text_tokenizer in the "
                                 "dataset's config)")),
                      {"text_tokenizer"});
  }
  if (mod.vocab_size > 0 && raw.tokenizer->max_id() >= static_cast<int64_t>(mod.vocab_size)) {
    return absl::InvalidArgumentError(StrCat(c.Where(), ": the text tokenizer has ids up to ",
                                             raw.tokenizer->max_id(), " but vocab_size is ",
                                             mod.vocab_size));
  }
  if (text::BuilderNeedsImageGeometry(*builder)) {
    if (absl::Status s = c.NeedCrop(); !s.ok()) return s;
    if (absl::Status s = FindImageSize(c); !s.ok()) return s;
  }
  return std::make_unique<TextReader>(
      c.m, c.folder, mod.name,
      text::TextModality(*builder, raw.tokenizer.get(),
                         text::TextModalityOptions{.aligned_captions = raw.aligned_captions}),
      std::move(identity));
}

}  // namespace maskfeed
