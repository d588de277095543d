// Streaming from object storage against the same data on local disk: a synthetic dataset is
// written locally, uploaded to a local S3 server (moto_server), and streamed in-process in
// windows of K shards, once from the folder and once from s3:// through a proxy that adds
// LATENCY ms to every request, with the shard cache starting empty under a limit. One JSON
// line:
//   local_samples_per_s, remote_samples_per_s   after the first window (the cold start is
//                                               reported apart: first_window_s)
//   ratio                                       remote / local (target >= 0.9)
//   fetched_over_dataset                        shard bytes fetched per epoch / dataset bytes
//                                               (target <= 1.05; over EPOCHS epochs, as a
//                                               stream prefetches across an epoch's end;
//                                               the indexes read at open are counted apart)
//   cache_peak_bytes, cache_limit_bytes         the cache directory's largest size seen
//   nodes, fetched_over_share                   with --nodes C: the stream is host 0's one
//                                               rank of C hosts with per-host shares
//                                               (node_shares.h); shard bytes fetched per
//                                               node epoch / its share's bytes (target <= 1.05)
//
//   build/bench/maskfeed-bench-remote [--samples 8000] [--shards 80] [--window 8]
//       [--latency-ms 20] [--batch-size 128] [--threads cores] [--preset 4m-7-tokens]
//       [--limit-fraction 0.3] [--epochs 2] [--nodes 1]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "frontend/cli_args.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/base/json_line.h"
#include "pipeline/base/strings.h"
#include "pipeline/order/node_shares.h"
#include "pipeline/source/data_config.h"
#include "pipeline/source/served_source.h"
#include "pipeline/storage/remote_shard.h"
#include "pipeline/storage/s3_client.h"
#include "pipeline/stream/stream.h"
#include "pipeline/tools/synth_dataset.h"
#include "tests/testing/fault_proxy.h"
#include "tests/testing/moto_server.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

constexpr char kUsage[] =
    R"(Streaming from object storage (a local moto_server behind a latency proxy) against the same
data on local disk, in windows of shards with a bounded cache. One JSON line.

usage: maskfeed-bench-remote [--samples 8000] [--shards 80] [--window 8] [--latency-ms 20]
           [--batch-size 128] [--threads cores] [--preset 4m-7-tokens]
           [--limit-fraction 0.3] [--epochs 2] [--nodes 1]
)";

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Timing {
  double first_window_s = 0;
  double rest_samples_per_s = 0;
  uint64_t cache_peak = 0;
};

// The data as every front end describes it: one dataset at `root` with the bench's order,
// preset and raw options, and the shard cache.
v1::ServerConfig DataConfig(const std::string& root, const std::string& preset,
                            const std::string& tokenizer, uint32_t window, uint32_t nodes,
                            uint64_t node_batch, const fs::path& cache_dir, uint64_t limit) {
  v1::ServerConfig config;
  v1::DatasetConfig& d = *config.add_dataset();
  d.set_name("bench");
  d.set_path(root);
  d.set_preset(preset);
  if (preset == "4m-7") {  // the raw layout: its tokenizer and main_augment_domain
    d.set_text_tokenizer(tokenizer);
    d.set_main_augment_domain("rgb@224");
  }
  d.set_window_shards(window);
  if (nodes > 1) {
    d.set_canonical_nodes(nodes);
    d.set_node_batch(node_batch);
  }
  config.mutable_storage()->set_cache_dir(cache_dir.string());
  config.mutable_storage()->set_cache_limit_bytes(limit);
  return config;
}

// Opens `config` through the library's assembly path (pipeline/source).
absl::StatusOr<ServedSource> Open(v1::ServerConfig config, tbb::task_arena* arena) {
  if (absl::Status s = FinalizeDataConfig(&config); !s.ok()) return s;
  absl::StatusOr<std::vector<ServedSource>> served = OpenServedSources(config, arena);
  if (!served.ok()) return served.status();
  return served->front();
}

