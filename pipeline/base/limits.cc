#include "pipeline/base/limits.h"

#include "pipeline/base/strings.h"

namespace maskfeed::limits {

absl::Status CheckRange(std::string_view field, uint64_t value, uint64_t lo, uint64_t hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(StrCat(field, ": must be in ", lo, "..", hi, ", got ", value));
}

}  // namespace maskfeed::limits
