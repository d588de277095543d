// StreamBatches requests as a client may send them: parsed, validated by the service (batch
// size, ranks, overrides, resume token, encoding) and, when accepted, one batch produced.
#include <filesystem>

#include "fuzz_util.h"
#include "pipeline/tools/synth_dataset.h"
#include "server/feed_service.h"
#include "server/server_config.h"

namespace {

using namespace maskfeed;

struct Served {
  tbb::task_arena arena{1};
  MetricsRegistry registry;
  std::unique_ptr<FeedService> service;
};

Served* MakeService() {
  auto* s = new Served();
  const std::string dir = fuzz::ScratchFile("", ".dir");
  std::filesystem::remove(dir);
  SynthOptions synth;
  synth.preset = SynthOptions::kTokensPreset;
  synth.samples = 12;
  synth.shards = 2;
  synth.out = dir;
  synth.format = ShardFormat::kMfs;
  fuzz::Check(SynthesizeDataset(synth).ok(), "synthesize the dataset");
  absl::StatusOr<v1::ServerConfig> config =
      ParseServerConfig("dataset { name: \"d\" path: \"" + dir +
                        "\" preset: \"4m-7-tokens\" } metrics_listen: \"off\" threads: 1 "
                        "limits { max_streams: 2 max_batch_size: 8 max_repeats: 4 }");
  fuzz::Check(config.ok(), "parse the config");
  absl::StatusOr<v1::ServerConfig> finalized = FinalizeServerConfig(*config);
  fuzz::Check(finalized.ok(), "finalize the config");
  absl::StatusOr<std::unique_ptr<FeedService>> service =
      FeedService::Create(*finalized, &s->arena, &s->registry);
  fuzz::Check(service.ok(), "create the service");
  s->service = std::move(*service);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Served* served = MakeService();
  v1::StreamBatchesRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::StatusOr<std::unique_ptr<FeedStream>> stream = served->service->OpenStream(request, "fuzz");
  if (!stream.ok()) return 0;
  absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
  if (next.ok() && next->has_value()) {
    fuzz::Check((*next)->batch.size == static_cast<int64_t>(request.batch_size()),
                "a batch of another size than asked");
  }
  return 0;
}
