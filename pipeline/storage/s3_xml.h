// The S3 XML bodies maskfeed reads — ListObjectsV2 results and error documents — parsed with
// expat (Debian's libexpat). Untrusted input: malformed XML, missing or non-numeric fields are
// DATA_LOSS naming what is wrong; nothing is assumed about sizes or counts.
#ifndef MASKFEED_PIPELINE_STORAGE_S3_XML_H_
#define MASKFEED_PIPELINE_STORAGE_S3_XML_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace maskfeed {

struct S3Object {
  std::string key;
  uint64_t size = 0;
  std::string etag;
};

struct S3ListPage {
  std::vector<S3Object> objects;
  bool truncated = false;
  std::string next_continuation_token;
};

struct S3Error {
  std::string code;     // "NoSuchKey", "SignatureDoesNotMatch", ...
  std::string message;  // S3's sentence
};

absl::StatusOr<S3ListPage> ParseS3ListPage(std::string_view xml);
// An <Error> document; empty fields when the body is not one (S3 sends none for HEAD).
S3Error ParseS3Error(std::string_view xml);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_S3_XML_H_
