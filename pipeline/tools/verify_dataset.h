// Checks a whole dataset root: its layout and alignment (as Dataset::Open does), then every
// record of every modality (checksums, decompression, shapes). Corrupt records are collected,
// each naming file, record and key, rather than stopping at the first one.
#ifndef MASKFEED_PIPELINE_TOOLS_VERIFY_DATASET_H_
#define MASKFEED_PIPELINE_TOOLS_VERIFY_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/shard/parallel_jobs.h"

namespace maskfeed {

struct VerifyOptions {
  tbb::task_arena* arena = nullptr;
  ProgressFn progress;
  // Errors reported per shard file before moving on to the next one.
  size_t max_errors_per_shard = 10;
};

struct VerifyReport {
  uint64_t samples = 0;
  uint64_t modalities = 0;
  uint64_t shards = 0;
  uint64_t records_checked = 0;
  uint64_t bytes_on_disk = 0;
  // Record-level problems, in file order. Empty when the dataset is sound.
  std::vector<absl::Status> errors;
};

// Returns the layout error (DATA_LOSS, NOT_FOUND, ...) when the dataset cannot be opened at
// all, otherwise a report whose `errors` lists every corrupt record found.
absl::StatusOr<VerifyReport> VerifyDataset(const std::string& root,
                                           const VerifyOptions& options = {});

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TOOLS_VERIFY_DATASET_H_
