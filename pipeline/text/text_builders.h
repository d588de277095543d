// The strings 4M builds from its raw JSON modalities before tokenizing them
// (docs/raw-modalities.md): det boxes, metadata chunks, color palettes and human poses, in the
// sample's crop. Each is a pure function of the decoded JSON, the crop and the sample's generator
// (every random draw comes from it, so determinism, resume and elastic ranks hold). Malformed input
// gives DATA_LOSS naming the JSON path ("instances[2].boxes: ..."); callers add file and record.
//
//   CropWindow crop{.top = 0, .left = 80, .height = 480, .width = 480, .flip = false};
//   absl::StatusOr<std::string> det = BuildDetText(json, {.height = 480, .width = 640}, crop);
//   // "v0=166 v1=250 v2=500 v3=749 person v0=899 ..."
#ifndef MASKFEED_PIPELINE_TEXT_TEXT_BUILDERS_H_
#define MASKFEED_PIPELINE_TEXT_TEXT_BUILDERS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/base/random.h"
#include "pipeline/text/numpy_pickle.h"
#include "pipeline/text/python_json.h"

namespace maskfeed::text {

// The original image's size (of main_augment_domain), in pixels.
struct ImageSize {
  double height = 0;
  double width = 0;
};

// The crop of a sample's crop_settings row, in original-image pixels, and its flip.
struct CropWindow {
  double top = 0;
  double left = 0;
  double height = 0;
  double width = 0;
  bool flip = false;
};

// caption, from a `.txt` member: the whole text (strict UTF-8; a trailing newline
// stays, the tokenizer drops it as whitespace).
absl::StatusOr<std::string> CaptionFromTxt(std::string_view bytes);

// caption from decoded JSON: a string; a list with one element per crop variant, each a
// string or an object with a "caption" string; or an object with "caption". A list gives
// element `rand_aug_idx` (0 when the sample has no crop settings: pass -1) when `aligned`,
// else a uniformly drawn element. An aligned list shorter than `n_crops` is DATA_LOSS naming
// both lengths (4M fails with an IndexError only when the draw falls past it).
// The caption points into `caption` (valid until its parser's next Parse).
absl::StatusOr<std::string_view> SelectCaption(JsonValue caption, int64_t rand_aug_idx,
                                               int64_t n_crops, bool aligned, Rng& rng);

// One det box as 4M writes it: "v0=A v1=B v2=C v3=D name", A..D in 0..999. `name` points
// into the parsed JSON (valid until its parser's next Parse).
struct DetBox {
  int values[4] = {0, 0, 0, 0};
  std::string_view name;
};
// The boxes of BuildDetText, in its order, before they are written out, into `out`.
absl::Status BuildDetBoxes(JsonValue det, ImageSize orig, const CropWindow& crop,
                           std::vector<DetBox>* out);

// det: instances scoring >= 0.6, in crop coordinates, clipped, zero-area dropped,
// flipped, sorted by x0² + y0², as "v0=A v1=B v2=C v3=D name" joined by spaces.
absl::StatusOr<std::string> BuildDetText(JsonValue det, ImageSize orig, const CropWindow& crop);

// metadata: one chunk "v1=<j> v0=<value>" per key, in a shuffled order. Unknown keys
// and non-numeric values are DATA_LOSS.
absl::StatusOr<std::vector<std::string>> BuildMetadataChunks(JsonValue metadata, Rng& rng);

// color_palette: k drawn uniformly from 1..7, then "v1=<k> v0=<x>..." for palette k.
absl::StatusOr<std::string> BuildPaletteText(JsonValue palette, Rng& rng);

// human_poses: "none", or per person in the crop (no flip, as 4M does) "human" + box,
// then pose, global, camera and shape in a random order; each person ends with a space.
// Boxes are computed in double even when the JSON holds integers (4M truncates them then,
// which drops almost every such person).
absl::StatusOr<std::string> BuildPoseText(JsonValue poses, ImageSize orig, const CropWindow& crop,
                                          Rng& rng);

// sam_instance, from the crop's entry (a dict of points, token_ids, bbox, as NumPy
// pickled it): 7 query points drawn in the 224×224 crop, the instances whose first contour
// holds each (boundary included), points and lists shuffled, "point v0=y v1=x" then "none" or
// per instance "polygon v0=xmin v1=ymin v2=xmax v3=ymax" and its token ids.
absl::StatusOr<std::string> BuildSamText(const PyObject& entry, Rng& rng);
// A SAM query point, in pixels of the 224 x 224 crop.
struct SamPoint {
  int64_t x = 0;
  int64_t y = 0;
};
// BuildSamText with the query points given instead of drawn (repeated points collapse, first
// occurrence first); only the shuffles come from `rng`. Tests check it against 4M's code.
absl::StatusOr<std::string> BuildSamTextAt(const PyObject& entry, std::span<const SamPoint> points,
                                           Rng& rng);

// Python's repr of a float ("20.0", "0.5", "1e-05"), as 4M prints metadata values.
std::string PythonFloatRepr(double v);

}  // namespace maskfeed::text

#endif  // MASKFEED_PIPELINE_TEXT_TEXT_BUILDERS_H_
