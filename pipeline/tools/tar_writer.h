// Writes tar shards in 4M's WebDataset layout (used by `maskfeed-shard synth` and tests).
//
// Members are POSIX ustar with fixed metadata (mtime 0, mode 0644), so the same content gives
// the same bytes; names longer than 100 bytes get a pax extended header.
#ifndef MASKFEED_PIPELINE_TOOLS_TAR_WRITER_H_
#define MASKFEED_PIPELINE_TOOLS_TAR_WRITER_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/base/output_file.h"

namespace maskfeed {

class TarWriter {
 public:
  static absl::StatusOr<TarWriter> Create(const std::string& path);

  // Appends a regular file.
  absl::Status Add(std::string_view name, std::string_view data);
  // Writes the end-of-archive marker and renames the file into place.
  absl::Status Finish();

 private:
  explicit TarWriter(OutputFile out) : out_(std::move(out)) {}
  absl::Status WriteHeader(std::string_view name, char type, uint64_t size);
  absl::Status Pad(uint64_t size);

  OutputFile out_;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TOOLS_TAR_WRITER_H_
