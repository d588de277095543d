#include "pipeline/source/data_config.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <tuple>

#include "pipeline/base/limits.h"
#include "pipeline/base/strings.h"
#include "pipeline/base/text_proto.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/order/order_spec.h"

namespace maskfeed {
namespace {

absl::Status CheckDatasets(v1::ServerConfig& config, std::set<std::string>* names) {
  if (config.dataset_size() == 0) {
    return absl::InvalidArgumentError("dataset: at least one dataset is required");
  }
  for (int i = 0; i < config.dataset_size(); ++i) {
    v1::DatasetConfig& d = *config.mutable_dataset(i);
    const std::string field = StrCat("dataset[", i, "]");
    if (d.name().empty()) return absl::InvalidArgumentError(StrCat(field, ".name: required"));
    if (!names->insert(d.name()).second) {
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
    if (absl::StatusOr<MaskingSpec> spec = ResolveMaskingConfig(d.masking()); !spec.ok()) {
      return absl::Status(spec.status().code(),
                          StrCat(field, ".masking.", ToStd(spec.status().message())));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMixtures(const v1::ServerConfig& config, std::set<std::string>* names) {
  for (int i = 0; i < config.mixture_size(); ++i) {
    const v1::MixtureConfig& m = config.mixture(i);
    const std::string field = StrCat("mixture[", i, "]");
    if (m.name().empty()) return absl::InvalidArgumentError(StrCat(field, ".name: required"));
    if (!names->insert(m.name()).second) {
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
  return absl::OkStatus();
}

}  // namespace

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

absl::StatusOr<v1::ServerConfig> ParseServerConfig(std::string_view text) {
  return ParseTextProtoAs<v1::ServerConfig>(text, "server config");
}

absl::StatusOr<v1::ServerConfig> LoadServerConfigFile(const std::string& path) {
  return LoadTextProtoFileAs<v1::ServerConfig>(path, "server config");
}

namespace {

// A range is both 0 (the default) or 0 < min <= max; hflip a probability.
absl::Status CheckRandomCrop(const v1::RandomCropConfig& crop) {
  for (auto [name, lo, hi] : {std::tuple{"scale", crop.scale_min(), crop.scale_max()},
                              std::tuple{"ratio", crop.ratio_min(), crop.ratio_max()}}) {
    if (lo == 0 && hi == 0) continue;
    if (!(lo > 0 && lo <= hi && hi < 1e6)) {
      return absl::InvalidArgumentError(
          StrCat(name, "_min, ", name, "_max: ", lo, ", ", hi, " is not a range 0 < min <= max"));
    }
  }
  if (crop.has_hflip() && !(crop.hflip() >= 0 && crop.hflip() <= 1)) {
    return absl::InvalidArgumentError(StrCat("hflip: ", crop.hflip(), " is not in [0, 1]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FinalizeDataConfig(v1::ServerConfig* config) {
  std::set<std::string> names;
  if (absl::Status s = CheckDatasets(*config, &names); !s.ok()) return s;
  if (absl::Status s = CheckMixtures(*config, &names); !s.ok()) return s;
  // What a request naming nothing streams: what the config trains on.
  if (config->default_dataset().empty()) {
    config->set_default_dataset(config->mixture_size() > 0 ? config->mixture(0).name()
                                                           : config->dataset(0).name());
  } else if (!names.contains(config->default_dataset())) {
    return absl::InvalidArgumentError(StrCat("default_dataset: '", config->default_dataset(),
                                             "' is neither a dataset nor a mixture of this "
                                             "config"));
  }
  for (int i = 0; i < config->dataset_size(); ++i) {
    if (absl::Status s = OrderSpecFromConfig(config->dataset(i)).Validate(); !s.ok()) {
      return absl::InvalidArgumentError(StrCat("dataset[", i, "].", ToStd(s.message())));
    }
    if (absl::Status s = CheckRandomCrop(config->dataset(i).random_crop()); !s.ok()) {
      return absl::InvalidArgumentError(
          StrCat("dataset[", i, "].random_crop.", ToStd(s.message())));
    }
  }
  v1::StorageConfig& storage = *config->mutable_storage();
  if (storage.cache_dir().empty()) {
    storage.set_cache_dir((std::filesystem::path(MaskfeedCacheDir()) / "shards").string());
  }
  if (storage.fetch_threads() == 0) storage.set_fetch_threads(kDefaultFetchThreads);
  return limits::CheckRange("storage.fetch_threads", storage.fetch_threads(), 1, 64);
}

}  // namespace maskfeed
