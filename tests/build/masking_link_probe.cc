// Links the masking library alone (tests/build/check_link_lines.sh reads what it needs): the
// masking policies, their config and presets, over base and the protobuf messages.
#include "pipeline/masking/masker.h"
#include "pipeline/masking/masking_config.h"

int main() {
  absl::StatusOr<maskfeed::v1::MaskingConfig> config = maskfeed::PresetMaskingConfig("4m-7");
  if (!config.ok()) return 1;
  absl::StatusOr<maskfeed::MaskingSpec> spec = maskfeed::ResolveMaskingConfig(*config);
  if (!spec.ok()) return 1;
  const maskfeed::Masker masker(*spec);
  return masker.spec().modalities.empty() ? 1 : 0;
}
