// Text-format configs: the server config (parsed and finalized: every float, limit, address,
// TLS and socket field checked), masking configs (parsed and resolved into a layout), and
// 4M's data_path patterns (brace expansion, modality lists).
#include "fuzz_util.h"
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
  // Small limits keep each input fast; the limits' own checks are what is exercised.
  const ExpandLimits limits{.names = 2000, .bytes = 1 << 20};
  absl::StatusOr<std::vector<std::string>> names = ExpandBraces(text, limits);
  if (names.ok()) fuzz::Check(!names->empty() && names->size() <= limits.names, "expansion");
  (void)SplitModalityList(text);
  absl::StatusOr<v1::MaskingConfig> masking = ParseMaskingConfig(text);
  if (masking.ok()) (void)ResolveMaskingConfig(*masking);
  return 0;
}
