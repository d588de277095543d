// maskfeed bench: N concurrent streams (ranks 0..N-1 of N), one consumer thread each, over
// gRPC (one connection per stream) or, with --in-process, straight from the pipeline over
// the data the data flags describe (frontend/data_flags.h, as maskfeed-server takes them). After a
// warm-up of 2 batches per stream it times M batches each and prints samples/s, bytes/s and
// the batch latency (the time a consumer waited for its next batch); with --json the last
// line is one JSON object.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#include "client/cpp/cli/commands.h"
#include "client/cpp/feed_client.h"
#include "frontend/data_flags.h"
#include "frontend/progress_printer.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/base/json_line.h"
#include "pipeline/base/limits.h"
#include "pipeline/base/strings.h"
#include "pipeline/source/data_config.h"
#include "pipeline/source/served_source.h"
#include "pipeline/stream/stream.h"

namespace maskfeed::cli {
namespace {

constexpr int kWarmupBatches = 2;

// `text` with `indent` before each of its lines.
std::string IndentLines(std::string_view text, std::string_view indent) {
  std::string out;
  for (size_t start = 0; start < text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    StrAppend(&out, indent, text.substr(start, end - start), "\n");
    start = end + 1;
  }
  return out;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t i = std::min(values.size() - 1, static_cast<size_t>(q * (values.size() - 1) + 0.5));
  return values[i];
}

// `amount` per second; 0 when no time was measured (JSON has no infinity).
double Rate(double amount, double seconds) { return seconds > 0 ? amount / seconds : 0; }

// What one consumer thread gets per batch.
struct Delivered {
  uint64_t samples = 0;
  uint64_t bytes = 0;       // tensor bytes as the trainer sees them
  uint64_t wire_bytes = 0;  // message bytes received (gRPC only)
};
// Blocks for a stream's next batch; nullopt = the stream ended early (an error is a status).
using NextBatch = std::function<absl::StatusOr<std::optional<Delivered>>()>;

struct BenchFlags {
  int64_t threads = 0, streams = 1, batches = 0, batch_size = 0, seed = 0;
};

absl::StatusOr<BenchFlags> ParseBenchFlags(const CliArgs& args) {
  BenchFlags f;
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  const std::pair<const char*, std::tuple<int64_t*, int64_t, int64_t, int64_t>> specs[] = {
      {"threads", {&f.threads, cores, 1, limits::kMaxThreads}},
      {"streams", {&f.streams, 1, 1, 1024}},
      {"batches", {&f.batches, 200, 1, int64_t{1} << 40}},
      {"batch-size", {&f.batch_size, 128, 1, limits::kMaxBatchSize}},
      {"seed", {&f.seed, 0, 0, INT64_MAX}},
  };
  for (const auto& [flag, spec] : specs) {
    const auto& [out, fallback, lo, hi] = spec;
    absl::StatusOr<int64_t> v = args.GetInt(flag, fallback, lo, hi);
    if (!v.ok()) return v.status();
    *out = *v;
  }
  return f;
}

struct BenchResult {
  uint64_t samples = 0, bytes = 0, wire_bytes = 0;
  double seconds = 0, p50 = 0, p99 = 0;
  // In-process only (negative otherwise): seconds from the start to streams open (the data
  // opened and indexed), and resident anonymous memory then.
  double open_seconds = -1, open_rss_anon_mb = -1;
};

// Resident anonymous memory of this process (RssAnon of /proc/self/status), MB; -1 when it
// cannot be read. Mapped shard files are not counted: the page cache holds them.
double RssAnonMb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("RssAnon:", 0) == 0) return std::atof(line.c_str() + 8) / 1024.0;
  }
  return -1;
}

