// Converts a dataset root (4M tar shards, or .mfs shards to re-encode) into native `.mfs`
// shards under another root, keeping modality folders, shard numbers and sample keys.
// The source is opened as a Dataset first, so a corrupt or misaligned source fails before
// anything is written.
#ifndef MASKFEED_PIPELINE_TOOLS_CONVERT_DATASET_H_
#define MASKFEED_PIPELINE_TOOLS_CONVERT_DATASET_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/shard/parallel_jobs.h"
#include "pipeline/tools/mfs_writer.h"

namespace maskfeed {

struct ConvertOptions {
  std::string src;
  std::string dst;
  MfsWriterOptions mfs;
  tbb::task_arena* arena = nullptr;  // converts shards in parallel when set
  ProgressFn progress;               // after each (modality, shard) written
};

struct ConvertReport {
  uint64_t samples = 0;
  uint64_t records = 0;
  uint64_t input_bytes = 0;   // source shard files
  uint64_t raw_bytes = 0;     // decoded record bytes
  uint64_t output_bytes = 0;  // written .mfs files
};

absl::StatusOr<ConvertReport> ConvertDataset(const ConvertOptions& options);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TOOLS_CONVERT_DATASET_H_
