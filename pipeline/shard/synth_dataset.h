// Synthetic datasets shaped like 4M's pre-tokenized training data, for the demo, tests and
// benchmarks: five 196-token image modalities with several crop variants, caption and
// detection id sequences of varied lengths, and crop_settings; or the same in 4M's raw layout
// (`raw`: caption/det/metadata JSON, rgb JPEGs, a tokenizer.json).
//
// Content is a pure function of (seed, sample index): the same options give the same files
// whatever the number of threads.
#ifndef MASKFEED_PIPELINE_SHARD_SYNTH_DATASET_H_
#define MASKFEED_PIPELINE_SHARD_SYNTH_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/shard/mfs_writer.h"
#include "pipeline/shard/parallel_jobs.h"
#include "pipeline/shard/shard_reader.h"

namespace maskfeed {

struct SynthOptions {
  static constexpr int kDefaultCrops = 4;

  // Dataset shape; "4m-7" is the only one so far.
  std::string preset = "4m-7";
  size_t samples = 0;
  size_t shards = 1;
  std::string out;
  ShardFormat format = ShardFormat::kTar;
  uint64_t seed = 0;
  // Crop variants per sample (rows of crop_settings and of each token array).
  int crops = kDefaultCrops;
  // 4M's raw layout instead of pre-tokenized caption and det: caption and det JSON, metadata
  // JSON, rgb JPEGs of the size crop_settings was drawn for, the same token arrays and crops,
  // and the dataset's own tokenizer.json beside the folders (synth_raw.h).
  bool raw = false;
  MfsWriterOptions mfs;
  // Writes shards in parallel on this arena when set.
  tbb::task_arena* arena = nullptr;
  // Called after each shard is written.
  ProgressFn progress;

  absl::Status Validate() const;
};

// The modality folders a preset's synthetic dataset has, in sorted order.
std::vector<std::string> SynthModalities(const std::string& preset, bool raw = false);

// Writes the dataset under options.out (created if needed).
absl::Status SynthesizeDataset(const SynthOptions& options);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_SYNTH_DATASET_H_