// Streams one epoch of `served`; the clock for the rate starts when the first window is done.
absl::StatusOr<Timing> StreamEpoch(const ServedSource& served, StreamOptions options,
                                   tbb::task_arena* arena, uint64_t first_window,
                                   const fs::path& cache_dir) {
  options.order = served.order;
  options.hold_budget_bytes = served.hold_budget_bytes;
  const Clock::time_point start = Clock::now();
  absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(served.mixture, options, arena);
  if (!stream.ok()) return stream.status();
  Timing t;
  Clock::time_point rest_start = start;
  uint64_t samples = 0, rest_samples = 0;
  while (true) {
    absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) break;
    samples += options.batch_size;
    if (!cache_dir.empty())
      t.cache_peak = std::max(t.cache_peak, testing::CachedObjectBytes(cache_dir));
    if (samples - options.batch_size < first_window && samples >= first_window) {
      rest_start = Clock::now();
      t.first_window_s = std::chrono::duration<double>(rest_start - start).count();
    } else if (samples > first_window) {
      rest_samples += options.batch_size;
    }
  }
  t.rest_samples_per_s =
      rest_samples / std::chrono::duration<double>(Clock::now() - rest_start).count();
  return t;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "remote bench: %s\n", status.ToString().c_str());
  return 1;
}

