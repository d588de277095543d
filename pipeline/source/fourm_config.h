// 4M's own YAML configs (docs/4m-configs.md) translated into a ServerConfig: a model config (its
// global token counts, text_tokenizer_path and data_config), a data config (train.datasets,
// weights) or both, with each dataset's alphas config (flat or mixture form), read with
// yaml-cpp under PyYAML's YAML 1.1 scalar rules (1_000 is an integer, 1e-3 a string).
//
//   FourMImport in{.files = {"cfgs/.../4m-b_mod7_500b.yaml"}, .root = "/src/ml-4m"};
//   absl::StatusOr<v1::ServerConfig> config = ImportFourMConfig(in);
//
// Errors name the file, the line where yaml-cpp knows it, and the key path
// ("data.yaml:12: train.datasets.cc12m.in_domains: required").
#ifndef MASKFEED_PIPELINE_SOURCE_FOURM_CONFIG_H_
#define MASKFEED_PIPELINE_SOURCE_FOURM_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "maskfeed/v1/server_config.pb.h"

namespace maskfeed {

struct FourMImport {
  // Model and/or data configs, in order (maskfeed-server --4m-config, repeatable). A model
  // config's data_config is used unless a data config is given too.
  std::vector<std::string> files;
  // What relative paths inside them are relative to (--4m-root; 4M: the working directory).
  std::string root = ".";
  // The tokenizer for raw text (--text-tokenizer); else the model config's
  // text_tokenizer_path, else 4M's default path under `root` when it exists.
  std::string text_tokenizer;
  // Dataset name -> data_path replacing the config's (--4m-data-path NAME=PATTERN; the
  // shipped configs hold placeholders). Key "" applies to every dataset.
  std::map<std::string, std::string> data_paths;
  // Import only these train datasets (--4m-datasets), weights renormalised; empty = all.
  std::vector<std::string> datasets;
};

// INVALID_ARGUMENT / NOT_FOUND naming file, line and key. The result is not finalized
// (FinalizeServerConfig fills limits and checks it).
absl::StatusOr<v1::ServerConfig> ImportFourMConfig(const FourMImport& import);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SOURCE_FOURM_CONFIG_H_
