// Reading protobuf text format (the format of maskfeed's config files) with errors that say
// where: the parser's line and column, and the file name when reading a file.
#ifndef MASKFEED_PIPELINE_BASE_TEXT_PROTO_H_
#define MASKFEED_PIPELINE_BASE_TEXT_PROTO_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace maskfeed {

// Parses `text` into `out`; INVALID_ARGUMENT "<what>: line L, column C: <parser message>".
absl::Status ParseTextProto(std::string_view text, std::string_view what,
                            google::protobuf::Message* out);

// Reads `path` and parses it; NOT_FOUND "cannot read <what> <path>" when it cannot be read,
// INVALID_ARGUMENT "<path>: <what>: line L, ..." when it does not parse.
absl::Status LoadTextProtoFile(const std::string& path, std::string_view what,
                               google::protobuf::Message* out);

// The same, returning the message.
template <typename T>
absl::StatusOr<T> ParseTextProtoAs(std::string_view text, std::string_view what) {
  T message;
  if (absl::Status s = ParseTextProto(text, what, &message); !s.ok()) return s;
  return message;
}
template <typename T>
absl::StatusOr<T> LoadTextProtoFileAs(const std::string& path, std::string_view what) {
  T message;
  if (absl::Status s = LoadTextProtoFile(path, what, &message); !s.ok()) return s;
  return message;
}

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_TEXT_PROTO_H_
