// A read-only memory mapping of a whole file, owned RAII-style.
//
// Shard readers map their file once and serve every record from the mapping, so random access
// from a warm page cache costs no system call.
#ifndef MASKFEED_PIPELINE_SHARD_MAPPED_FILE_H_
#define MASKFEED_PIPELINE_SHARD_MAPPED_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace maskfeed {

class MappedFile {
 public:
  // Maps `path` read-only. NOT_FOUND if it does not exist, other errors name the path and errno.
  static absl::StatusOr<MappedFile> Open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void Reset();

  std::string path_;
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_MAPPED_FILE_H_
