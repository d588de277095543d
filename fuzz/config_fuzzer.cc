// Text-format configs: the server config (parsed and finalized: every float, limit, address,
// TLS and socket field checked) and masking configs (parsed and resolved into a layout).
#include "fuzz/fuzz_util.h"
#include "pipeline/masking/masking_config.h"
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
  absl::StatusOr<v1::MaskingConfig> masking = ParseMaskingConfig(text);
  if (masking.ok()) (void)ResolveMaskingConfig(*masking);
  return 0;
}
