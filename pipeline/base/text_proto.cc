#include "pipeline/base/text_proto.h"

#include <fstream>
#include <sstream>

#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// Keeps the parser's first error with its position.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (error.empty()) error = StrCat("line ", line + 1, ", column ", column + 1, ": ", message);
  }
  std::string error;
};

}  // namespace

absl::Status ParseTextProto(std::string_view text, std::string_view what,
                            google::protobuf::Message* out) {
  FirstErrorCollector collector;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  if (!parser.ParseFromString(std::string(text), out)) {
    return absl::InvalidArgumentError(StrCat(what, ": ", collector.error));
  }
  return absl::OkStatus();
}

absl::Status LoadTextProtoFile(const std::string& path, std::string_view what,
                               google::protobuf::Message* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", what, " ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::Status parsed = ParseTextProto(text.str(), what, out);
  if (!parsed.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", ToStd(parsed.message())));
  return absl::OkStatus();
}

}  // namespace maskfeed
