#include "pipeline/shard/shard_reader.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/mfs_reader.h"
#include "pipeline/shard/tar_reader.h"

namespace maskfeed {

std::string_view ShardFormatName(ShardFormat format) {
  return format == ShardFormat::kTar ? "tar" : "mfs";
}

std::string_view ShardExtension(ShardFormat format) {
  return format == ShardFormat::kTar ? ".tar" : ".mfs";
}

absl::StatusOr<std::unique_ptr<ShardReader>> OpenShard(const std::string& path) {
  if (absl::EndsWith(path, ".tar")) {
    absl::StatusOr<std::unique_ptr<TarShardReader>> r = TarShardReader::Open(path);
    if (!r.ok()) return r.status();
    return std::unique_ptr<ShardReader>(std::move(*r));
  }
  if (absl::EndsWith(path, ".mfs")) {
    absl::StatusOr<std::unique_ptr<MfsShardReader>> r = MfsShardReader::Open(path);
    if (!r.ok()) return r.status();
    return std::unique_ptr<ShardReader>(std::move(*r));
  }
  return absl::InvalidArgumentError(
      StrCat(path, ": unknown shard format (expected a .tar or .mfs file)"));
}

absl::Status ShardReader::ReadRow(size_t i, int64_t row, Record* out) const {
  if (absl::Status s = Read(i, out); !s.ok()) return s;
  const size_t row_bytes = out->data.size() / static_cast<size_t>(out->shape[0]);
  if (row > 0) {
    std::memmove(out->data.data(), out->data.data() + row * row_bytes, row_bytes);
  }
  out->data.resize(row_bytes);
  for (int d = 1; d < out->shape.rank; ++d) out->shape.dims[d - 1] = out->shape.dims[d];
  --out->shape.rank;
  return absl::OkStatus();
}

void PrefetchBytes(const void* data, size_t size) {
  constexpr size_t kLine = 64;
  const char* p = static_cast<const char*>(data);
  for (size_t off = 0; off < size; off += kLine) __builtin_prefetch(p + off, 0, 3);
}

absl::Status RecordError(std::string_view path, size_t index, std::string_view key,
                         std::string_view message) {
  return absl::DataLossError(StrCat(path, ": record ", index, " (key ", key, "): ", message));
}

}  // namespace maskfeed
