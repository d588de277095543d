// Synthetic 4M datasets for the demo, tests and benchmarks. Preset "4m-7": 4M's raw layout
// as 4M stores it — rgb JPEGs, caption and det JSON, metadata JSON, crop_settings and five
// 196-token image modalities with several crop variants, and a tokenizer.json beside the
// folders. Preset "4m-7-tokens": the same samples pre-tokenized (caption and det id
// sequences as .npy, no images). Preset "4m-21": 4M-21's raw layout — 4M-7's members and
// color palettes, human poses, SAM instances (pickled object arrays), T5 caption embeddings
// (.npz, about 0.3 MB a sample) and 13 token modalities.
//
// Content is a pure function of (seed, sample index): the same options give the same files
// whatever the number of threads.
#ifndef MASKFEED_PIPELINE_TOOLS_SYNTH_DATASET_H_
#define MASKFEED_PIPELINE_TOOLS_SYNTH_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/shard/parallel_jobs.h"
#include "pipeline/shard/shard_reader.h"
#include "pipeline/tools/mfs_writer.h"

namespace maskfeed {

struct SynthOptions {
  static constexpr int kDefaultCrops = 4;

  // Dataset shape: "4m-7" (raw, with images), "4m-7-tokens" (pre-tokenized) or "4m-21"
  // (raw, 4M-21's modalities).
  std::string preset = "4m-7";
  size_t samples = 0;
  size_t shards = 1;
  std::string out;
  ShardFormat format = ShardFormat::kTar;
  uint64_t seed = 0;
  // Crop variants per sample (rows of crop_settings and of each token array).
  int crops = kDefaultCrops;
  MfsWriterOptions mfs;
  // Writes shards in parallel on this arena when set.
  tbb::task_arena* arena = nullptr;
  // Called after each shard is written.
  ProgressFn progress;

  absl::Status Validate() const;
  // 4M's raw layout (preset 4m-7): caption and det JSON, metadata JSON, rgb JPEGs of the size
  // crop_settings was drawn for, the same token arrays and crops, and the dataset's own
  // tokenizer.json (synth_raw.h).
  bool raw() const { return preset == kRawPreset || preset == k4m21Preset; }

  static constexpr char kRawPreset[] = "4m-7";
  static constexpr char kTokensPreset[] = "4m-7-tokens";
  static constexpr char k4m21Preset[] = "4m-21";
};

// The modality folders a preset's synthetic dataset has, in sorted order.
std::vector<std::string> SynthModalities(const std::string& preset);

// Writes the dataset under options.out (created if needed).
absl::Status SynthesizeDataset(const SynthOptions& options);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TOOLS_SYNTH_DATASET_H_