// Runs one consumer thread per stream: kWarmupBatches batches each (not timed; the clock
// starts when every stream is warm), then `batches` timed batches, recording each wait.
absl::StatusOr<BenchResult> Measure(std::vector<NextBatch> streams, int64_t batches) {
  using Clock = std::chrono::steady_clock;
  const int n = static_cast<int>(streams.size());
  std::mutex mu;
  std::vector<double> latencies_ms;                         // guarded by mu
  absl::Status failure;                                     // guarded by mu
  uint64_t done_batches = 0;                                // guarded by mu
  ProgressFn progress = ProgressPrinter("bench: batches");  // called under mu
  std::atomic<uint64_t> samples{0}, bytes{0}, wire_bytes{0};
  std::atomic<int> warm{0};
  std::atomic<bool> started{false}, failed{false};
  Clock::time_point start;
  const uint64_t total_batches = static_cast<uint64_t>(n) * static_cast<uint64_t>(batches);
  auto consume = [&](const NextBatch& next_batch) {
    std::vector<double> mine;
    for (int64_t i = 0; i < batches + kWarmupBatches; ++i) {
      const Clock::time_point t0 = Clock::now();
      absl::StatusOr<std::optional<Delivered>> next = next_batch();
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (!next.ok() || !next->has_value()) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.ok()) {
          failure = next.ok() ? absl::InternalError("the stream ended early") : next.status();
        }
        failed = true;
        if (++warm == n) started = true;  // release the others if still warming up
        return;
      }
      if (i + 1 == kWarmupBatches) {
        if (++warm == n) {
          start = Clock::now();
          started = true;
        }
        while (!started) std::this_thread::yield();
        continue;
      }
      if (i < kWarmupBatches) continue;
      if (failed) return;
      mine.push_back(ms);
      samples += (*next)->samples;
      bytes += (*next)->bytes;
      wire_bytes += (*next)->wire_bytes;
      std::lock_guard<std::mutex> lock(mu);
      progress(static_cast<size_t>(++done_batches), static_cast<size_t>(total_batches));
    }
    std::lock_guard<std::mutex> lock(mu);
    latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> consumers;
  for (const NextBatch& s : streams) consumers.emplace_back(consume, std::cref(s));
  for (std::thread& t : consumers) t.join();
  if (!failure.ok()) return failure;
  BenchResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.samples = samples;
  r.bytes = bytes;
  r.wire_bytes = wire_bytes;
  r.p50 = Percentile(latencies_ms, 0.5);
  r.p99 = Percentile(latencies_ms, 0.99);
  return r;
}

double PeakRssMb() {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return usage.ru_maxrss / 1024.0;
}

