// maskfeed: the command-line client.
//
//   maskfeed bench --in-process --data DIR [--preset 4m-7 | --config FILE] [--threads N]
//                  [--streams N] [--batches M] [--batch-size B] [--seed S] [--json]
//
// `bench --in-process` runs streams without gRPC: N concurrent streams (ranks 0..N-1 of N)
// consumed by one thread each, after a warm-up of 2 batches per stream, and prints samples/s,
// bytes/s and batch latency (the time a consumer waited in Next()). With --json the last line
// is one JSON object.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "oneapi/tbb/task_arena.h"
#include "pipeline/base/strings.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/stream/stream.h"
#include "tools/cli_args.h"

namespace maskfeed {
namespace {

constexpr int kWarmupBatches = 2;

constexpr const char* kUsage = R"(usage: maskfeed COMMAND [ARGS]

commands:
  bench --in-process --data DIR [--preset NAME | --config FILE] [--threads N] [--streams N]
        [--batches M] [--batch-size B] [--seed S] [--json]
      Measures the pipeline (read + mask + collate) without gRPC: N concurrent streams,
      M batches each after 2 warm-up batches. Defaults: preset 4m-7, threads = cores,
      1 stream, 200 batches, batch size 128, seed 0.
      (Benchmarking a server over gRPC arrives with maskfeed-server.)
)";

int Fail(const absl::Status& status, int code = kExitFailed) {
  std::cerr << "maskfeed: " << ToStd(status.message()) << "\n";
  if (code == kExitUsage) std::cerr << "run 'maskfeed --help' for usage\n";
  return code;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t i = std::min(values.size() - 1, static_cast<size_t>(q * (values.size() - 1) + 0.5));
  return values[i];
}

int BenchInProcess(const CliArgs& args) {
  const std::string data = args.GetString("data");
  if (data.empty())
    return Fail(absl::InvalidArgumentError("--data DIR is required with --in-process"), kExitUsage);
  absl::StatusOr<int64_t> threads =
      args.GetInt("threads", std::max(1u, std::thread::hardware_concurrency()), 1, 1024);
  absl::StatusOr<int64_t> streams = args.GetInt("streams", 1, 1, 1024);
  absl::StatusOr<int64_t> batches = args.GetInt("batches", 200, 1, int64_t{1} << 40);
  absl::StatusOr<int64_t> batch_size =
      args.GetInt("batch-size", 128, 1, StreamOptions::kMaxBatchSize);
  absl::StatusOr<int64_t> seed = args.GetInt("seed", 0, 0, INT64_MAX);
  for (const absl::Status& s :
       {threads.status(), streams.status(), batches.status(), batch_size.status(), seed.status()}) {
    if (!s.ok()) return Fail(s, kExitUsage);
  }
  absl::StatusOr<v1::MaskingConfig> config =
      args.Has("config") ? LoadMaskingConfigFile(args.GetString("config"))
                         : PresetMaskingConfig(args.GetString("preset", "4m-7"));
  if (!config.ok()) return Fail(config.status(), kExitUsage);

  tbb::task_arena arena(static_cast<int>(*threads));
  DatasetOptions open;
  open.arena = &arena;
  absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(data, open);
  if (!dataset.ok()) return Fail(dataset.status());
  absl::StatusOr<std::shared_ptr<const StreamSource>> source =
      StreamSource::Create(std::shared_ptr<const Dataset>(std::move(*dataset)), *config);
  if (!source.ok()) return Fail(source.status());

  const int n = static_cast<int>(*streams);
  std::vector<std::unique_ptr<Stream>> opened;
  for (int r = 0; r < n; ++r) {
    StreamOptions o;
    o.batch_size = static_cast<uint32_t>(*batch_size);
    o.rank = static_cast<uint32_t>(r);
    o.world_size = static_cast<uint32_t>(n);
    o.seed = static_cast<uint64_t>(*seed);
    o.max_batches = static_cast<uint64_t>(*batches + kWarmupBatches);
    absl::StatusOr<std::unique_ptr<Stream>> s = Stream::Open(*source, o, &arena);
    if (!s.ok()) return Fail(s.status());
    opened.push_back(std::move(*s));
  }

  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  std::vector<double> latencies_ms;  // guarded by mu
  absl::Status failure;              // guarded by mu
  std::atomic<uint64_t> samples{0}, bytes{0}, done_batches{0};
  std::atomic<int> warm{0};
  Clock::time_point start;
  std::atomic<bool> started{false};
  const uint64_t total_batches = static_cast<uint64_t>(n) * static_cast<uint64_t>(*batches);
  auto consume = [&](Stream* stream) {
    std::vector<double> mine;
    for (int64_t i = 0; i < *batches + kWarmupBatches; ++i) {
      const Clock::time_point t0 = Clock::now();
      absl::StatusOr<std::optional<StreamBatch>> next = stream->Next();
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (!next.ok() || !next->has_value()) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.ok())
          failure = next.ok() ? absl::InternalError("stream ended early") : next.status();
        return;
      }
      if (i + 1 == kWarmupBatches) {
        // The clock starts when every stream is warm.
        if (++warm == n) {
          start = Clock::now();
          started = true;
        }
        while (!started) std::this_thread::yield();
        continue;
      }
      if (i < kWarmupBatches) continue;
      mine.push_back(ms);
      const Batch& b = (*next)->batch;
      samples += static_cast<uint64_t>(b.size);
      bytes += b.bytes();
      const uint64_t done = ++done_batches;
      if (::isatty(STDERR_FILENO) && done % 20 == 0) {
        std::fprintf(stderr, "\rbench: %llu/%llu batches", static_cast<unsigned long long>(done),
                     static_cast<unsigned long long>(total_batches));
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> consumers;
  for (auto& s : opened) consumers.emplace_back(consume, s.get());
  for (std::thread& t : consumers) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (::isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
  if (!failure.ok()) return Fail(failure);
  opened.clear();

  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  const double peak_rss_mb = usage.ru_maxrss / 1024.0;
  const double sps = samples / seconds, bps = bytes / seconds;
  const double p50 = Percentile(latencies_ms, 0.5), p99 = Percentile(latencies_ms, 0.99);
  std::printf(
      "in-process: %d stream(s), %lld threads, batch %lld: %.0f samples/s, %.1f MB/s, "
      "batch wait p50 %.2f ms, p99 %.2f ms, peak RSS %.0f MB\n",
      n, static_cast<long long>(*threads), static_cast<long long>(*batch_size), sps, bps / 1e6, p50,
      p99, peak_rss_mb);
  if (args.Has("json")) {
    std::printf(
        "{\"bench\": \"maskfeed\", \"mode\": \"in-process\", \"streams\": %d, \"threads\": %lld, "
        "\"batch_size\": %lld, \"batches\": %lld, \"samples\": %llu, \"seconds\": %.4f, "
        "\"samples_per_s\": %.0f, \"bytes_per_s\": %.0f, \"batch_latency_ms_p50\": %.3f, "
        "\"batch_latency_ms_p99\": %.3f, \"peak_rss_mb\": %.1f, \"cores\": %u}\n",
        n, static_cast<long long>(*threads), static_cast<long long>(*batch_size),
        static_cast<long long>(*batches), static_cast<unsigned long long>(samples.load()), seconds,
        sps, bps, p50, p99, peak_rss_mb, std::max(1u, std::thread::hardware_concurrency()));
  }
  return kExitOk;
}

int Bench(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv,
                                                {"address", "streams", "batches", "batch-size",
                                                 "seed", "data", "preset", "config", "threads"},
                                                {"in-process", "json"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  if (!args->Has("in-process")) {
    return Fail(absl::UnimplementedError(
                    "bench over gRPC needs maskfeed-server, which this build does not have yet; "
                    "use --in-process --data DIR"),
                kExitUsage);
  }
  return BenchInProcess(*args);
}

}  // namespace
}  // namespace maskfeed

int main(int argc, char** argv) {
  using namespace maskfeed;
  return DispatchCommand(argc, argv, "maskfeed", kUsage, {{"bench", Bench}});
}
