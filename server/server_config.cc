#include "server/server_config.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "frontend/malloc_tuning.h"
#include "pipeline/base/address.h"
#include "pipeline/base/limits.h"
#include "pipeline/base/strings.h"
#include "pipeline/base/text_proto.h"

namespace maskfeed {
namespace {

// Listen addresses, TLS files and socket permissions: who may connect.
absl::Status CheckAccess(v1::ServerConfig& config) {
  const v1::TlsConfig& tls = config.tls();
  if (tls.cert_file().empty() != tls.key_file().empty()) {
    return absl::InvalidArgumentError(
        StrCat(tls.cert_file().empty() ? "tls.cert_file" : "tls.key_file",
               ": TLS needs both a certificate and its private key"));
  }
  const bool tls_on = !tls.cert_file().empty();
  if (!tls_on && !tls.client_ca_file().empty()) {
    return absl::InvalidArgumentError(
        "tls.client_ca_file: client certificates need TLS (tls.cert_file, tls.key_file)");
  }
  if (config.listen_size() == 0) config.add_listen(kDefaultListen);
  for (int i = 0; i < config.listen_size(); ++i) {
    const std::string field = StrCat("listen[", i, "]");
    absl::StatusOr<Address> a = ParseAddress(field, config.listen(i));
    if (!a.ok()) return a.status();
    if (!a->is_unix() && !a->is_loopback() && !tls_on && !config.allow_insecure_tcp()) {
      return absl::InvalidArgumentError(StrCat(
          field, ": ", config.listen(i),
          " is reachable from other machines and TLS is off: anyone who reaches it can read "
          "the data and open streams. Give a certificate (--tls-cert, --tls-key), listen on "
          "loopback or a Unix socket, or say --allow-insecure-tcp (allow_insecure_tcp: true) "
          "for a network you trust"));
    }
  }
  if (!config.socket_mode().empty()) {
    const std::string& m = config.socket_mode();
    if (m.size() > 4 || m.find_first_not_of("01234567") != std::string::npos) {
      return absl::InvalidArgumentError(
          StrCat("socket_mode: '", Printable(m), "' is not an octal mode such as 0660"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ServerConfig> ParseServerConfig(std::string_view text) {
  return ParseTextProtoAs<v1::ServerConfig>(text, "server config");
}

absl::StatusOr<v1::ServerConfig> LoadServerConfigFile(const std::string& path) {
  return LoadTextProtoFileAs<v1::ServerConfig>(path, "server config");
}

std::string MaskfeedCacheDir() {
  if (const char* dir = std::getenv("MASKFEED_CACHE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return (std::filesystem::path(xdg) / "maskfeed").string();
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return (std::filesystem::path(home) / ".cache" / "maskfeed").string();
  }
  return (std::filesystem::temp_directory_path() / "maskfeed-cache").string();
}

absl::StatusOr<v1::ServerConfig> FinalizeServerConfig(v1::ServerConfig config) {
  if (config.dataset_size() == 0) {
    return absl::InvalidArgumentError("dataset: at least one dataset is required");
  }
  std::set<std::string> names;
  for (int i = 0; i < config.dataset_size(); ++i) {
    v1::DatasetConfig& d = *config.mutable_dataset(i);
    const std::string field = StrCat("dataset[", i, "]");
    if (d.name().empty()) return absl::InvalidArgumentError(StrCat(field, ".name: required"));
    if (!names.insert(d.name()).second) {
      return absl::InvalidArgumentError(StrCat(field, ".name: '", d.name(), "' is used twice"));
    }
    if (d.path().empty() == d.data_path().empty()) {
      return absl::InvalidArgumentError(
          StrCat(field, d.path().empty() ? ".path: required (or data_path)"
                                         : ": path and data_path: give one or the other"));
    }
    if (!d.modality_name_map().empty() && d.data_path().empty()) {
      return absl::InvalidArgumentError(StrCat(field, ".modality_name_map: goes with data_path"));
    }
    if (!d.has_masking()) {
      if (d.preset().empty()) {
        return absl::InvalidArgumentError(StrCat(field, ": needs a preset or a masking config"));
      }
      d.mutable_masking()->set_preset(d.preset());
    } else if (d.preset().empty()) {
      d.set_preset(d.masking().preset());
    }
  }
  for (int i = 0; i < config.mixture_size(); ++i) {
    const v1::MixtureConfig& m = config.mixture(i);
    const std::string field = StrCat("mixture[", i, "]");
    if (m.name().empty()) return absl::InvalidArgumentError(StrCat(field, ".name: required"));
    if (!names.insert(m.name()).second) {
      return absl::InvalidArgumentError(StrCat(field, ".name: '", m.name(), "' is used twice"));
    }
    if (m.component_size() == 0) {
      return absl::InvalidArgumentError(StrCat(field, ".component: at least one is required"));
    }
    double total = 0;
    for (int c = 0; c < m.component_size(); ++c) {
      const v1::MixtureComponentRef& ref = m.component(c);
      const std::string cfield = StrCat(field, ".component[", c, "]");
      bool known = false;
      for (const v1::DatasetConfig& d : config.dataset()) known |= d.name() == ref.dataset();
      if (!known) {
        return absl::InvalidArgumentError(
            StrCat(cfield, ".dataset: '", ref.dataset(), "' is not a dataset of this config"));
      }
      if (!(ref.weight() > 0) || !std::isfinite(ref.weight())) {
        return absl::InvalidArgumentError(
            StrCat(cfield, ".weight: must be finite and > 0, got ", ref.weight()));
      }
      total += ref.weight();
    }
    if (!std::isfinite(total)) {
      return absl::InvalidArgumentError(
          StrCat(field, ".component: the weights sum to more than a double holds"));
    }
  }
  if (absl::Status s = CheckAccess(config); !s.ok()) return s;
  if (config.threads() == 0) config.set_threads(std::max(1u, std::thread::hardware_concurrency()));
  if (absl::Status s = limits::CheckRange("threads", config.threads(), 1, limits::kMaxThreads);
      !s.ok()) {
    return s;
  }
  v1::StorageConfig& storage = *config.mutable_storage();
  if (storage.cache_dir().empty()) {
    storage.set_cache_dir((std::filesystem::path(MaskfeedCacheDir()) / "shards").string());
  }
  if (storage.fetch_threads() == 0) storage.set_fetch_threads(kDefaultFetchThreads);
  if (absl::Status s = limits::CheckRange("storage.fetch_threads", storage.fetch_threads(), 1, 64);
      !s.ok()) {
    return s;
  }
  if (config.metrics_listen().empty()) config.set_metrics_listen(kDefaultMetricsListen);
  if (config.metrics_listen() != "off") {
    absl::StatusOr<Address> a = ParseAddress("metrics_listen", config.metrics_listen());
    if (!a.ok()) return a.status();
    if (a->is_unix()) {
      return absl::InvalidArgumentError("metrics_listen: must be host:port (or \"off\")");
    }
  }
  v1::ServerLimits& l = *config.mutable_limits();
  if (l.max_streams() == 0) l.set_max_streams(kDefaultMaxStreams);
  if (l.max_batch_size() == 0) l.set_max_batch_size(kDefaultMaxBatchSize);
  if (l.max_repeats() == 0) l.set_max_repeats(kDefaultMaxRepeats);
  if (l.queue_depth() == 0) l.set_queue_depth(kDefaultServerQueueDepth);
  if (l.shutdown_grace_s() == 0) l.set_shutdown_grace_s(kDefaultShutdownGraceS);
  if (l.max_buffered_bytes() == 0) {
    l.set_max_buffered_bytes(std::max(limits::kMinBufferedBytes, UsableMemoryBytes() / 2));
  }
  for (const auto& [field, value, max] :
       {std::tuple{"limits.max_streams", uint64_t{l.max_streams()}, limits::kMaxStreams},
        std::tuple{"limits.max_batch_size", uint64_t{l.max_batch_size()}, limits::kMaxBatchSize},
        std::tuple{"limits.max_repeats", uint64_t{l.max_repeats()}, limits::kMaxRepeats},
        std::tuple{"limits.queue_depth", uint64_t{l.queue_depth()}, limits::kMaxQueueDepth},
        std::tuple{"limits.shutdown_grace_s", uint64_t{l.shutdown_grace_s()},
                   limits::kMaxShutdownGraceS}}) {
    if (absl::Status s = limits::CheckRange(field, value, 1, max); !s.ok()) return s;
  }
  if (absl::Status s = limits::CheckRange("limits.max_buffered_bytes", l.max_buffered_bytes(),
                                          limits::kMinBufferedBytes, limits::kMaxBufferedBytes);
      !s.ok()) {
    return s;
  }
  for (int i = 0; i < config.dataset_size(); ++i) {
    const uint32_t n = config.dataset(i).n_repeats();
    if (n > l.max_repeats()) {
      return absl::InvalidArgumentError(StrCat("dataset[", i, "].n_repeats: ", n,
                                               " exceeds limits.max_repeats (", l.max_repeats(),
                                               ")"));
    }
    if (config.dataset(i).window_shards() > 65536) {
      return absl::InvalidArgumentError(StrCat(
          "dataset[", i, "].window_shards: ", config.dataset(i).window_shards(), " is over 65536"));
    }
    const v1::DatasetConfig& d = config.dataset(i);
    if (d.canonical_nodes() > 65536) {
      return absl::InvalidArgumentError(
          StrCat("dataset[", i, "].canonical_nodes: ", d.canonical_nodes(), " is over 65536"));
    }
    if (d.canonical_nodes() > 1 && (d.node_batch() == 0 || d.node_batch() > (uint64_t{1} << 32))) {
      return absl::InvalidArgumentError(
          StrCat("dataset[", i, "].node_batch: ", d.node_batch(),
                 " — canonical_nodes needs 1 to 2^32 positions per node turn (ranks per host x "
                 "batch size per rank)"));
    }
  }
  return config;
}

}  // namespace maskfeed