// Rounds to `digits` decimals, as the JSON line reports them.
double Round(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

void Report(const std::string& mode, const std::string& where, const std::string& encoding,
            const BenchFlags& f, const BenchResult& r, bool json) {
  const double sps = Rate(static_cast<double>(r.samples), r.seconds);
  const double bps = Rate(static_cast<double>(r.bytes), r.seconds);
  const double rss = PeakRssMb();
  std::printf(
      "%s%s: %lld stream(s), batch %lld: %.0f samples/s, %.1f MB/s, batch wait p50 %.2f ms, "
      "p99 %.2f ms, peak RSS %.0f MB\n",
      mode.c_str(), where.empty() ? "" : (" " + where).c_str(), static_cast<long long>(f.streams),
      static_cast<long long>(f.batch_size), sps, bps / 1e6, r.p50, r.p99, rss);
  if (!json) return;
  nlohmann::ordered_json line = {
      {"bench", "maskfeed"},
      {"mode", mode},
      {"address", where},
      {"streams", f.streams},
      {"threads", mode == "in-process" ? f.threads : 0},
      {"batch_size", f.batch_size},
      {"batches", f.batches},
      {"samples", r.samples},
      {"seconds", Round(r.seconds, 6)},
      {"samples_per_s", std::llround(sps)},
      {"bytes_per_s", std::llround(bps)},
      {"batch_latency_ms_p50", Round(r.p50, 3)},
      {"batch_latency_ms_p99", Round(r.p99, 3)},
      {"peak_rss_mb", Round(rss, 1)},
      {"open_seconds", r.open_seconds < 0 ? nlohmann::ordered_json()
                                          : nlohmann::ordered_json(Round(r.open_seconds, 3))},
      {"open_rss_anon_mb", r.open_rss_anon_mb < 0
                               ? nlohmann::ordered_json()
                               : nlohmann::ordered_json(Round(r.open_rss_anon_mb, 1))},
      {"wire_bytes_per_s", std::llround(Rate(static_cast<double>(r.wire_bytes), r.seconds))},
      {"encoding", encoding},
      {"cores", std::max(1u, std::thread::hardware_concurrency())},
  };
  std::printf("%s\n", JsonLine(line).c_str());
}

// The pipeline alone, over what the data flags describe (the same as maskfeed-server's):
// opened by the library's one assembly path (pipeline/source), streamed without gRPC.
int BenchInProcess(const CliArgs& args, const BenchFlags& f) {
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<v1::ServerConfig> config = DataConfigFromFlags(args);
  if (!config.ok()) return Fail(config.status(), kExitUsage);
  if (absl::Status s = FinalizeDataConfig(&*config); !s.ok()) return Fail(s, kExitUsage);
  tbb::task_arena arena(static_cast<int>(f.threads));
  absl::StatusOr<std::vector<ServedSource>> served = OpenServedSources(*config, &arena);
  if (!served.ok()) return Fail(WithFlagHints(served.status()));
  const std::string name = args.GetString("dataset", config->default_dataset());
  auto chosen = std::find_if(served->begin(), served->end(),
                             [&](const ServedSource& s) { return s.name == name; });
  if (chosen == served->end()) {
    return Fail(absl::NotFoundError(StrCat("--dataset: '", name, "' is not in the data")),
                kExitUsage);
  }
  std::vector<std::unique_ptr<Stream>> opened;
  std::vector<NextBatch> streams;
  for (int64_t r = 0; r < f.streams; ++r) {
    StreamOptions o;
    o.batch_size = static_cast<uint32_t>(f.batch_size);
    o.rank = static_cast<uint32_t>(r);
    o.world_size = static_cast<uint32_t>(f.streams);
    o.seed = static_cast<uint64_t>(f.seed);
    o.order = chosen->order;
    o.hold_budget_bytes = chosen->hold_budget_bytes;
    o.on_corrupt = chosen->skip_corrupt ? CorruptRecordPolicy::kSkip : CorruptRecordPolicy::kFail;
    o.max_batches = static_cast<uint64_t>(f.batches + kWarmupBatches);
    absl::StatusOr<std::unique_ptr<Stream>> s = Stream::Open(chosen->mixture, o, &arena);
    if (!s.ok()) return Fail(WithFlagHints(s.status()));
    streams.push_back([stream = s->get()]() -> absl::StatusOr<std::optional<Delivered>> {
      absl::StatusOr<std::optional<StreamBatch>> next = stream->Next();
      if (!next.ok()) return next.status();
      if (!next->has_value()) return std::optional<Delivered>();
      const Batch& b = (*next)->batch;
      return std::optional<Delivered>(
          Delivered{.samples = static_cast<uint64_t>(b.size), .bytes = b.bytes()});
    });
    opened.push_back(std::move(*s));
  }
  const double open_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double open_rss_anon_mb = RssAnonMb();
  absl::StatusOr<BenchResult> result = Measure(std::move(streams), f.batches);
  if (!result.ok()) return Fail(WithFlagHints(result.status()));
  result->open_seconds = open_seconds;
  result->open_rss_anon_mb = open_rss_anon_mb;
  opened.clear();
  Report("in-process", "", "none", f, *result, args.Has("json"));
  return kExitOk;
}

int BenchGrpc(const CliArgs& args, const BenchFlags& f) {
  const std::string address = args.GetString("address", kDefaultAddress);
  const std::string encoding = args.GetString("encoding", "packed");
  if (encoding != "packed" && encoding != "plain") {
    return Fail(absl::InvalidArgumentError("--encoding: must be packed or plain"), kExitUsage);
  }
  std::vector<std::unique_ptr<BatchReader>> readers;
  std::vector<NextBatch> streams;
  for (int64_t r = 0; r < f.streams; ++r) {
    v1::StreamBatchesRequest request;
    request.set_dataset(args.GetString("dataset"));
    request.set_batch_size(static_cast<uint32_t>(f.batch_size));
    request.set_rank(static_cast<uint32_t>(r));
    request.set_world_size(static_cast<uint32_t>(f.streams));
    request.set_seed(static_cast<uint64_t>(f.seed));
    request.set_max_batches(static_cast<uint64_t>(f.batches + kWarmupBatches));
    request.set_encoding(encoding == "packed" ? v1::ENCODING_PACKED : v1::ENCODING_PLAIN);
    // A channel per stream: one TCP / Unix connection each, as separate trainer ranks have.
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = ChannelFromFlags(args, address);
    if (!channel.ok()) return Fail(channel.status(), kExitUsage);
    readers.push_back(std::make_unique<BatchReader>(*channel, request));
    streams.push_back(
        [reader = readers.back().get()]() -> absl::StatusOr<std::optional<Delivered>> {
          absl::StatusOr<std::optional<StreamBatch>> next = reader->Next();
          if (!next.ok()) return next.status();
          if (!next->has_value()) return std::optional<Delivered>();
          const Batch& b = (*next)->batch;
          return std::optional<Delivered>(Delivered{.samples = static_cast<uint64_t>(b.size),
                                                    .bytes = b.bytes(),
                                                    .wire_bytes = reader->last_wire_bytes()});
        });
  }
  absl::StatusOr<BenchResult> result = Measure(std::move(streams), f.batches);
  if (!result.ok()) return Fail(AtAddress(address, result.status()));
  Report("grpc", address, encoding, f, *result, args.Has("json"));
  return kExitOk;
}

}  // namespace

