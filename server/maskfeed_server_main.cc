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

#include "absl/strings/str_split.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "frontend/cli_args.h"
#include "frontend/malloc_tuning.h"
#include "frontend/progress_printer.h"
#include "google/protobuf/text_format.h"
#include "pipeline/base/log.h"
#include "pipeline/base/strings.h"
#include "pipeline/storage/remote_dataset.h"
#include "pipeline/stream/data_defaults.h"
#include "pipeline/tools/synth_dataset.h"
#include "pipeline/tools/synth_raw.h"
#include "server/feed_server.h"
#include "server/fourm_config.h"
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

constexpr const char* kUsage =
    R"(usage: maskfeed-server [--config FILE] [--data DIR] [--preset NAME]
                       [--text-tokenizer FILE] [--main-augment-domain M]
                       [--4m-config YAML]... [--4m-root DIR] [--4m-data-path [NAME=]PATTERN]...
                       [--4m-datasets A,B] [--print-config]
                       [--listen ADDR]... [--threads N] [--metrics-listen ADDR|off]
                       [--max-streams N] [--max-batch-size N] [--skip-corrupt] [--fast-pixels]
                       [--window-shards K] [--canonical-nodes C --node-batch U]
                       [--cache-dir DIR] [--cache-limit BYTES]
                       [--fetch-threads N] [--log-level info|debug]
                       [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
                       [--allow-insecure-tcp] [--socket-mode MODE] [--socket-group GROUP]

Serves masked 4M-style batches over gRPC (service maskfeed.v1.Feed, plus grpc.health.v1 and
server reflection) and Prometheus text at http://METRICS/metrics and /healthz.

  --config FILE         a ServerConfig in protobuf text format (proto/maskfeed/v1/
                        server_config.proto): datasets, mixtures, limits, addresses
  --data DIR|URL        serve this dataset folder (name "default") instead of a config file;
                        or a root in object storage: s3://bucket/prefix (AWS_* variables,
                        ~/.aws/credentials; AWS_ENDPOINT_URL for S3-compatible stores) or
                        http(s)://host/path (with the manifest `maskfeed-shard manifest` writes)
  --preset NAME         masking preset for --data: 4m-7 (rgb@224 pixels, 5 tok_*, caption,
                        det), 4m-7-tokens (no pixels), 4m-21 or 4m-21-tokens; default: 4m-7 when DIR has
                        an rgb folder, else 4m-7-tokens
  --text-tokenizer FILE 4M's text tokenizer (tokenizer.json) for datasets holding raw text
                        (caption, det, metadata, ... as .txt/.json) that name none; default
                        for --data: DIR/tokenizer.json when it exists
  --main-augment-domain M  the image modality det/human_poses take sizes from (--data only;
                        default rgb@224 with preset 4m-7)
  --fast-pixels         decode large JPEG crops at a reduced DCT scale (not Pillow's bytes;
                        docs/pixels.md); default: exact
  --window-shards K     each epoch streams windows of K shards (a seeded shard order, samples
                        shuffled within a window) instead of permuting the whole dataset
  --canonical-nodes C   per-host shares: the shards are dealt to C nodes and positions go to
                        them in turns of U (--node-batch: ranks per host x batch size per
                        rank), so each of a multiple of C hosts fetches only its share
  --cache-dir DIR       where remote shards are kept while needed; servers may share it
                        (default $MASKFEED_CACHE_DIR/shards, ~/.cache/maskfeed/shards)
  --cache-limit BYTES   most bytes kept there (8G, 500M, ...; default: no limit); remote data
                        larger than it needs --window-shards
  --fetch-threads N     shards fetched at once (default 4)
  --log-level L         info (default) or debug (adds one line per fetched shard)
  --4m-config YAML      serve what 4M's own YAML files say: a model config (its data_config
                        is read), a data config, or both; repeatable
  --4m-root DIR         what relative paths in them are relative to (default: the working
                        directory, as in 4M)
  --4m-data-path P      replace the data_path of every dataset (or NAME=P: of one); 4M's
                        shipped configs hold placeholders
  --4m-datasets A,B     import only these train datasets (weights renormalised)
  --print-config        print the ServerConfig the flags (and a 4M import) produce, in
                        protobuf text format for --config, and exit
  --listen ADDR         host:port or unix:/path; repeatable (default 127.0.0.1:50051)
  --threads N           masking threads shared by all streams (default: cores)
  --metrics-listen A    host:port of /metrics and /healthz, or off (default 127.0.0.1:9464)
  --max-streams N       concurrent streams (default 64)
  --max-batch-size N    largest batch a client may ask for (default 1024)
  --skip-corrupt        mask out corrupt records (counted, logged) instead of DATA_LOSS
  --tls-cert PEM        serve TLS on every TCP listener with this certificate chain...
  --tls-key PEM         ...and its private key
  --tls-client-ca PEM   require client certificates signed by these CAs (mutual TLS)
  --allow-insecure-tcp  allow a non-loopback TCP listener without TLS (a trusted network,
                        or a container in its own network namespace)
  --socket-mode MODE    octal permissions of the Unix sockets, e.g. 0660
  --socket-group GROUP  group (name or number) that owns the Unix sockets

