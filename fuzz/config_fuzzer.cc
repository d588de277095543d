// Text-format configs: the server config (parsed and finalized: every float, limit, address,
// TLS and socket field checked), masking configs (parsed and resolved into a layout), and
// 4M's data_path patterns (brace expansion, modality lists).
#include "fuzz/fuzz_util.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/shard/url_pattern.h"
#include "server/server_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  const std::string_view text = fuzz::AsView(data, size);
  absl::StatusOr<v1::ServerConfig> server = ParseServerConfig(text);
  if (server.ok()) {
    absl::StatusOr<v1::ServerConfig> finalized = FinalizeServerConfig(*server);
    if (finalized.ok()) {
      for (const v1::DatasetConfig& d : finalized->dataset()) {
        (void)ResolveMaskingConfig(d.masking());
      }
    }
  }
  // 4M data_path patterns come from configs too.
  absl::StatusOr<std::vector<std::string>> names = ExpandBraces(text);
  if (names.ok()) fuzz::Check(!names->empty() && names->size() <= kMaxExpandedNames, "expansion");
  (void)SplitModalityList(text);
  absl::StatusOr<v1::MaskingConfig> masking = ParseMaskingConfig(text);
  if (masking.ok()) (void)ResolveMaskingConfig(*masking);
  return 0;
}