int Run(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args =
      CliArgs::Parse(argv, {"samples", "shards", "window", "latency-ms", "batch-size", "threads",
                            "nodes", "preset", "limit-fraction", "epochs"});
  if (!args.ok()) {
    std::fprintf(stderr, "remote bench: %s\n", args.status().ToString().c_str());
    return 2;
  }
  if (args->help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const uint64_t samples = args->GetInt("samples", 8000, 16, 10000000).value_or(8000);
  const uint64_t shards = args->GetInt("shards", 80, 1, 100000).value_or(80);
  const uint32_t window = static_cast<uint32_t>(args->GetInt("window", 8, 1, 65536).value_or(8));
  const int latency = static_cast<int>(args->GetInt("latency-ms", 20, 0, 10000).value_or(20));
  const uint32_t batch =
      static_cast<uint32_t>(args->GetInt("batch-size", 128, 1, 4096).value_or(128));
  const int threads = static_cast<int>(args->GetInt("threads", cores, 1, 1024).value_or(cores));
  const std::string preset = args->GetString("preset", "4m-7-tokens");
  const double fraction = std::stod(args->GetString("limit-fraction", "0.3"));
  const uint64_t epochs = args->GetInt("epochs", 2, 1, 1000).value_or(2);
  const uint32_t nodes = static_cast<uint32_t>(args->GetInt("nodes", 1, 1, 1024).value_or(1));

  testing::TempDir dir;
  std::fprintf(stderr, "remote bench: writing %llu samples in %llu shards\n",
               static_cast<unsigned long long>(samples), static_cast<unsigned long long>(shards));
  SynthOptions synth;
  synth.preset = preset == "4m-7" ? SynthOptions::kRawPreset : SynthOptions::kTokensPreset;
  synth.samples = samples;
  synth.shards = shards;
  synth.out = dir / "local";
  synth.format = ShardFormat::kMfs;
  tbb::task_arena synth_arena(cores);
  synth.arena = &synth_arena;
  if (absl::Status s = SynthesizeDataset(synth); !s.ok()) {
    std::fprintf(stderr, "remote bench: %s\n", s.ToString().c_str());
    return 1;
  }
  std::unique_ptr<testing::MotoServer> moto = testing::MotoServer::Start(dir / "moto.log");
  if (moto == nullptr) return 1;
  setenv("AWS_ENDPOINT_URL", moto->endpoint().c_str(), 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIDBENCH", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "bench", 1);
  setenv("AWS_REGION", "us-east-1", 1);
  S3Client s3(*S3ConfigFromEnvironment());
  if (!s3.CreateBucket("bench").ok()) return 1;
  std::fprintf(stderr, "remote bench: uploading\n");
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir / "local")) {
    if (!e.is_regular_file()) continue;
    const std::string key = StrCat("ds/", fs::relative(e.path(), dir / "local").string());
    if (absl::Status s = s3.Put("bench", key, testing::ReadFile(e.path().string())); !s.ok()) {
      std::fprintf(stderr, "remote bench: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  testing::FaultProxy proxy(
      moto->port(), [](uint64_t, const std::string&) { return testing::Fault::kNone; },
      std::chrono::milliseconds(latency));
  setenv("AWS_ENDPOINT_URL", proxy.endpoint().c_str(), 1);

  absl::StatusOr<std::unique_ptr<Dataset>> local = Dataset::Open(dir / "local");
  if (!local.ok()) return Fail(local.status());
  const uint64_t total = (*local)->total_bytes();
  const uint64_t limit = static_cast<uint64_t>(fraction * static_cast<double>(total));
  const uint64_t first_window = samples * window / shards;
  StreamOptions o;
  o.batch_size = batch;
  o.seed = 1;
  o.max_batches = epochs * samples / batch;
  uint64_t share_bytes = total;  // what this host reads per (node) epoch
  if (nodes > 1) {               // host 0 of `nodes` hosts, one rank each
    o.world_size = nodes;
    std::vector<uint64_t> sizes;
    for (size_t s = 0; s < (*local)->num_shards(); ++s) sizes.push_back((*local)->shard_size(s));
    absl::StatusOr<std::shared_ptr<const NodeShares>> shares = NodeShares::Create(
        sizes, {.nodes = nodes, .node_batch = batch, .window_shards = window, .seed = o.seed});
    if (!shares.ok()) return Fail(shares.status());
    share_bytes = 0;
    for (uint32_t s : (*shares)->shards(0)) share_bytes += (*local)->shard_bytes(s);
    o.max_batches = epochs * (*shares)->share_samples(0) / batch;
  }
  const std::string tokenizer = (fs::path(dir / "local") / kDatasetTokenizerFile).string();
  tbb::task_arena arena(threads);
  std::fprintf(stderr, "remote bench: local epoch\n");
  absl::StatusOr<ServedSource> local_source =
      Open(DataConfig(dir / "local", preset, tokenizer, window, nodes, batch, dir / "unused", 0),
           &arena);
  if (!local_source.ok()) return Fail(local_source.status());
  absl::StatusOr<Timing> local_t = StreamEpoch(*local_source, o, &arena, first_window, {});
  if (!local_t.ok()) return Fail(local_t.status());
  std::fprintf(stderr, "remote bench: remote epoch, cold cache, %d ms per request\n", latency);
  const Clock::time_point open_start = Clock::now();
  absl::StatusOr<ServedSource> remote_source = Open(
      DataConfig("s3://bench/ds", preset, tokenizer, window, nodes, batch, dir / "cache", limit),
      &arena);
  if (!remote_source.ok()) return Fail(remote_source.status());
  const double open_s = std::chrono::duration<double>(Clock::now() - open_start).count();
  const uint64_t index_bytes = remote_source->storage->State().bytes_fetched();
  absl::StatusOr<Timing> remote_t =
      StreamEpoch(*remote_source, o, &arena, first_window, dir / "cache");
  if (!remote_t.ok()) return Fail(remote_t.status());
  // The fetch counters beyond what Describe reports (StorageState): this benchmark knows its
  // storage is the remote shard cache.
  const auto storage = std::dynamic_pointer_cast<const RemoteStorage>(remote_source->storage);
  const uint64_t fetched = storage->store_stats()->bytes_fetched - index_bytes;
  std::printf("%s\n",
              JsonLine({{"bench", "remote_vs_local"},
                        {"preset", preset},
                        {"samples", samples},
                        {"shards", shards},
                        {"window_shards", window},
                        {"latency_ms", latency},
                        {"threads", threads},
                        {"dataset_bytes", total},
                        {"open_s", open_s},
                        {"index_bytes", index_bytes},
                        {"local_samples_per_s", local_t->rest_samples_per_s},
                        {"remote_samples_per_s", remote_t->rest_samples_per_s},
                        {"ratio", remote_t->rest_samples_per_s / local_t->rest_samples_per_s},
                        {"remote_first_window_s", remote_t->first_window_s},
                        {"local_first_window_s", local_t->first_window_s},
                        {"epochs", epochs},
                        {"fetched_over_dataset",
                         static_cast<double>(fetched) / static_cast<double>(total * epochs)},
                        {"cache_peak_bytes", remote_t->cache_peak},
                        {"cache_limit_bytes", limit},
                        {"shard_waits", storage->fetch_stats().waits.load()},
                        {"nodes", nodes},
                        {"fetched_over_share",
                         static_cast<double>(fetched) / static_cast<double>(share_bytes * epochs)},
                        {"cores", cores}})
                  .c_str());
  return 0;
}

}  // namespace
}  // namespace maskfeed

int main(int argc, char** argv) {
  return maskfeed::Run(std::vector<std::string>(argv + 1, argv + argc));
}
