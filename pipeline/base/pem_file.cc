#include "pipeline/base/pem_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "pipeline/base/strings.h"

namespace maskfeed {

absl::StatusOr<std::string> ReadPemFile(std::string_view field, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return absl::Status(
        err == ENOENT ? absl::StatusCode::kNotFound : absl::StatusCode::kPermissionDenied,
        StrCat(field, ": cannot read ", path, ": ", std::strerror(err)));
  }
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(StrCat(field, ": ", path, " is not a PEM file"));
  }
  return pem;
}

}  // namespace maskfeed
