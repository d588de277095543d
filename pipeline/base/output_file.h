// A file written atomically: bytes go to "<path>.tmp", and Commit() flushes and renames it
// over `path`, so a reader never sees a half-written shard. Dropping an uncommitted file
// removes the temporary.
#ifndef MASKFEED_PIPELINE_BASE_OUTPUT_FILE_H_
#define MASKFEED_PIPELINE_BASE_OUTPUT_FILE_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace maskfeed {

class OutputFile {
 public:
  static absl::StatusOr<OutputFile> Create(const std::string& path);

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile();

  absl::Status Write(std::string_view bytes);
  // Bytes written so far.
  uint64_t offset() const { return offset_; }
  // Flushes, closes and renames the temporary over the final path.
  absl::Status Commit();
  const std::string& path() const { return path_; }

 private:
  OutputFile(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  std::string TempPath() const { return path_ + ".tmp"; }

  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t offset_ = 0;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_OUTPUT_FILE_H_
