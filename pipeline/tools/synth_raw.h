// Raw 4M members for synthetic datasets (maskfeed-shard synth, presets 4m-7 and 4m-21): what
// 4M stores un-tokenized — caption JSON lists (one caption per crop variant), det JSON boxes in
// the original image's normalised coordinates, metadata JSON, the rgb JPEG; for 4M-21 also
// color palettes, human poses, SAM instances and T5 caption embeddings — and a small WordPiece
// tokenizer.json of the dataset's own with 4M's special-token layout (ids 0..4283: [PAD]..[EOS],
// [S_0]..[S_199], v0=0..v3=999, the 80 COCO class names), so demos and tests need nothing
// from outside. Every member is a pure function of its seed.
#ifndef MASKFEED_PIPELINE_TOOLS_SYNTH_RAW_H_
#define MASKFEED_PIPELINE_TOOLS_SYNTH_RAW_H_

#include <cstdint>
#include <string>

namespace maskfeed {

// ["a dog on a bench .", {"caption": "..."}, ...]: `crops` captions of 6..300 words (4M's
// lengths: mostly short, a few past its 256-token limit).
std::string SynthCaptionJson(uint64_t seed, int crops);
// {"instances": [{"boxes": [x0, y0, x1, y1], "class_name": ..., "score": ...}, ...]}: boxes
// normalised by the image size, scores around 4M's 0.6 threshold.
std::string SynthDetJson(uint64_t seed);
// 4M's metadata keys with plausible values for an image of this size.
std::string SynthMetadataJson(uint64_t seed, int height, int width);
// 4M-21's metadata: 12 to all 21 of 4M's keys, ints and floats, some past their bin ranges.
std::string SynthMetadata21Json(uint64_t seed, int height, int width);
// [{"1": [[r, g, b]], ..., "7": [7 colours]}]: 4M's color_palette, channel values in 0..255,
// some exactly half-way between integers.
std::string SynthPaletteJson(uint64_t seed);
// 4M's human_poses: {} (no people) or per person bbox_xyxy (pixels of the original image,
// some reaching past the image), pred_smpl_params (global_orient 1x3x3, body_pose 23x3x3,
// betas 10, a few past [-3, 3]), pose_tokenized (8 codes in 0..1023), pred_cam (3).
std::string SynthPosesJson(uint64_t seed, int height, int width);
// 4M's sam_instance .npy: an object array (NumPy's pickle) of one dict per crop variant —
// points (per instance a list holding an int32 (N, 1, 2) contour in the 224 x 224 crop),
// token_ids (int64, instances x 16, below 1024), bbox (float32, instances x 4: ymin, xmin,
// ymax, xmax).
std::string SynthSamNpy(uint64_t seed, int crops);
// 4M's t5_caption .npz: emb float16 (crops, L, 4096) and mask_valid bool (crops, L), each
// crop's valid rows first (1..24 of them), L the longest.
std::string SynthT5Npz(uint64_t seed, int crops);
// A baseline JPEG of this size: smooth colour fields with a few soft blobs.
std::string SynthJpeg(uint64_t seed, int height, int width);
// The tokenizer of synthetic raw datasets (HuggingFace tokenizer.json); with the words of
// 4M-21's pose and SAM templates (none, human, pose, ...) as whole words when asked.
std::string SynthTokenizerJson(bool fourm21_words = false);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TOOLS_SYNTH_RAW_H_