With neither --config nor --data, serves the embedded demo: a synthetic 4M-7 dataset in 4M's
raw layout (rgb JPEGs, caption and det JSON, five tok_* modalities) with preset 4m-7, generated
into $MASKFEED_CACHE_DIR (default ~/.cache/maskfeed) on first start (2,000 samples;
$MASKFEED_DEMO_SAMPLES to change).
)";

int Fail(const absl::Status& status, int code = kExitFailed) {
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
  if (std::filesystem::exists(dir / kSynthTokenizerFile, ec)) return dir.string();
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
    if (!std::filesystem::exists(dir / kSynthTokenizerFile, ec)) {  // another server may have won
      return absl::InternalError(StrCat("cannot move the demo data into ", dir.string()));
    }
  }
  return dir.string();
}

// DefaultsForDataDir for a remote root: its listing says whether it has an rgb folder; its
// tokenizer.json is fetched into the shard cache.
absl::StatusOr<DataDefaults> DefaultsForRemoteRoot(const std::string& url,
                                                   const v1::StorageConfig& config,
                                                   const std::string& preset) {
  const std::string dir = config.cache_dir().empty()
                              ? (std::filesystem::path(MaskfeedCacheDir()) / "shards").string()
                              : config.cache_dir();
  absl::StatusOr<std::shared_ptr<RemoteStorage>> storage = RemoteStorage::Create(
      {.cache_dir = dir, .cache_limit = config.cache_limit_bytes(), .fetch_threads = 1});
  if (!storage.ok()) return storage.status();
  absl::StatusOr<RemoteRoot> root = ListRemoteRoot(url, *storage);
  if (!root.ok()) return root.status();
  std::string tokenizer;
  if (root->Find(kSynthTokenizerFile) != nullptr) {
    absl::StatusOr<std::string> fetched = FetchRootFile(*root, kSynthTokenizerFile, *storage);
    if (!fetched.ok()) return fetched.status();
    tokenizer = *std::move(fetched);
  }
  return DefaultsFor(root->ShardFolders().count("rgb") != 0, tokenizer, preset);
}

