// What `--data DIR` serves where the flags leave it open (maskfeed-server, maskfeed bench
// --in-process): the preset follows what the folder holds, and a dataset written by
// `maskfeed-shard synth` brings its own tokenizer.
#ifndef MASKFEED_PIPELINE_STREAM_DATA_DEFAULTS_H_
#define MASKFEED_PIPELINE_STREAM_DATA_DEFAULTS_H_

#include <string>

namespace maskfeed {

struct DataDefaults {
  // "4m-7" (4M-7 with rgb@224 pixels) when DIR has an `rgb` folder, else "4m-7-tokens".
  std::string preset;
  // DIR/tokenizer.json when it exists (synth's raw datasets have one), else empty.
  std::string text_tokenizer;
  // "rgb@224" for "4m-7" (what 4M's configs name as main_augment_domain), else empty.
  std::string main_augment_domain;
};

// `preset`: the one the user named, or empty to choose by the folder's content.
DataDefaults DefaultsForDataDir(const std::string& dir, const std::string& preset);
// The same from what a root holds (a remote root's listing): whether it has an `rgb` folder,
// and the local path of its tokenizer.json (empty: none).
DataDefaults DefaultsFor(bool has_rgb, const std::string& tokenizer, const std::string& preset);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STREAM_DATA_DEFAULTS_H_
