#include "pipeline/base/output_file.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

// `err` is errno as the failing call left it: read before any other call can change it.
absl::Status IoError(std::string_view what, const std::string& path, int err) {
  return absl::InternalError(StrCat(what, " ", path, ": ", std::strerror(err)));
}

}  // namespace

absl::StatusOr<OutputFile> OutputFile::Create(const std::string& path) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    const int err = errno;
    return IoError("cannot create", tmp, err);
  }
  // A failure keeps stdio's default buffer: slower writes, the same bytes.
  (void)std::setvbuf(f, nullptr, _IOFBF, kBufferBytes);
  return OutputFile(path, f);
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)),
      file_(std::exchange(other.file_, nullptr)),
      offset_(other.offset_) {}

OutputFile::~OutputFile() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(TempPath().c_str());
  }
}

absl::Status OutputFile::Write(std::string_view bytes) {
  if (file_ == nullptr) return absl::FailedPreconditionError(path_ + " is already committed");
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    const int err = errno;
    return IoError("cannot write", TempPath(), err);
  }
  offset_ += bytes.size();
  return absl::OkStatus();
}

absl::Status OutputFile::Commit() {
  if (file_ == nullptr) return absl::FailedPreconditionError(path_ + " is already committed");
  std::FILE* f = std::exchange(file_, nullptr);
  if (std::fflush(f) != 0) {
    const int err = errno;
    std::fclose(f);
    std::remove(TempPath().c_str());
    return IoError("cannot flush", TempPath(), err);
  }
  if (std::fclose(f) != 0) {
    const int err = errno;
    std::remove(TempPath().c_str());
    return IoError("cannot close", TempPath(), err);
  }
  if (std::rename(TempPath().c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(TempPath().c_str());
    return IoError("cannot rename into", path_, err);
  }
  return absl::OkStatus();
}

}  // namespace maskfeed
