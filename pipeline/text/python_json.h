// JSON as 4M's loader reads it: Python's json module, which also accepts NaN, Infinity and
// -Infinity, on strict UTF-8 (webdataset decodes `.json` members with json.loads), and
// `.json.gz` members gunzipped first. simdjson parses (every sample's caption and det member
// goes through here, so the parser must run at memory speed; simdjson's DOM validates the
// whole document as json.loads does); the three non-standard literals are rewritten (outside
// strings) to marker strings that NumberAt (json_values.h) reads back as floats. Errors are
// DATA_LOSS; a syntax error names its line and column (nlohmann-json, on the error path only,
// finds the spot: simdjson reports none).
//
//   PythonJsonParser parser;                      // one per thread; reuses its buffers
//   absl::StatusOr<JsonValue> j = parser.Parse(bytes);   // valid until the next Parse
//   absl::StatusOr<std::string> text = Gunzip(member_bytes, kMaxJsonBytes);
#ifndef MASKFEED_PIPELINE_TEXT_PYTHON_JSON_H_
#define MASKFEED_PIPELINE_TEXT_PYTHON_JSON_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "simdjson.h"

namespace maskfeed::text {

// A parsed JSON value: a view into the parser that produced it.
using JsonValue = simdjson::dom::element;

// The largest decompressed or parsed JSON member maskfeed accepts (a caption list or a det
// file is a few KB; this bounds a hostile one).
inline constexpr size_t kMaxJsonBytes = 64 << 20;

// The strings NaN, Infinity and -Infinity become (NumberAt turns them back into floats).
inline constexpr char kNanMarker[] = "\x01maskfeed:NaN";
inline constexpr char kInfinityMarker[] = "\x01maskfeed:Infinity";
inline constexpr char kMinusInfinityMarker[] = "\x01maskfeed:-Infinity";

// OK when `bytes` is valid UTF-8; otherwise DATA_LOSS naming the byte offset.
absl::Status CheckUtf8(std::string_view bytes);

// Parses JSON documents as Python's json.loads does. Not thread-safe; a value returned by
// Parse stays valid until the next Parse on the same parser.
class PythonJsonParser {
 public:
  absl::StatusOr<JsonValue> Parse(std::string_view bytes);

 private:
  // Copies `text` into padded_ (simdjson reads up to SIMDJSON_PADDING bytes past the end).
  simdjson::error_code ParsePadded(std::string_view text, JsonValue* out);

  simdjson::dom::parser parser_;
  std::string padded_;
  std::string rewritten_;
};

// The gunzipped bytes of a gzip member (several concatenated members allowed); DATA_LOSS when
// truncated or corrupt, or when the output would exceed `max_bytes`.
absl::StatusOr<std::string> Gunzip(std::string_view gz, size_t max_bytes);

}  // namespace maskfeed::text

#endif  // MASKFEED_PIPELINE_TEXT_PYTHON_JSON_H_
