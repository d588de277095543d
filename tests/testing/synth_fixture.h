// Synthetic 4M-7 datasets for tests, in a line: `maskfeed-shard synth`'s library call with the
// settings tests vary, failing the test when it fails.
#ifndef MASKFEED_TESTS_TESTING_SYNTH_FIXTURE_H_
#define MASKFEED_TESTS_TESTING_SYNTH_FIXTURE_H_

#include <string>

#include "gtest/gtest.h"
#include "pipeline/tools/synth_dataset.h"

namespace maskfeed::testing {

// Writes `samples` samples of `preset` (SynthOptions::kRawPreset: 4M's raw layout with its
// tokenizer; kTokensPreset: pre-tokenized) in `shards` shards under `out`.
inline void Synth(const std::string& out, const char* preset, size_t samples, size_t shards,
                  ShardFormat format = ShardFormat::kTar, int crops = SynthOptions::kDefaultCrops) {
  SynthOptions synth;
  synth.preset = preset;
  synth.samples = samples;
  synth.shards = shards;
  synth.out = out;
  synth.format = format;
  synth.crops = crops;
  const absl::Status written = SynthesizeDataset(synth);
  ASSERT_TRUE(written.ok()) << written;
}

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_SYNTH_FIXTURE_H_
