// Text corpora as 4M's tar layout: a JSON Lines file (one JSON object per line, as C4 and
// most text corpora are published) becomes FOLDER/shard-NNNNN.tar under the output root, each
// line's text field a `KEY.txt` member (KEY = the sample's index, 9 digits), so that a
// text-only dataset is served like any other (4M-21 mixes C4 this way, through HuggingFace's
// datasets; maskfeed reads shards).
//
//   JsonlImportOptions o{.in = "c4-train.00000-of-01024.json", .out = "/data/c4"};
//   absl::StatusOr<JsonlImportResult> r = ImportJsonLines(o);
//   // /data/c4/caption/shard-00000.tar, ...: serve with a caption masking config
#ifndef MASKFEED_PIPELINE_TOOLS_JSONL_IMPORT_H_
#define MASKFEED_PIPELINE_TOOLS_JSONL_IMPORT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "pipeline/base/progress.h"

namespace maskfeed {

struct JsonlImportOptions {
  std::string in;                  // the .jsonl file
  std::string out;                 // the dataset root
  std::string field = "text";      // the member of each line's object that holds the text
  std::string folder = "caption";  // the modality folder written (4M renames C4's text so)
  uint64_t samples_per_shard = 10000;
  // false: the first bad line ends the import (INVALID_ARGUMENT naming file and line; the
  // shards written are removed). true: each bad line is reported to on_bad_line and skipped.
  bool skip_bad_lines = false;
  std::function<void(const std::string& message)> on_bad_line = {};
  ProgressFn progress = {};  // bytes read of the file's size
};

struct JsonlImportResult {
  uint64_t samples = 0;
  uint64_t shards = 0;
  uint64_t bad_lines = 0;
};

// NOT_FOUND when the file cannot be read; INVALID_ARGUMENT for bad options or (without
// skip_bad_lines) a bad line: "FILE:LINE: ..." — not JSON, not an object, no string `field`,
// longer than 64 MiB. Blank lines are skipped.
absl::StatusOr<JsonlImportResult> ImportJsonLines(const JsonlImportOptions& options);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TOOLS_JSONL_IMPORT_H_
