// Raw 4M members for synthetic datasets (maskfeed-shard synth --raw): what 4M stores
// un-tokenized — caption JSON lists (one caption per crop variant), det JSON boxes in the
// original image's normalised coordinates, metadata JSON, the rgb JPEG — and a small WordPiece
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
// A baseline JPEG of this size: smooth colour fields with a few soft blobs.
std::string SynthJpeg(uint64_t seed, int height, int width);
// The tokenizer of synthetic raw datasets (HuggingFace tokenizer.json).
std::string SynthTokenizerJson();

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TOOLS_SYNTH_RAW_H_
