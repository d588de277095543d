#include "server/server_config.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "frontend/malloc_tuning.h"
#include "pipeline/base/address.h"
#include "pipeline/base/limits.h"
#include "pipeline/base/strings.h"
#include "pipeline/source/data_config.h"

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

absl::StatusOr<v1::ServerConfig> FinalizeServerConfig(v1::ServerConfig config) {
  if (absl::Status s = FinalizeDataConfig(&config); !s.ok()) return s;
  if (absl::Status s = CheckAccess(config); !s.ok()) return s;
  if (config.threads() == 0) config.set_threads(std::max(1u, std::thread::hardware_concurrency()));
  if (absl::Status s = limits::CheckRange("threads", config.threads(), 1, limits::kMaxThreads);
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
  }
  return config;
}

}  // namespace maskfeed