std::string BenchUsage() {
  return StrCat(
      R"(  bench [--address A] [--dataset NAME] [--streams N] [--batches M] [--batch-size B]
        [--seed S] [--encoding packed|plain] [--json]
      Streams from a maskfeed-server over gRPC (address host:port or unix:/path, default
      127.0.0.1:50051): N concurrent streams, one connection each, M batches each after 2
      warm-up batches, expanded to plain tensors as a trainer would use them.
      Defaults: 1 stream, 200 batches, batch size 128, seed 0, packed encoding.
  bench --in-process [--data DIR|URL | --config FILE | --4m-config YAML...] [data flags]
        [--dataset NAME] [--threads N] [--streams N] [--batches M] [--batch-size B]
        [--seed S] [--json]
      The same measurement of the pipeline alone (read + decode + mask + collate, no gRPC),
      over the data the data flags describe, exactly as maskfeed-server takes them (--dataset
      picks one of a config's datasets or mixtures; default what it trains on: its
      default_dataset, else its first mixture, else its first dataset). Threads = cores.
      Data flags:
)",
      IndentLines(kDataFlagsHelp, "    "));
}

int Bench(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args =
      CliArgs::Parse(argv,
                     WithDataFlags(WithTlsFlags({"address", "streams", "batches", "batch-size",
                                                 "seed", "threads", "dataset", "encoding"})),
                     WithDataSwitches({"in-process", "json"}));
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  absl::StatusOr<BenchFlags> flags = ParseBenchFlags(*args);
  if (!flags.ok()) return Fail(flags.status(), kExitUsage);
  if (args->Has("in-process")) return BenchInProcess(*args, *flags);
  for (const std::string& local : {std::string("threads"), FirstDataFlag(*args)}) {
    if (!local.empty() && args->Has(local)) {
      return Fail(absl::InvalidArgumentError(StrCat(
                      "--", local,
                      " only applies with --in-process (the server owns its data and threads)")),
                  kExitUsage);
    }
  }
  return BenchGrpc(*args, *flags);
}

}  // namespace maskfeed::cli
