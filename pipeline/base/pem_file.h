// PEM files (certificates, keys, CA bundles) read whole for gRPC's TLS credentials, with
// errors that name the option or config field they came from.
//
//   absl::StatusOr<std::string> cert = ReadPemFile("tls.cert_file", path);
#ifndef MASKFEED_PIPELINE_BASE_PEM_FILE_H_
#define MASKFEED_PIPELINE_BASE_PEM_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace maskfeed {

// The file's bytes. NOT_FOUND or PERMISSION_DENIED when it cannot be read, INVALID_ARGUMENT
// when it holds no PEM block; every message starts with `field` and names the file.
absl::StatusOr<std::string> ReadPemFile(std::string_view field, const std::string& path);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_PEM_FILE_H_
