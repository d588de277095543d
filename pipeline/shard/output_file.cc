#include "pipeline/shard/output_file.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

absl::Status IoError(std::string_view what, const std::string& path) {
  return absl::InternalError(StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<OutputFile> OutputFile::Create(const std::string& path) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return IoError("cannot create", tmp);
  std::setvbuf(f, nullptr, _IOFBF, kBufferBytes);
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
    return IoError("cannot write", TempPath());
  }
  offset_ += bytes.size();
  return absl::OkStatus();
}

absl::Status OutputFile::Commit() {
  if (file_ == nullptr) return absl::FailedPreconditionError(path_ + " is already committed");
  std::FILE* f = std::exchange(file_, nullptr);
  if (std::fflush(f) != 0) {
    std::fclose(f);
    std::remove(TempPath().c_str());
    return IoError("cannot flush", TempPath());
  }
  if (std::fclose(f) != 0) {
    std::remove(TempPath().c_str());
    return IoError("cannot close", TempPath());
  }
  if (std::rename(TempPath().c_str(), path_.c_str()) != 0) {
    std::remove(TempPath().c_str());
    return IoError("cannot rename into", path_);
  }
  return absl::OkStatus();
}

}  // namespace maskfeed
