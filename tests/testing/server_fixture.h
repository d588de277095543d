// Test helpers for the server: a small synthetic 4m-7 dataset in a temp dir, server configs
// over it, and byte-for-byte batch comparison.
#ifndef MASKFEED_TESTS_TESTING_SERVER_FIXTURE_H_
#define MASKFEED_TESTS_TESTING_SERVER_FIXTURE_H_

#include <string>

#include "client/cpp/feed_client.h"
#include "gtest/gtest.h"
#include "maskfeed/v1/server_config.pb.h"
#include "pipeline/batch/batch.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/stream/stream.h"
#include "pipeline/tools/synth_dataset.h"
#include "server/server_config.h"
#include "tests/testing/test_util.h"

namespace maskfeed::testing {

inline constexpr size_t kServerTestSamples = 96;

// Writes a raw .mfs 4m-7 dataset of kServerTestSamples samples in 3 shards under `root`.
inline void SynthSmallDataset(const std::string& root) {
  SynthOptions synth;
  synth.preset = SynthOptions::kTokensPreset;
  synth.samples = kServerTestSamples;
  synth.shards = 3;
  synth.out = root;
  synth.format = ShardFormat::kMfs;
  ASSERT_TRUE(SynthesizeDataset(synth).ok());
}

// A finalized config serving `root` as dataset "d" with preset 4m-7 on `listen`.
inline v1::ServerConfig SmallConfig(const std::string& root, const std::string& listen,
                                    uint32_t threads = 2) {
  v1::ServerConfig config;
  v1::DatasetConfig* d = config.add_dataset();
  d->set_name("d");
  d->set_path(root);
  d->set_preset("4m-7-tokens");
  config.add_listen(listen);
  config.set_threads(threads);
  config.set_metrics_listen("off");
  config.mutable_limits()->set_max_batch_size(64);
  config.mutable_limits()->set_shutdown_grace_s(5);
  absl::StatusOr<v1::ServerConfig> finalized = FinalizeServerConfig(config);
  EXPECT_TRUE(finalized.ok()) << finalized.status();
  return finalized.ok() ? *finalized : config;
}

// Whether two batches hold the same tensors, byte for byte, and the same row provenance.
inline ::testing::AssertionResult SameBatch(const Batch& a, const Batch& b) {
  if (a.size != b.size) return ::testing::AssertionFailure() << "sizes differ";
  if (a.modalities.size() != b.modalities.size()) {
    return ::testing::AssertionFailure() << "modality counts differ";
  }
  for (size_t i = 0; i < a.modalities.size(); ++i) {
    const ModalityBatch& x = a.modalities[i];
    const ModalityBatch& y = b.modalities[i];
    if (x.name != y.name) return ::testing::AssertionFailure() << x.name << " vs " << y.name;
    const HostTensor* xs[] = {&x.tensor, &x.input_mask, &x.target_mask, &x.decoder_attention_mask};
    const HostTensor* ys[] = {&y.tensor, &y.input_mask, &y.target_mask, &y.decoder_attention_mask};
    for (int t = 0; t < 4; ++t) {
      if (xs[t]->dtype != ys[t]->dtype || xs[t]->shape != ys[t]->shape ||
          xs[t]->data.size() != ys[t]->data.size() ||
          std::memcmp(xs[t]->data.data(), ys[t]->data.data(), xs[t]->data.size()) != 0) {
        return ::testing::AssertionFailure() << x.name << " tensor " << t << " differs";
      }
    }
  }
  if (a.datasets != b.datasets || a.samples != b.samples) {
    return ::testing::AssertionFailure() << "row provenance differs";
  }
  return ::testing::AssertionSuccess();
}

// The batches of a stream over `root` (preset 4m-7) computed in-process, without gRPC: what
// a server must deliver for the same request.
// A failure is a test failure, and what was made before it is returned (so a comparison
// with it fails too; nothing is dereferenced after an error).
inline std::vector<StreamBatch> InProcessBatches(const std::string& root, const StreamOptions& o) {
  std::vector<StreamBatch> out;
  absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(root);
  if (!dataset.ok()) {
    ADD_FAILURE() << dataset.status();
    return out;
  }
  absl::StatusOr<std::shared_ptr<const StreamSource>> source = StreamSource::Create(
      std::shared_ptr<const Dataset>(std::move(*dataset)), *PresetMaskingConfig("4m-7-tokens"));
  if (!source.ok()) {
    ADD_FAILURE() << source.status();
    return out;
  }
  tbb::task_arena arena(1);
  absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(*source, o, &arena);
  if (!stream.ok()) {
    ADD_FAILURE() << stream.status();
    return out;
  }
  while (true) {
    absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
    if (!next.ok()) {
      ADD_FAILURE() << "the in-process stream failed after " << out.size()
                    << " batches: " << next.status();
      break;
    }
    if (!next->has_value()) break;
    out.push_back(std::move(**next));
  }
  return out;
}

// Appends up to `limit` batches of `reader` to `got`; the stream's end: OK when it ended
// normally, its error otherwise, OK as well when `limit` batches arrived first.
inline absl::Status ReadBatches(BatchReader* reader, std::vector<StreamBatch>* got,
                                size_t limit = SIZE_MAX) {
  for (size_t n = 0; n < limit; ++n) {
    absl::StatusOr<std::optional<StreamBatch>> next = reader->Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) return absl::OkStatus();
    got->push_back(std::move(**next));
  }
  return absl::OkStatus();
}

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_SERVER_FIXTURE_H_
