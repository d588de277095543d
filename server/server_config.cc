#include "server/server_config.h"

#include <charconv>
#include <set>
#include <thread>

#include "pipeline/base/strings.h"
#include "pipeline/base/text_proto.h"

namespace maskfeed {
absl::StatusOr<v1::ServerConfig> ParseServerConfig(std::string_view text) {
  v1::ServerConfig config;
  if (absl::Status s = ParseTextProto(text, "server config", &config); !s.ok()) return s;
  return config;
}

absl::StatusOr<v1::ServerConfig> LoadServerConfigFile(const std::string& path) {
  v1::ServerConfig config;
  if (absl::Status s = LoadTextProtoFile(path, "server config", &config); !s.ok()) return s;
  return config;
}

bool IsUnixAddress(std::string_view address) { return address.rfind("unix:", 0) == 0; }

absl::Status CheckListenAddress(std::string_view field, std::string_view address) {
  if (IsUnixAddress(address)) {
    if (address.size() <= 5)
      return absl::InvalidArgumentError(StrCat(field, ": empty socket path"));
    return absl::OkStatus();
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        StrCat(field, ": '", address, "' is not host:port or unix:/path"));
  }
  std::string_view port = address.substr(colon + 1);
  int value = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value < 0 || value > 65535) {
    return absl::InvalidArgumentError(StrCat(field, ": '", address, "' has no port in 0..65535"));
  }
  return absl::OkStatus();
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
    if (d.path().empty()) return absl::InvalidArgumentError(StrCat(field, ".path: required"));
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
    for (int c = 0; c < m.component_size(); ++c) {
      const v1::MixtureComponentRef& ref = m.component(c);
      const std::string cfield = StrCat(field, ".component[", c, "]");
      bool known = false;
      for (const v1::DatasetConfig& d : config.dataset()) known |= d.name() == ref.dataset();
      if (!known) {
        return absl::InvalidArgumentError(
            StrCat(cfield, ".dataset: '", ref.dataset(), "' is not a dataset of this config"));
      }
      if (!(ref.weight() > 0)) {
        return absl::InvalidArgumentError(StrCat(cfield, ".weight: must be > 0"));
      }
    }
  }
  if (config.listen_size() == 0) config.add_listen(kDefaultListen);
  for (int i = 0; i < config.listen_size(); ++i) {
    if (absl::Status s = CheckListenAddress(StrCat("listen[", i, "]"), config.listen(i)); !s.ok()) {
      return s;
    }
  }
  if (config.threads() == 0) config.set_threads(std::max(1u, std::thread::hardware_concurrency()));
  if (config.threads() > 1024) return absl::InvalidArgumentError("threads: must be <= 1024");
  if (config.metrics_listen().empty()) config.set_metrics_listen(kDefaultMetricsListen);
  if (config.metrics_listen() != "off") {
    if (IsUnixAddress(config.metrics_listen())) {
      return absl::InvalidArgumentError("metrics_listen: must be host:port (or \"off\")");
    }
    if (absl::Status s = CheckListenAddress("metrics_listen", config.metrics_listen()); !s.ok()) {
      return s;
    }
  }
  v1::ServerLimits& l = *config.mutable_limits();
  if (l.max_streams() == 0) l.set_max_streams(kDefaultMaxStreams);
  if (l.max_batch_size() == 0) l.set_max_batch_size(kDefaultMaxBatchSize);
  if (l.max_repeats() == 0) l.set_max_repeats(kDefaultMaxRepeats);
  if (l.queue_depth() == 0) l.set_queue_depth(kDefaultServerQueueDepth);
  if (l.shutdown_grace_s() == 0) l.set_shutdown_grace_s(kDefaultShutdownGraceS);
  if (l.max_streams() > 4096)
    return absl::InvalidArgumentError("limits.max_streams: must be <= 4096");
  if (l.max_batch_size() > 65536) {
    return absl::InvalidArgumentError("limits.max_batch_size: must be <= 65536");
  }
  if (l.max_repeats() > 1024)
    return absl::InvalidArgumentError("limits.max_repeats: must be <= 1024");
  if (l.queue_depth() > 64) return absl::InvalidArgumentError("limits.queue_depth: must be <= 64");
  return config;
}

}  // namespace maskfeed
