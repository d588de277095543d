// maskfeed: the command-line client.
//
//   maskfeed bench [--address A] [--streams N] [--batches M] [--batch-size B] [--seed S] [--json]
//   maskfeed bench --in-process --data DIR [--preset 4m-7 | --config FILE] [--threads N] ...
//   maskfeed describe [--address A] [--json]
//   maskfeed fetch --out DIR [--batches N] ...      (batches as .npz files)
//   maskfeed preview --out FILE.svg [--rows R] ...  (a picture of one batch's masks)
//
// `bench` runs N concurrent streams (ranks 0..N-1 of N), one consumer thread each, over gRPC
// (one connection per stream) or, with --in-process, straight from the pipeline; after a
// warm-up of 2 batches per stream it times M batches each and prints samples/s, bytes/s and
// batch latency (the time a consumer waited for its next batch). With --json the last line is
// one JSON object.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "client/cpp/feed_client.h"
#include "client/cpp/mask_preview.h"
#include "client/cpp/npz_writer.h"
#include "google/protobuf/util/json_util.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/base/strings.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/stream/stream.h"
#include "tools/cli_args.h"

namespace maskfeed {
namespace {

constexpr int kWarmupBatches = 2;
constexpr char kDefaultAddress[] = "127.0.0.1:50051";

constexpr const char* kUsage = R"(usage: maskfeed COMMAND [ARGS]

commands:
  bench [--address A] [--dataset NAME] [--streams N] [--batches M] [--batch-size B]
        [--seed S] [--encoding packed|plain] [--json]
      Streams from a maskfeed-server over gRPC (address host:port or unix:/path, default
      127.0.0.1:50051): N concurrent streams, one connection each, M batches each after 2
      warm-up batches, expanded to plain tensors as a trainer would use them.
      Defaults: 1 stream, 200 batches, batch size 128, seed 0, packed encoding.
  bench --in-process --data DIR [--preset NAME | --config FILE] [--threads N] [--streams N]
        [--batches M] [--batch-size B] [--seed S] [--json]
      The same measurement of the pipeline alone (read + mask + collate, no gRPC).
      Defaults: preset 4m-7, threads = cores.
  describe [--address A] [--json]
      What a server serves: datasets, modalities, shapes, dtypes, limits.
  fetch --out DIR [--address A] [--dataset NAME] [--batches N] [--batch-size B] [--seed S]
        [--rank R --world-size W] [--resume FILE]
      Writes N batches as DIR/batch-SEQUENCE.npz (numpy.load: "<modality>/tensor",
      ".../input_mask", ".../target_mask", ".../decoder_attention_mask", "sequence",
      "resume_token", "samples", "datasets") and DIR/resume_token to continue from.
      Defaults: 1 batch of 128.
  preview --out FILE.svg [--address A] [--dataset NAME] [--batch-size B] [--rows R]
          [--seed S] [--rank R --world-size W] [--resume FILE]
      Draws the masks of the first R samples (default 4) of one batch (default 8 samples):
      each image modality's token grid and each sequence's positions, coloured as encoder
      input, decoder target or neither.
)";

int Fail(const absl::Status& status, int code = kExitFailed) {
  std::cerr << "maskfeed: " << ToStd(status.message()) << "\n";
  if (code == kExitUsage) std::cerr << "run 'maskfeed --help' for usage\n";
  return code;
}

// `status` with the server's address in front of its message.
absl::Status AtAddress(const std::string& address, const absl::Status& status) {
  return absl::Status(status.code(), StrCat(address, ": ", ToStd(status.message())));
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t i = std::min(values.size() - 1, static_cast<size_t>(q * (values.size() - 1) + 0.5));
  return values[i];
}

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
  const std::pair<const char*, std::tuple<int64_t*, int64_t, int64_t, int64_t>> specs[] = {
      {"threads", {&f.threads, std::max(1u, std::thread::hardware_concurrency()), 1, 1024}},
      {"streams", {&f.streams, 1, 1, 1024}},
      {"batches", {&f.batches, 200, 1, int64_t{1} << 40}},
      {"batch-size", {&f.batch_size, 128, 1, StreamOptions::kMaxBatchSize}},
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
};

// Runs one consumer thread per stream: kWarmupBatches batches each (not timed; the clock
// starts when every stream is warm), then `batches` timed batches, recording each wait.
absl::StatusOr<BenchResult> Measure(std::vector<NextBatch> streams, int64_t batches) {
  using Clock = std::chrono::steady_clock;
  const int n = static_cast<int>(streams.size());
  std::mutex mu;
  std::vector<double> latencies_ms;  // guarded by mu
  absl::Status failure;              // guarded by mu
  std::atomic<uint64_t> samples{0}, bytes{0}, wire_bytes{0}, done_batches{0};
  std::atomic<int> warm{0};
  std::atomic<bool> started{false}, failed{false};
  Clock::time_point start;
  const uint64_t total_batches = static_cast<uint64_t>(n) * static_cast<uint64_t>(batches);
  const bool tty = ::isatty(STDERR_FILENO);
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
      const uint64_t done = ++done_batches;
      if (done % 20 == 0 || done == total_batches) {
        if (tty) {
          std::fprintf(stderr, "\rbench: %llu/%llu batches", static_cast<unsigned long long>(done),
                       static_cast<unsigned long long>(total_batches));
        } else if (done * 4 / total_batches != (done - 1) * 4 / total_batches) {
          std::fprintf(stderr, "bench: %llu/%llu batches\n", static_cast<unsigned long long>(done),
                       static_cast<unsigned long long>(total_batches));
        }
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> consumers;
  for (const NextBatch& s : streams) consumers.emplace_back(consume, std::cref(s));
  for (std::thread& t : consumers) t.join();
  if (tty) std::fprintf(stderr, "\n");
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
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

void Report(const std::string& mode, const std::string& where, const std::string& encoding,
            const BenchFlags& f, const BenchResult& r, bool json) {
  const double sps = r.samples / r.seconds, bps = r.bytes / r.seconds;
  const double rss = PeakRssMb();
  std::printf(
      "%s%s: %lld stream(s), batch %lld: %.0f samples/s, %.1f MB/s, batch wait p50 %.2f ms, "
      "p99 %.2f ms, peak RSS %.0f MB\n",
      mode.c_str(), where.empty() ? "" : (" " + where).c_str(), static_cast<long long>(f.streams),
      static_cast<long long>(f.batch_size), sps, bps / 1e6, r.p50, r.p99, rss);
  if (!json) return;
  std::printf(
      "{\"bench\": \"maskfeed\", \"mode\": \"%s\", \"address\": \"%s\", \"streams\": %lld, "
      "\"threads\": %lld, \"batch_size\": %lld, \"batches\": %lld, \"samples\": %llu, "
      "\"seconds\": %.6f, \"samples_per_s\": %.0f, \"bytes_per_s\": %.0f, "
      "\"batch_latency_ms_p50\": %.3f, \"batch_latency_ms_p99\": %.3f, \"peak_rss_mb\": %.1f, "
      "\"wire_bytes_per_s\": %.0f, \"encoding\": \"%s\", \"cores\": %u}\n",
      mode.c_str(), where.c_str(), static_cast<long long>(f.streams),
      static_cast<long long>(mode == "in-process" ? f.threads : 0),
      static_cast<long long>(f.batch_size), static_cast<long long>(f.batches),
      static_cast<unsigned long long>(r.samples), r.seconds, sps, bps, r.p50, r.p99, rss,
      r.wire_bytes / r.seconds, encoding.c_str(),
      std::max(1u, std::thread::hardware_concurrency()));
}

int BenchInProcess(const CliArgs& args, const BenchFlags& f) {
  const std::string data = args.GetString("data");
  if (data.empty())
    return Fail(absl::InvalidArgumentError("--data DIR is required with --in-process"), kExitUsage);
  absl::StatusOr<v1::MaskingConfig> config =
      args.Has("config") ? LoadMaskingConfigFile(args.GetString("config"))
                         : PresetMaskingConfig(args.GetString("preset", "4m-7"));
  if (!config.ok()) return Fail(config.status(), kExitUsage);

  tbb::task_arena arena(static_cast<int>(f.threads));
  DatasetOptions open;
  open.arena = &arena;
  absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(data, open);
  if (!dataset.ok()) return Fail(dataset.status());
  absl::StatusOr<std::shared_ptr<const StreamSource>> source =
      StreamSource::Create(std::shared_ptr<const Dataset>(std::move(*dataset)), *config);
  if (!source.ok()) return Fail(source.status());

  std::vector<std::unique_ptr<Stream>> opened;
  std::vector<NextBatch> streams;
  for (int64_t r = 0; r < f.streams; ++r) {
    StreamOptions o;
    o.batch_size = static_cast<uint32_t>(f.batch_size);
    o.rank = static_cast<uint32_t>(r);
    o.world_size = static_cast<uint32_t>(f.streams);
    o.seed = static_cast<uint64_t>(f.seed);
    o.max_batches = static_cast<uint64_t>(f.batches + kWarmupBatches);
    absl::StatusOr<std::unique_ptr<Stream>> s = Stream::Open(*source, o, &arena);
    if (!s.ok()) return Fail(s.status());
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
  absl::StatusOr<BenchResult> result = Measure(std::move(streams), f.batches);
  if (!result.ok()) return Fail(result.status());
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
    readers.push_back(std::make_unique<BatchReader>(MakeFeedChannel(address), request));
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
  if (!result.ok()) {
    return Fail(AtAddress(address, result.status()));
  }
  Report("grpc", address, encoding, f, *result, args.Has("json"));
  return kExitOk;
}

int Bench(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args =
      CliArgs::Parse(argv,
                     {"address", "streams", "batches", "batch-size", "seed", "data", "preset",
                      "config", "threads", "dataset", "encoding"},
                     {"in-process", "json"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  absl::StatusOr<BenchFlags> flags = ParseBenchFlags(*args);
  if (!flags.ok()) return Fail(flags.status(), kExitUsage);
  if (args->Has("in-process")) return BenchInProcess(*args, *flags);
  for (const char* local : {"data", "preset", "config", "threads"}) {
    if (args->Has(local)) {
      return Fail(
          absl::InvalidArgumentError(StrCat("--", local,
                                            " only applies with --in-process (the server owns its "
                                            "data and threads)")),
          kExitUsage);
    }
  }
  return BenchGrpc(*args, *flags);
}

// The StreamBatchesRequest of fetch / preview, from their flags.
absl::StatusOr<v1::StreamBatchesRequest> RequestFromFlags(const CliArgs& args,
                                                          int64_t default_batch_size) {
  v1::StreamBatchesRequest r;
  r.set_dataset(args.GetString("dataset"));
  absl::StatusOr<int64_t> batch_size =
      args.GetInt("batch-size", default_batch_size, 1, StreamOptions::kMaxBatchSize);
  absl::StatusOr<int64_t> seed = args.GetInt("seed", 0, 0, INT64_MAX);
  absl::StatusOr<int64_t> world = args.GetInt("world-size", 1, 1, 1 << 20);
  absl::StatusOr<int64_t> rank = args.GetInt("rank", 0, 0, (1 << 20) - 1);
  for (const absl::Status& st :
       {batch_size.status(), seed.status(), world.status(), rank.status()}) {
    if (!st.ok()) return st;
  }
  r.set_batch_size(static_cast<uint32_t>(*batch_size));
  r.set_seed(static_cast<uint64_t>(*seed));
  r.set_world_size(static_cast<uint32_t>(*world));
  r.set_rank(static_cast<uint32_t>(*rank));
  r.set_encoding(v1::ENCODING_PACKED);
  if (args.Has("resume")) {
    std::ifstream in(args.GetString("resume"), std::ios::binary);
    if (!in) return absl::NotFoundError(StrCat("--resume: cannot read ", args.GetString("resume")));
    std::stringstream token;
    token << in.rdbuf();
    r.set_resume_token(token.str());
  }
  return r;
}

int Fetch(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args =
      CliArgs::Parse(argv, {"address", "dataset", "batches", "batch-size", "seed", "rank",
                            "world-size", "resume", "out"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  const std::string out = args->GetString("out");
  if (out.empty()) return Fail(absl::InvalidArgumentError("--out DIR is required"), kExitUsage);
  absl::StatusOr<int64_t> batches = args->GetInt("batches", 1, 1, 1 << 20);
  if (!batches.ok()) return Fail(batches.status(), kExitUsage);
  absl::StatusOr<v1::StreamBatchesRequest> request = RequestFromFlags(*args, 128);
  if (!request.ok()) {
    return Fail(request.status(),
                request.status().code() == absl::StatusCode::kNotFound ? kExitFailed : kExitUsage);
  }
  request->set_max_batches(static_cast<uint64_t>(*batches));
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) return Fail(absl::InternalError(StrCat("cannot create ", out, ": ", ec.message())));
  const std::string address = args->GetString("address", kDefaultAddress);
  BatchReader reader(MakeFeedChannel(address), *request);
  auto progress = ProgressPrinter("fetch: batches written");
  for (int64_t i = 0; i < *batches; ++i) {
    absl::StatusOr<std::optional<StreamBatch>> next = reader.Next();
    if (!next.ok()) {
      return Fail(AtAddress(address, next.status()));
    }
    if (!next->has_value()) break;
    const StreamBatch& b = **next;
    NpzWriter npz;
    for (const ModalityBatch& m : b.batch.modalities) {
      for (auto [name, t] : {std::pair{"tensor", &m.tensor}, std::pair{"input_mask", &m.input_mask},
                             std::pair{"target_mask", &m.target_mask},
                             std::pair{"decoder_attention_mask", &m.decoder_attention_mask}}) {
        npz.Add(StrCat(m.name, "/", name), t->dtype, t->shape, t->data.data());
      }
    }
    const int64_t sequence = static_cast<int64_t>(b.sequence);
    npz.Add("sequence", DType::kInt64, {}, &sequence);
    npz.Add("resume_token", DType::kUInt8, {static_cast<int64_t>(b.resume_token.size())},
            b.resume_token.data());
    std::vector<int64_t> samples(b.batch.samples.begin(), b.batch.samples.end());
    npz.Add("samples", DType::kInt64, {static_cast<int64_t>(samples.size())}, samples.data());
    npz.Add("datasets", DType::kUInt32, {static_cast<int64_t>(b.batch.datasets.size())},
            b.batch.datasets.data());
    char name[32];
    std::snprintf(name, sizeof(name), "batch-%06llu.npz",
                  static_cast<unsigned long long>(b.sequence));
    if (absl::Status st = npz.Write((std::filesystem::path(out) / name).string()); !st.ok()) {
      return Fail(st);
    }
    progress(static_cast<size_t>(i + 1), static_cast<size_t>(*batches));
  }
  std::ofstream token(std::filesystem::path(out) / "resume_token",
                      std::ios::binary | std::ios::trunc);
  token.write(reader.resume_token().data(),
              static_cast<std::streamsize>(reader.resume_token().size()));
  if (!token) return Fail(absl::InternalError(StrCat("cannot write ", out, "/resume_token")));
  std::printf("fetched into %s (resume with --resume %s/resume_token)\n", out.c_str(), out.c_str());
  return kExitOk;
}

int Preview(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(
      argv,
      {"address", "dataset", "batch-size", "seed", "rank", "world-size", "resume", "rows", "out"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  const std::string out = args->GetString("out");
  if (out.empty())
    return Fail(absl::InvalidArgumentError("--out FILE.svg is required"), kExitUsage);
  absl::StatusOr<int64_t> rows = args->GetInt("rows", 4, 1, 1024);
  if (!rows.ok()) return Fail(rows.status(), kExitUsage);
  absl::StatusOr<v1::StreamBatchesRequest> request = RequestFromFlags(*args, 8);
  if (!request.ok()) return Fail(request.status(), kExitUsage);
  request->set_max_batches(1);
  const std::string address = args->GetString("address", kDefaultAddress);
  std::shared_ptr<grpc::Channel> channel = MakeFeedChannel(address);
  absl::StatusOr<v1::DescribeResponse> desc = DescribeFeed(channel);
  if (!desc.ok()) {
    return Fail(AtAddress(address, desc.status()));
  }
  std::vector<v1::ModalityLayout> layouts;
  for (const v1::DatasetDescription& d : desc->datasets()) {
    if (request->dataset().empty() ? layouts.empty() : d.name() == request->dataset()) {
      layouts.assign(d.modalities().begin(), d.modalities().end());
    }
  }
  BatchReader reader(channel, *request);
  absl::StatusOr<std::optional<StreamBatch>> next = reader.Next();
  if (!next.ok() || !next->has_value()) {
    const absl::Status st =
        next.ok() ? absl::InternalError("the server sent no batch") : next.status();
    return Fail(AtAddress(address, st));
  }
  const std::string title = StrCat(
      "maskfeed ", request->dataset().empty() ? desc->datasets(0).name() : request->dataset(),
      ": batch ", (*next)->sequence, ", seed ", request->seed(), ", rank ", request->rank(), "/",
      request->world_size());
  const std::string svg =
      RenderMaskPreview((*next)->batch, layouts, static_cast<int>(*rows), title);
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file << svg;
  if (!file) return Fail(absl::InternalError(StrCat("cannot write ", out)));
  std::printf("wrote %s (%lld samples)\n", out.c_str(),
              static_cast<long long>(std::min<int64_t>(*rows, (*next)->batch.size)));
  return kExitOk;
}

int Describe(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, {"address"}, {"json"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  const std::string address = args->GetString("address", kDefaultAddress);
  absl::StatusOr<v1::DescribeResponse> desc = DescribeFeed(MakeFeedChannel(address));
  if (!desc.ok()) {
    return Fail(AtAddress(address, desc.status()));
  }
  if (args->Has("json")) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(*desc, &json, options);
    std::printf("%s\n", json.c_str());
    return kExitOk;
  }
  std::printf("maskfeed-server %s at %s\n", desc->version().c_str(), address.c_str());
  const v1::Limits& l = desc->limits();
  std::printf("limits: %u streams, batch size <= %u, messages <= %llu bytes, repeats <= %u\n",
              l.max_streams(), l.max_batch_size(),
              static_cast<unsigned long long>(l.max_message_bytes()), l.max_repeats());
  for (const v1::DatasetDescription& d : desc->datasets()) {
    std::printf(
        "\ndataset '%s': %llu samples, preset %s, input %u / target %u tokens, "
        "%llu bytes per sample\n",
        d.name().c_str(), static_cast<unsigned long long>(d.num_samples()),
        d.preset().empty() ? "-" : d.preset().c_str(), d.input_tokens(), d.target_tokens(),
        static_cast<unsigned long long>(d.bytes_per_sample()));
    for (int c = 0; c < d.components_size(); ++c) {
      std::printf("  component %s weight %g\n", d.components(c).c_str(), d.weights(c));
    }
    for (const v1::ModalityLayout& m : d.modalities()) {
      std::printf("  %-16s %-9s %4u positions  tokens %s  id %u\n", m.name().c_str(),
                  m.type().c_str(), m.max_tokens(), v1::DType_Name(m.token_dtype()).c_str(),
                  m.id());
    }
  }
  return kExitOk;
}

}  // namespace
}  // namespace maskfeed

int main(int argc, char** argv) {
  maskfeed::KeepLargeAllocationsInHeap();
  using namespace maskfeed;
  return DispatchCommand(
      argc, argv, "maskfeed", kUsage,
      {{"bench", Bench}, {"describe", Describe}, {"fetch", Fetch}, {"preview", Preview}});
}