absl::StatusOr<v1::ServerConfig> ConfigFromFlags(const CliArgs& args, bool* metrics_optional) {
  v1::ServerConfig config;
  if (args.Has("config")) {
    absl::StatusOr<v1::ServerConfig> loaded = LoadServerConfigFile(args.GetString("config"));
    if (!loaded.ok()) return loaded.status();
    config = std::move(*loaded);
  }
  const std::vector<std::string> fourm = args.GetAll("4m-config");
  if (!fourm.empty()) {
    if (args.Has("config") || args.Has("data")) {
      return absl::InvalidArgumentError("--4m-config: give it instead of --config or --data");
    }
    FourMImport import;
    import.files = fourm;
    import.root = args.GetString("4m-root", ".");
    import.text_tokenizer = args.GetString("text-tokenizer");
    for (const std::string& p : args.GetAll("4m-data-path")) {
      const size_t eq = p.find('=');
      const bool named = eq != std::string::npos && p.find('/') > eq;
      import.data_paths[named ? p.substr(0, eq) : ""] = named ? p.substr(eq + 1) : p;
    }
    if (args.Has("4m-datasets")) {
      import.datasets = absl::StrSplit(args.GetString("4m-datasets"), ',', absl::SkipEmpty());
    }
    absl::StatusOr<v1::ServerConfig> imported = ImportFourMConfig(import);
    if (!imported.ok()) return imported.status();
    config = std::move(*imported);
  } else if (args.Has("4m-root") || args.Has("4m-data-path") || args.Has("4m-datasets")) {
    return absl::InvalidArgumentError(
        "--4m-root, --4m-data-path and --4m-datasets go with "
        "--4m-config");
  }
  // A dataset folder of --data (or the demo's): the preset by what it holds unless named,
  // its own tokenizer.json, 4M's main_augment_domain for 4m-7.
  auto add_folder = [&](const std::string& name, const std::string& path) -> absl::Status {
    absl::StatusOr<DataDefaults> found =
        IsRemoteUrl(path) ? DefaultsForRemoteRoot(path, config.storage(), args.GetString("preset"))
                          : DefaultsForDataDir(path, args.GetString("preset"));
    if (!found.ok()) return found.status();
    const DataDefaults& defaults = *found;
    if (!args.Has("preset")) {
      LogEvent("info", "preset_chosen",
               {{"dataset", name},
                {"preset", defaults.preset},
                {"why", defaults.preset == "4m-7" ? "the folder has rgb images"
                                                  : "the folder has no rgb images"}});
    }
    v1::DatasetConfig* d = config.add_dataset();
    d->set_name(name);
    d->set_path(path);
    d->set_preset(defaults.preset);
    d->set_main_augment_domain(defaults.main_augment_domain);
    d->set_text_tokenizer(args.GetString("text-tokenizer", defaults.text_tokenizer));
    return absl::OkStatus();
  };
  v1::StorageConfig& storage = *config.mutable_storage();
  if (args.Has("cache-dir")) storage.set_cache_dir(args.GetString("cache-dir"));
  if (args.Has("cache-limit")) {
    absl::StatusOr<uint64_t> limit = args.GetBytes("cache-limit", 0);
    if (!limit.ok()) return limit.status();
    storage.set_cache_limit_bytes(*limit);
  }
  if (args.Has("fetch-threads")) {
    absl::StatusOr<int64_t> n = args.GetInt("fetch-threads", 0, 1, 64);
    if (!n.ok()) return n.status();
    storage.set_fetch_threads(static_cast<uint32_t>(*n));
  }
  if (args.Has("data")) {
    if (args.Has("config")) {
      return absl::InvalidArgumentError("--data and --config: give one or the other");
    }
    if (absl::Status s = add_folder("default", args.GetString("data")); !s.ok()) return s;
  } else if (args.Has("preset") && args.Has("config")) {
    return absl::InvalidArgumentError("--preset goes with --data; a config names its presets");
  }
  // Only no data arguments at all means the demo: a config that lists no dataset (empty, or
  // truncated) must not feed synthetic data to a training run.
  if (!args.Has("config") && !args.Has("data") && fourm.empty()) {
    absl::StatusOr<std::string> demo = EnsureDemoData();
    if (!demo.ok()) return demo.status();
    if (absl::Status s = add_folder(kDemoName, *demo); !s.ok()) return s;
  }
  if (args.Has("main-augment-domain")) {
    if (!args.Has("data")) {
      return absl::InvalidArgumentError(
          "--main-augment-domain goes with --data; a config names it per dataset");
    }
    config.mutable_dataset(0)->set_main_augment_domain(args.GetString("main-augment-domain"));
  }
  if (args.Has("text-tokenizer")) {
    for (v1::DatasetConfig& d : *config.mutable_dataset()) {
      if (d.text_tokenizer().empty()) d.set_text_tokenizer(args.GetString("text-tokenizer"));
    }
  }
  if (args.Has("fast-pixels")) {
    for (v1::DatasetConfig& d : *config.mutable_dataset()) d.set_fast_pixels(true);
  }
  if (args.Has("window-shards")) {
    absl::StatusOr<int64_t> k = args.GetInt("window-shards", 0, 1, 65536);
    if (!k.ok()) return k.status();
    for (v1::DatasetConfig& d : *config.mutable_dataset()) {
      d.set_window_shards(static_cast<uint32_t>(*k));
    }
  }
  if (args.Has("canonical-nodes") != args.Has("node-batch")) {
    return absl::InvalidArgumentError("--canonical-nodes and --node-batch go together");
  }
  if (args.Has("canonical-nodes")) {
    absl::StatusOr<int64_t> c = args.GetInt("canonical-nodes", 0, 1, 65536);
    if (!c.ok()) return c.status();
    absl::StatusOr<int64_t> u = args.GetInt("node-batch", 0, 1, int64_t{1} << 32);
    if (!u.ok()) return u.status();
    for (v1::DatasetConfig& d : *config.mutable_dataset()) {
      d.set_canonical_nodes(static_cast<uint32_t>(*c));
      d.set_node_batch(static_cast<uint64_t>(*u));
    }
  }
  if (args.Has("skip-corrupt")) {
    for (v1::DatasetConfig& d : *config.mutable_dataset()) d.set_skip_corrupt_records(true);
  }
  const std::vector<std::string> listen = args.GetAll("listen");
  if (!listen.empty()) {
    config.clear_listen();
    for (const std::string& a : listen) config.add_listen(a);
  }
  if (config.dataset_size() == 0) {
    return absl::InvalidArgumentError(StrCat(args.GetString("config"),
                                             ": dataset: the config lists no dataset (a config "
                                             "never means the demo; run without flags for it)"));
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
  if (args.Has("print-config")) {
    // Checked as a start would check it, printed as written (limits left to the server that
    // uses it: their defaults depend on its machine).
    absl::StatusOr<v1::ServerConfig> finalized = FinalizeServerConfig(config);
    if (!finalized.ok()) return finalized.status();
    std::string text;
    google::protobuf::TextFormat::PrintToString(config, &text);
    std::cout << "# maskfeed-server --config FILE; made by maskfeed-server --print-config\n"
              << text;
    return absl::CancelledError("printed");
  }
  return FinalizeServerConfig(std::move(config));
}

int Serve(int argc, char** argv) {
  std::vector<std::string> raw(argv + 1, argv + argc);
  for (const std::string& a : raw) {
    if (a == "--help" || a == "-h" || a == "help") {
      std::cout << kUsage;
      return kExitOk;
    }
  }
  absl::StatusOr<CliArgs> args = CliArgs::Parse(
      raw,
      {"config",         "data",        "preset",         "listen",         "threads",
       "metrics-listen", "max-streams", "max-batch-size", "tls-cert",       "tls-key",
       "tls-client-ca",  "socket-mode", "socket-group",   "text-tokenizer", "main-augment-domain",
       "4m-config",      "4m-root",     "4m-data-path",   "4m-datasets",    "window-shards",
       "cache-dir",      "cache-limit", "fetch-threads",  "log-level",      "canonical-nodes",
       "node-batch"},
      {"skip-corrupt", "allow-insecure-tcp", "print-config", "fast-pixels"});
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
  if (config.status().code() == absl::StatusCode::kCancelled) return kExitOk;  // --print-config
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
