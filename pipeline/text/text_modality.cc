#include "pipeline/text/text_modality.h"

#include <algorithm>
#include <cstring>

#include "pipeline/base/strings.h"
#include "pipeline/shard/npy.h"
#include "pipeline/text/npz.h"
#include "pipeline/text/numpy_pickle.h"
#include "pipeline/text/python_json.h"

namespace maskfeed::text {
namespace {

// `out` becomes the ids (no chunk boundaries).
void SetIds(std::span<const int32_t> ids, Record* out) {
  out->kind = RecordKind::kArray;
  out->chunks.clear();
  out->dtype = DType::kInt32;
  out->shape = Shape{static_cast<int64_t>(ids.size())};
  out->data.resize(ids.size() * sizeof(int32_t));
  if (!ids.empty()) std::memcpy(out->data.data(), ids.data(), out->data.size());
}

absl::Status NeedsGeometry(const SampleCrop& crop, std::string_view what) {
  if (!crop.has_window) {
    return absl::FailedPreconditionError(StrCat(what, " needs the sample's crop_settings row"));
  }
  if (!crop.orig) {
    return absl::FailedPreconditionError(
        StrCat(what, " needs the original image size (main_augment_domain)"));
  }
  return absl::OkStatus();
}

// t5_caption (docs/raw-modalities.md#t5_caption): the crop's sequence (the only one when n_seq is
// 1), its rows whose mask_valid is set, in order.
absl::Status BuildT5Rows(const Record& raw, int64_t rand_aug_idx, Record* out) {
  absl::StatusOr<NpzArrays> arrays = ReadNpz(raw.bytes(), {"emb", "mask_valid"});
  if (!arrays.ok()) return arrays.status();
  const NpzArray& emb = arrays->at("emb");
  const NpzArray& mask = arrays->at("mask_valid");
  const Shape& es = emb.header.shape;
  const Shape& ms = mask.header.shape;
  if (es.rank != 3 ||
      (emb.header.dtype != DType::kFloat16 && emb.header.dtype != DType::kFloat32)) {
    return absl::DataLossError(StrCat("emb is ", DTypeName(emb.header.dtype), " ", es.ToString(),
                                      "; expected float16/float32 (n_seq, L, D)"));
  }
  if (ms.rank != 2 || ms[0] != es[0] || ms[1] != es[1] || ItemSize(mask.header.dtype) != 1) {
    return absl::DataLossError(StrCat("mask_valid is ", DTypeName(mask.header.dtype), " ",
                                      ms.ToString(), "; expected bool (", es[0], ", ", es[1],
                                      ") beside emb ", es.ToString()));
  }
  const int64_t n_seq = es[0];
  const int64_t seq = n_seq == 1 ? 0 : std::max<int64_t>(0, rand_aug_idx);
  if (seq >= n_seq) {
    return absl::DataLossError(StrCat("emb holds ", n_seq, " sequences but crop variant ", seq,
                                      " was drawn (4M: one sequence per crop)"));
  }
  const size_t row_bytes = static_cast<size_t>(es[2]) * ItemSize(emb.header.dtype);
  const auto length = static_cast<size_t>(es[1]);
  const char* flags = mask.data.data() + static_cast<size_t>(seq) * length;
  const char* rows = emb.data.data() + static_cast<size_t>(seq) * length * row_bytes;
  size_t kept = 0;
  for (size_t r = 0; r < length; ++r) kept += flags[r] != 0;
  out->kind = RecordKind::kArray;
  out->chunks.clear();
  out->dtype = emb.header.dtype;
  out->shape = Shape{static_cast<int64_t>(kept), es[2]};
  out->data.resize(kept * row_bytes);
  std::byte* to = out->data.data();
  for (size_t r = 0; r < length; ++r) {
    if (flags[r] == 0) continue;
    std::memcpy(to, rows + r * row_bytes, row_bytes);
    to += row_bytes;
  }
  return absl::OkStatus();
}

// sam_instance (docs/raw-modalities.md#sam_instance): the crop's entry of the pickled object array.
absl::StatusOr<std::string> SamText(const Record& raw, int64_t rand_aug_idx, Rng& rng) {
  absl::StatusOr<NpyHeader> header = ParseNpy(raw.bytes());
  if (!header.ok()) return header.status();
  if (!header->object) return absl::DataLossError("sam_instance is not an object array");
  absl::StatusOr<PyRef> array = ReadNumpyPickle(raw.bytes().substr(header->data_offset));
  if (!array.ok()) return array.status();
  if ((*array)->kind != PyObject::Kind::kArray || (*array)->text != "|O") {
    return absl::DataLossError("sam_instance does not unpickle to an object array");
  }
  const int64_t entries = static_cast<int64_t>((*array)->items.size());
  const int64_t index = std::max<int64_t>(0, rand_aug_idx);
  if (index >= entries) {
    return absl::DataLossError(
        StrCat("sam_instance holds ", entries, " entries but crop variant ", index, " was drawn"));
  }
  return BuildSamText(*(*array)->items[static_cast<size_t>(index)], rng);
}

}  // namespace

std::optional<TextBuilder> TextBuilderFor(std::string_view name) {
  if (name == "caption") return TextBuilder::kCaption;
  if (name == "det") return TextBuilder::kDet;
  if (name == "metadata") return TextBuilder::kMetadata;
  if (name == "color_palette") return TextBuilder::kPalette;
  if (name == "human_poses") return TextBuilder::kPoses;
  if (name == "t5_caption") return TextBuilder::kT5Caption;
  if (name == "sam_instance") return TextBuilder::kSam;
  return std::nullopt;
}

bool BuilderReads(TextBuilder builder, RecordKind kind) {
  if (builder == TextBuilder::kT5Caption) return kind == RecordKind::kNpz;
  if (builder == TextBuilder::kSam) return kind == RecordKind::kPickle;
  if (kind == RecordKind::kJson) return true;
  return builder == TextBuilder::kCaption &&
         (kind == RecordKind::kText || kind == RecordKind::kJsonGz);
}

std::string_view BuilderReadsText(TextBuilder builder) {
  switch (builder) {
    case TextBuilder::kCaption:
      return "txt, json or json.gz";
    case TextBuilder::kT5Caption:
      return "npz";
    case TextBuilder::kSam:
      return "object-array npy";
    default:
      return "json";
  }
}

bool BuilderTokenizes(TextBuilder builder) { return builder != TextBuilder::kT5Caption; }

bool BuilderNeedsImageGeometry(TextBuilder builder) {
  return builder == TextBuilder::kDet || builder == TextBuilder::kPoses;
}

TextModality::TextModality(TextBuilder builder, const WordPieceTokenizer* tokenizer,
                           TextModalityOptions options)
    : builder_(builder), tokenizer_(tokenizer), options_(options) {
  if (builder_ != TextBuilder::kDet || !options_.det_direct_ids) return;
  // Every coordinate must encode alone to one id: then, separated from its neighbours by
  // spaces (single_word tokens' boundaries), it encodes to that id in the whole text too.
  std::vector<int32_t> ids;
  coordinate_ids_.resize(4000);
  for (int j = 0; j < 4; ++j) {
    for (int i = 0; i < 1000; ++i) {
      ids.clear();
      tokenizer_->Encode(StrCat("v", j, "=", i), &ids);
      if (ids.size() != 1) {
        coordinate_ids_.clear();
        return;
      }
      coordinate_ids_[static_cast<size_t>(j * 1000 + i)] = ids[0];
    }
  }
}

absl::StatusOr<JsonValue> TextModality::Json(const Record& raw, TextScratch* scratch) const {
  if (raw.kind == RecordKind::kJsonGz) {
    absl::StatusOr<std::string> inflated = Gunzip(raw.bytes(), kMaxJsonBytes);
    if (!inflated.ok()) return inflated.status();
    scratch->inflated = std::move(*inflated);
    return scratch->json.Parse(scratch->inflated);
  }
  return scratch->json.Parse(raw.bytes());
}

void TextModality::AppendNameIds(std::string_view name, TextScratch* scratch) const {
  constexpr size_t kMaxNames = 4096;  // COCO has 80; a hostile dataset cannot grow it
  auto it = scratch->name_spans.find(absl::string_view(name.data(), name.size()));
  if (it == scratch->name_spans.end()) {
    if (scratch->name_spans.size() >= kMaxNames) {
      scratch->name_spans.clear();
      scratch->name_ids.clear();
    }
    const auto offset = static_cast<uint32_t>(scratch->name_ids.size());
    tokenizer_->Encode(name, &scratch->name_ids);
    const auto count = static_cast<uint32_t>(scratch->name_ids.size() - offset);
    it = scratch->name_spans.emplace(std::string(name), std::pair{offset, count}).first;
  }
  const auto [offset, count] = it->second;
  scratch->ids.insert(scratch->ids.end(), scratch->name_ids.begin() + offset,
                      scratch->name_ids.begin() + offset + count);
}

void TextModality::Emit(std::string_view text, TextScratch* scratch, Record* out) const {
  scratch->ids.clear();
  tokenizer_->Encode(text, &scratch->ids);
  SetIds(scratch->ids, out);
}

absl::Status TextModality::Build(const Record& raw, const SampleCrop& crop, Rng& rng,
                                 TextScratch* scratch, Record* out) const {
  if (!BuilderReads(builder_, raw.kind)) {
    return absl::DataLossError(StrCat("a ", RecordKindName(raw.kind), " member where ",
                                      BuilderReadsText(builder_), " is expected"));
  }
  if (builder_ == TextBuilder::kT5Caption) return BuildT5Rows(raw, crop.rand_aug_idx, out);
  if (builder_ == TextBuilder::kSam) {
    absl::StatusOr<std::string> text = SamText(raw, crop.rand_aug_idx, rng);
    if (!text.ok()) return text.status();
    Emit(*text, scratch, out);
    return absl::OkStatus();
  }
  if (builder_ == TextBuilder::kCaption && raw.kind == RecordKind::kText) {
    absl::StatusOr<std::string> text = CaptionFromTxt(raw.bytes());
    if (!text.ok()) return text.status();
    Emit(*text, scratch, out);
    return absl::OkStatus();
  }
  absl::StatusOr<JsonValue> json = Json(raw, scratch);
  if (!json.ok()) return json.status();
  absl::StatusOr<std::string> text;
  switch (builder_) {
    case TextBuilder::kCaption: {
      absl::StatusOr<std::string_view> caption =
          SelectCaption(*json, crop.rand_aug_idx, crop.n_crops, options_.aligned_captions, rng);
      if (!caption.ok()) return caption.status();
      Emit(*caption, scratch, out);
      return absl::OkStatus();
    }
    case TextBuilder::kDet: {
      if (absl::Status s = NeedsGeometry(crop, "det"); !s.ok()) return s;
      if (coordinate_ids_.empty()) {
        text = BuildDetText(*json, *crop.orig, crop.window);
        break;
      }
      if (absl::Status s = BuildDetBoxes(*json, *crop.orig, crop.window, &scratch->boxes);
          !s.ok()) {
        return s;
      }
      scratch->ids.clear();
      for (const DetBox& box : scratch->boxes) {
        for (int j = 0; j < 4; ++j) {
          scratch->ids.push_back(coordinate_ids_[static_cast<size_t>(j * 1000 + box.values[j])]);
        }
        AppendNameIds(box.name, scratch);
      }
      SetIds(scratch->ids, out);
      return absl::OkStatus();
    }
    case TextBuilder::kPoses:
      if (absl::Status s = NeedsGeometry(crop, "human_poses"); !s.ok()) return s;
      text = BuildPoseText(*json, *crop.orig, crop.window, rng);
      break;
    case TextBuilder::kPalette:
      text = BuildPaletteText(*json, rng);
      break;
    case TextBuilder::kT5Caption:  // handled above
    case TextBuilder::kSam:
      break;
    case TextBuilder::kMetadata: {
      // Each chunk is encoded on its own (docs/raw-modalities.md#tokenizing); the masker keeps
      // whole chunks.
      absl::StatusOr<std::vector<std::string>> chunks = BuildMetadataChunks(*json, rng);
      if (!chunks.ok()) return chunks.status();
      scratch->ids.clear();
      scratch->chunks.assign(1, 0);
      for (const std::string& chunk : *chunks) {
        tokenizer_->Encode(chunk, &scratch->ids);
        scratch->chunks.push_back(static_cast<uint32_t>(scratch->ids.size()));
      }
      SetIds(scratch->ids, out);
      out->chunks.assign(scratch->chunks.begin(), scratch->chunks.end());
      return absl::OkStatus();
    }
  }
  if (!text.ok()) return text.status();
  Emit(*text, scratch, out);
  return absl::OkStatus();
}

}  // namespace maskfeed::text
