// 4M's raw text modalities turned into token ids, per sample and per crop: the step between
// reading a raw member and masking it (docs/raw-modalities.md#per-sample).
//
//   std::optional<TextBuilder> b = TextBuilderFor("det");       // by 4M's modality name
//   TextModality det(*b, tokenizer, {.aligned_captions = true});
//   det.Build(raw_record, sample_crop, rng, &scratch, &ids);    // int32 (n,) ids, no EOS
//
// The masker then appends EOS and keeps the first M ids (metadata: whole chunks, whose
// boundaries Build() records in ids.chunks). Every random draw (caption element when not
// aligned, palette size, metadata order, pose groups) comes from `rng`.
#ifndef MASKFEED_PIPELINE_TEXT_TEXT_MODALITY_H_
#define MASKFEED_PIPELINE_TEXT_TEXT_MODALITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "pipeline/base/random.h"
#include "pipeline/base/record.h"
#include "pipeline/text/python_json.h"
#include "pipeline/text/text_builders.h"
#include "pipeline/text/wordpiece_tokenizer.h"

namespace maskfeed::text {

enum class TextBuilder { kCaption, kDet, kMetadata, kPalette, kPoses, kSam, kT5Caption };

// The builder 4M's loader applies to a modality of this name ("caption", "det", "metadata",
// "color_palette", "human_poses", "sam_instance", "t5_caption"); nullopt for any other name.
std::optional<TextBuilder> TextBuilderFor(std::string_view modality_name);
// The member kinds a builder reads (caption: txt, json, json.gz; t5_caption: npz;
// sam_instance: object-array npy; the others: json), for messages as "json" or "txt, json or
// json.gz".
bool BuilderReads(TextBuilder builder, RecordKind kind);
std::string_view BuilderReadsText(TextBuilder builder);
// Whether the builder tokenizes (all but t5_caption, whose rows are T5 embeddings).
bool BuilderTokenizes(TextBuilder builder);
// Whether the builder needs the sample's crop window and the original image size (det,
// human_poses), which come from crop_settings and the main_augment_domain image.
bool BuilderNeedsImageGeometry(TextBuilder builder);

// Where a sample's crop comes from.
struct SampleCrop {
  int64_t rand_aug_idx = -1;  // the crop variant drawn; -1 when the dataset has no crops
  int64_t n_crops = 1;
  CropWindow window;              // valid when has_window
  bool has_window = false;        // crop_settings row read
  std::optional<ImageSize> orig;  // main_augment_domain's size, when read
};

// Per-thread buffers.
struct TextScratch {
  PythonJsonParser json;
  // det: the ids of class names already encoded on this thread (a name's ids depend on the
  // name alone), as {offset, count} into name_ids; cleared when it grows past a bound.
  absl::flat_hash_map<std::string, std::pair<uint32_t, uint32_t>> name_spans;
  std::vector<int32_t> name_ids;
  std::string text;
  std::string inflated;
  std::vector<int32_t> ids;
  std::vector<uint32_t> chunks;
  std::vector<DetBox> boxes;
};

struct TextModalityOptions {
  bool aligned_captions = true;  // 4M's aligned_captions (caption only)
  // det: write each box's coordinate ids directly and tokenize only its class name, when the
  // tokenizer encodes every "vJ=i" alone as one id (4M's does; checked at construction).
  // The ids are the same as tokenizing the whole text (tested); off = always the text.
  bool det_direct_ids = true;
};

class TextModality {
 public:
  // Requires: `tokenizer` outlives this object.
  TextModality(TextBuilder builder, const WordPieceTokenizer* tokenizer,
               TextModalityOptions options);

  TextBuilder builder() const { return builder_; }

  // Builds the sample's ids from its raw member into `out` (int32 (n,), kind kArray); for
  // t5_caption the crop's embedding rows whose mask_valid is set, (L_valid, D), float16/32.
  // DATA_LOSS naming what is wrong (JSON path, UTF-8 offset, member kind); the caller adds
  // the file, record and key.
  absl::Status Build(const Record& raw, const SampleCrop& crop, Rng& rng, TextScratch* scratch,
                     Record* out) const;

 private:
  // The member decoded as JSON (json.gz gunzipped first), by scratch->json.
  absl::StatusOr<JsonValue> Json(const Record& raw, TextScratch* scratch) const;
  void Emit(std::string_view text, TextScratch* scratch, Record* out) const;
  // Appends the ids of a det class name to scratch->ids (memoised per thread).
  void AppendNameIds(std::string_view name, TextScratch* scratch) const;

  TextBuilder builder_;
  const WordPieceTokenizer* tokenizer_;
  TextModalityOptions options_;
  // det_direct_ids: the id of "vJ=i" at [J * 1000 + i]; empty when the text path is used.
  std::vector<int32_t> coordinate_ids_;
};

}  // namespace maskfeed::text

#endif  // MASKFEED_PIPELINE_TEXT_TEXT_MODALITY_H_
