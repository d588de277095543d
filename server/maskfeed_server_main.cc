// maskfeed-server: serves masked 4M-style batches over gRPC.
//
//   maskfeed-server                              # the embedded demo on 127.0.0.1:50051
//   maskfeed-server --data DIR --preset 4m-7 --listen unix:/run/maskfeed.sock
//   maskfeed-server --config server.textproto
//
// SIGTERM / SIGINT (through a Boost.Asio signal_set) drain the server: new streams are
// refused, live ones end with UNAVAILABLE and their resume token, and the process exits 0
// within limits.shutdown_grace_s (+ a moment).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "frontend/cli_args.h"
#include "frontend/data_flags.h"
#include "frontend/malloc_tuning.h"
#include "frontend/progress_printer.h"
#include "google/protobuf/text_format.h"
#include "pipeline/base/log.h"
#include "pipeline/base/strings.h"
#include "pipeline/tools/synth_dataset.h"
#include "pipeline/tools/synth_raw.h"
#include "server/feed_server.h"
#include "server/server_config.h"

namespace maskfeed {
namespace {

constexpr size_t kDemoSamples = 2000;  // JPEGs: ~12 s to write on 2 cores, 43 MB
// MASKFEED_DEMO_SAMPLES overrides it (tests under sanitizers write fewer).
constexpr size_t kDemoShards = 8;
constexpr char kDemoName[] = "demo";
// Bump when the demo data's shape changes, so old caches are not reused.
// v2: the real 4M-7 in 4M's raw layout (rgb JPEGs, caption/det JSON); v1 was pre-tokenized.
constexpr char kDemoVersion[] = "4m-7-v2";

constexpr char kUsageHead[] =
    R"(usage: maskfeed-server [--config FILE | --data DIR|URL | --4m-config YAML...] [data flags]
                       [--listen ADDR]... [--threads N] [--metrics-listen ADDR|off]
                       [--max-streams N] [--max-batch-size N] [--log-level info|debug]
                       [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
                       [--allow-insecure-tcp] [--socket-mode MODE] [--socket-group GROUP]
                       [--print-config]

Serves masked 4M-style batches over gRPC (service maskfeed.v1.Feed, plus grpc.health.v1 and
server reflection) and Prometheus text at http://METRICS/metrics and /healthz.

What to serve (the same flags as `maskfeed bench --in-process`):
)";

constexpr char kUsageTail[] = R"(
How to serve it:
  --listen ADDR         host:port or unix:/path; repeatable (default 127.0.0.1:50051)
  --threads N           masking threads shared by all streams (default: cores)
  --metrics-listen A    host:port of /metrics and /healthz, or off (default 127.0.0.1:9464)
  --max-streams N       concurrent streams (default 64)
  --max-batch-size N    largest batch a client may ask for (default 1024)
  --log-level L         info (default) or debug (adds one line per fetched shard)
  --tls-cert PEM        serve TLS on every TCP listener with this certificate chain...
  --tls-key PEM         ...and its private key
  --tls-client-ca PEM   require client certificates signed by these CAs (mutual TLS)
  --allow-insecure-tcp  allow a non-loopback TCP listener without TLS (a trusted network,
                        or a container in its own network namespace)
  --socket-mode MODE    octal permissions of the Unix sockets, e.g. 0660
  --socket-group GROUP  group (name or number) that owns the Unix sockets
  --print-config        print the ServerConfig the flags (and a 4M import) produce, in
                        protobuf text format for --config, and exit

With neither --config, --data nor --4m-config, serves the embedded demo: a synthetic 4M-7
dataset in 4M's raw layout (rgb JPEGs, caption and det JSON, five tok_* modalities) with
preset 4m-7, generated into $MASKFEED_CACHE_DIR (default ~/.cache/maskfeed) on first start
(2,000 samples; $MASKFEED_DEMO_SAMPLES to change).
)";

int Fail(const absl::Status& error, int code = kExitFailed) {
  const absl::Status status = WithFlagHints(error);
  LogEvent("error", "startup_failed", {{"message", std::string(ToStd(status.message()))}});
  std::cerr << "maskfeed-server: " << ToStd(status.message()) << "\n";
  if (code == kExitUsage) std::cerr << "run 'maskfeed-server --help' for usage\n";
  return code;
}

// The demo dataset, synthesized on first start into a temporary folder and renamed into
// place when complete, so an interrupted start never leaves a half-written cache.
size_t DemoSamples() {
  const char* env = std::getenv("MASKFEED_DEMO_SAMPLES");
  const long long n = env == nullptr ? 0 : std::atoll(env);
  return n >= static_cast<long long>(kDemoShards) && n <= 10000000 ? static_cast<size_t>(n)
                                                                   : kDemoSamples;
}

absl::StatusOr<std::string> EnsureDemoData() {
  const size_t samples = DemoSamples();
  const std::filesystem::path dir =
      std::filesystem::path(MaskfeedCacheDir()) /
      StrCat("demo-", kDemoVersion, samples == kDemoSamples ? std::string() : StrCat("-", samples));
  std::error_code ec;
  if (std::filesystem::exists(dir / kDatasetTokenizerFile, ec)) return dir.string();
  std::filesystem::create_directories(dir.parent_path(), ec);
  if (ec) {
    return absl::PermissionDeniedError(StrCat("cannot create the demo cache ",
                                              dir.parent_path().string(), ": ", ec.message(),
                                              " (set MASKFEED_CACHE_DIR)"));
  }
  const std::filesystem::path tmp = dir.string() + StrCat(".tmp-", ::getpid());
  std::filesystem::remove_all(tmp, ec);
  LogEvent("info", "demo_synthesize",
           {{"samples", std::to_string(samples)}, {"dir", dir.string()}});
  SynthOptions options;
  options.samples = samples;
  options.shards = kDemoShards;
  options.out = tmp.string();
  options.format = ShardFormat::kMfs;
  tbb::task_arena arena;
  options.arena = &arena;
  options.progress = ProgressPrinter("maskfeed-server: synthesizing the demo dataset, shards");
  if (absl::Status s = SynthesizeDataset(options); !s.ok()) return s;
  std::filesystem::rename(tmp, dir, ec);
  if (ec) {
    std::filesystem::remove_all(tmp, ec);
    if (!std::filesystem::exists(dir / kDatasetTokenizerFile, ec)) {  // another server may have won
      return absl::InternalError(StrCat("cannot move the demo data into ", dir.string()));
    }
  }
  return dir.string();
}

// The config the flags describe: the data (frontend/data_flags.h; the demo when none is
// given), then the server's own settings.
absl::StatusOr<v1::ServerConfig> ConfigFromFlags(const CliArgs& args, bool* metrics_optional) {
  absl::StatusOr<v1::ServerConfig> data = DataConfigFromFlags(args, EnsureDemoData);
  if (!data.ok()) return data.status();
  v1::ServerConfig config = *std::move(data);
  const std::vector<std::string> listen = args.GetAll("listen");
  if (!listen.empty()) {
    config.clear_listen();
    for (const std::string& a : listen) config.add_listen(a);
  }
  for (auto [flag, setter] :
       {std::pair<const char*, void (*)(v1::ServerConfig*, uint32_t)>{
            "threads", [](v1::ServerConfig*c, uint32_t v) { c->set_threads(v); }},
        {"max-streams",
         [](v1::ServerConfig*c, uint32_t v) { c->mutable_limits()->set_max_streams(v); }},
        {"max-batch-size",
         [](v1::ServerConfig*c, uint32_t v) { c->mutable_limits()->set_max_batch_size(v); }}}) {
    absl::StatusOr<int64_t> v = args.GetInt(flag, 0, 1, 65536);
    if (!v.ok()) return v.status();
    if (*v != 0) setter(&config, static_cast<uint32_t>(*v));
  }
  if (args.Has("metrics-listen")) config.set_metrics_listen(args.GetString("metrics-listen"));
  v1::TlsConfig& tls = *config.mutable_tls();
  if (args.Has("tls-cert")) tls.set_cert_file(args.GetString("tls-cert"));
  if (args.Has("tls-key")) tls.set_key_file(args.GetString("tls-key"));
  if (args.Has("tls-client-ca")) tls.set_client_ca_file(args.GetString("tls-client-ca"));
  if (args.Has("allow-insecure-tcp")) config.set_allow_insecure_tcp(true);
  if (args.Has("socket-mode")) config.set_socket_mode(args.GetString("socket-mode"));
  if (args.Has("socket-group")) config.set_socket_group(args.GetString("socket-group"));
  *metrics_optional = config.metrics_listen().empty();
  return config;
}

// --print-config: the config checked as a start would check it, printed as written (limits
// left to the server that uses it: their defaults depend on its machine).
int PrintConfig(const v1::ServerConfig& config) {
  absl::StatusOr<v1::ServerConfig> finalized = FinalizeServerConfig(config);
  if (!finalized.ok()) {
    const bool usage = finalized.status().code() == absl::StatusCode::kInvalidArgument;
    return Fail(finalized.status(), usage ? kExitUsage : kExitFailed);
  }
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  std::cout << "# maskfeed-server --config FILE; made by maskfeed-server --print-config\n" << text;
  return kExitOk;
}

int Serve(int argc, char** argv) {
  std::vector<std::string> raw(argv + 1, argv + argc);
  for (const std::string& a : raw) {
    if (a == "--help" || a == "-h" || a == "help") {
      std::cout << kUsageHead << kDataFlagsHelp << kUsageTail;
      return kExitOk;
    }
  }
  absl::StatusOr<CliArgs> args =
      CliArgs::Parse(raw,
                     WithDataFlags({"listen", "threads", "metrics-listen", "max-streams",
                                    "max-batch-size", "tls-cert", "tls-key", "tls-client-ca",
                                    "socket-mode", "socket-group", "log-level"}),
                     WithDataSwitches({"allow-insecure-tcp", "print-config"}));
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  if (!args->positional().empty()) {
    return Fail(absl::InvalidArgumentError(
                    StrCat("unexpected argument '", args->positional().front(), "'")),
                kExitUsage);
  }
  if (args->Has("log-level")) {
    const std::string level = args->GetString("log-level");
    if (level != "info" && level != "debug") {
      return Fail(
          absl::InvalidArgumentError(StrCat("--log-level: '", level, "' is not info or debug")),
          kExitUsage);
    }
    SetDebugLogging(level == "debug");
  }
  bool metrics_optional = false;
  absl::StatusOr<v1::ServerConfig> config = ConfigFromFlags(*args, &metrics_optional);
  if (config.ok() && args->Has("print-config")) return PrintConfig(*config);
  if (config.ok()) config = FinalizeServerConfig(*std::move(config));
  if (!config.ok()) {
    const bool usage = config.status().code() == absl::StatusCode::kInvalidArgument;
    return Fail(config.status(), usage ? kExitUsage : kExitFailed);
  }

  // Signals are routed through Asio before any thread starts, so none of them sees them.
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  absl::StatusOr<std::unique_ptr<FeedServer>> server =
      FeedServer::Start(*config, {.metrics_optional = metrics_optional});
  if (!server.ok()) return Fail(server.status());
  const v1::DescribeResponse desc = (*server)->service().Describe();
  for (const v1::DatasetDescription& d : desc.datasets()) {
    LogEvent("info", "serving",
             {{"dataset", d.name()},
              {"samples", std::to_string(d.num_samples())},
              {"preset", d.preset()},
              {"modalities", std::to_string(d.modalities_size())}});
  }
  LogEvent("info", "ready",
           {{"threads", std::to_string(config->threads())},
            {"max_streams", std::to_string(config->limits().max_streams())}});
  int signal_number = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (!ec) signal_number = signo;
  });
  io.run();
  LogEvent("info", "signal", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*server)->Shutdown();
  return kExitOk;
}

}  // namespace
}  // namespace maskfeed

int main(int argc, char** argv) {
  maskfeed::KeepLargeAllocationsInHeap(maskfeed::HeapTrim::kPrompt);
  return maskfeed::Serve(argc, argv);
}
