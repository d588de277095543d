// RAII owners for zstd contexts and dictionaries, and the error check every zstd call needs.
#ifndef MASKFEED_PIPELINE_SHARD_ZSTD_HANDLES_H_
#define MASKFEED_PIPELINE_SHARD_ZSTD_HANDLES_H_

#include <zstd.h>

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "pipeline/base/strings.h"

namespace maskfeed {

struct ZstdDeleter {
  void operator()(ZSTD_CCtx* p) const { ZSTD_freeCCtx(p); }
  void operator()(ZSTD_DCtx* p) const { ZSTD_freeDCtx(p); }
  void operator()(ZSTD_CDict* p) const { ZSTD_freeCDict(p); }
  void operator()(ZSTD_DDict* p) const { ZSTD_freeDDict(p); }
};

using ZstdCCtx = std::unique_ptr<ZSTD_CCtx, ZstdDeleter>;
using ZstdDCtx = std::unique_ptr<ZSTD_DCtx, ZstdDeleter>;
using ZstdCDict = std::unique_ptr<ZSTD_CDict, ZstdDeleter>;
using ZstdDDict = std::unique_ptr<ZSTD_DDict, ZstdDeleter>;

// OK, or INTERNAL "<what>: <zstd error name>" when `code` is a zstd error.
inline absl::Status CheckZstd(size_t code, std::string_view what) {
  if (!ZSTD_isError(code)) return absl::OkStatus();
  return absl::InternalError(StrCat(what, ": ", ZSTD_getErrorName(code)));
}

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_ZSTD_HANDLES_H_
