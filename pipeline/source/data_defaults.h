// What a dataset root serves where its description leaves it open (maskfeed-server --data,
// maskfeed bench --in-process --data): the preset follows what the root holds, and a dataset
// written by `maskfeed-shard synth` brings its own tokenizer.
#ifndef MASKFEED_PIPELINE_SOURCE_DATA_DEFAULTS_H_
#define MASKFEED_PIPELINE_SOURCE_DATA_DEFAULTS_H_

#include <string>

#include "absl/status/statusor.h"
#include "maskfeed/v1/server_config.pb.h"

namespace maskfeed {

struct DataDefaults {
  // "4m-21" (4M-21 with rgb@224 pixels) when DIR has `rgb` and `t5_caption` folders, "4m-7"
  // (4M-7 with rgb@224 pixels) when it has an `rgb` folder, else "4m-7-tokens".
  std::string preset;
  // Why that preset, for the log line (empty when the user named it).
  std::string why;
  // DIR/tokenizer.json when it exists (synth's raw datasets have one), else empty.
  std::string text_tokenizer;
  // "rgb@224" for "4m-7" and "4m-21" (what 4M's configs name as main_augment_domain), else
  // empty.
  std::string main_augment_domain;
};

// `preset`: the one the user named, or empty to choose by the folder's content.
DataDefaults DefaultsForDataDir(const std::string& dir, const std::string& preset);
// The same from what a root holds (a remote root's listing): whether it has `rgb` and
// `t5_caption` folders, and the local path of its tokenizer.json (empty: none).
struct RootContents {
  bool has_rgb = false;
  bool has_t5_caption = false;
  std::string tokenizer;
};
DataDefaults DefaultsFor(const RootContents& contents, const std::string& preset);
// DefaultsForDataDir for a root in object storage (s3://, http(s)://): its listing says
// whether it has an rgb folder; its tokenizer.json is fetched into the shard cache of
// `storage` (a directory under MaskfeedCacheDir() when the config leaves it empty). Errors
// name the URL.
absl::StatusOr<DataDefaults> DefaultsForRemoteRoot(const std::string& url,
                                                   const v1::StorageConfig& storage,
                                                   const std::string& preset);
// Either of the above, by the kind of `root`.
absl::StatusOr<DataDefaults> DefaultsForRoot(const std::string& root,
                                             const v1::StorageConfig& storage,
                                             const std::string& preset);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SOURCE_DATA_DEFAULTS_H_
