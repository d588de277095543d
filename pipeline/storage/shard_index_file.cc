#include "pipeline/storage/shard_index_file.h"

#include <cstring>

#include "pipeline/base/crc32c.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr std::string_view kMagic = "MFSIDX01";
constexpr uint64_t kMaxRecords = uint64_t{1} << 32;

void Put32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void Put64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }

// Reads fixed-size fields from the front of a view; false once past its end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool U32(uint32_t* v) { return Take(v, 4); }
  bool U64(uint64_t* v) { return Take(v, 8); }
  bool Bytes(size_t n, std::string_view* out) {
    if (rest_.size() < n) return false;
    *out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }
  size_t left() const { return rest_.size(); }

 private:
  bool Take(void* v, size_t n) {
    if (rest_.size() < n) return false;
    std::memcpy(v, rest_.data(), n);
    rest_.remove_prefix(n);
    return true;
  }
  std::string_view rest_;
};

}  // namespace

ShardIndex ShardIndex::Of(const ShardReader& reader) {
  ShardIndex index;
  index.layout = reader.layout();
  for (size_t i = 0; i < reader.num_records(); ++i) {
    index.first_dims.push_back(reader.first_dim(i));
    index.kinds.push_back(reader.kind(i));
    index.keys += reader.key(i);
    index.key_offsets.push_back(static_cast<uint32_t>(index.keys.size()));
  }
  return index;
}

std::string EncodeShardIndex(const ShardIndex& index) {
  std::string out(kMagic);
  Put32(&out, static_cast<uint32_t>(index.layout.dtype));
  Put32(&out, static_cast<uint32_t>(index.layout.rank));
  Put32(&out, index.layout.raw ? 1 : 0);
  for (int64_t d : index.layout.inner) Put64(&out, static_cast<uint64_t>(d));
  Put64(&out, index.size());
  for (size_t i = 0; i < index.size(); ++i) {
    Put64(&out, static_cast<uint64_t>(index.first_dims[i]));
    Put32(&out, static_cast<uint32_t>(index.kinds[i]));
    const std::string_view key = index.key(i);
    Put32(&out, static_cast<uint32_t>(key.size()));
    out += key;
  }
  Put32(&out, Crc32c(out.data(), out.size()));
  return out;
}

absl::StatusOr<ShardIndex> DecodeShardIndex(std::string_view bytes, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return absl::DataLossError(StrCat(what, ": not a shard index file: ", why));
  };
  if (bytes.size() < kMagic.size() + 4 || bytes.substr(0, kMagic.size()) != kMagic) {
    return bad("bad magic");
  }
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  uint32_t crc;
  std::memcpy(&crc, bytes.data() + body.size(), 4);
  if (Crc32c(body.data(), body.size()) != crc) return bad("checksum mismatch");
  Reader r(body.substr(kMagic.size()));
  ShardIndex index;
  uint32_t dtype, rank, raw;
  uint64_t records;
  if (!r.U32(&dtype) || !r.U32(&rank) || !r.U32(&raw)) return bad("truncated layout");
  if (dtype < 1 || dtype > 9 || rank > static_cast<uint32_t>(kMaxRank) || raw > 1) {
    return bad(StrCat("layout out of range (dtype ", dtype, ", rank ", rank, ")"));
  }
  index.layout.dtype = static_cast<DType>(dtype);
  index.layout.rank = static_cast<int>(rank);
  index.layout.raw = raw == 1;
  for (int64_t& d : index.layout.inner) {
    uint64_t v;
    if (!r.U64(&v)) return bad("truncated layout");
    d = static_cast<int64_t>(v);
    if (d < 0) return bad("negative dimension");
  }
  if (!r.U64(&records) || records > kMaxRecords || records > r.left() / 16) {
    return bad("record count past the end");
  }
  for (uint64_t i = 0; i < records; ++i) {
    uint64_t first_dim;
    uint32_t kind, key_bytes;
    std::string_view key;
    if (!r.U64(&first_dim) || !r.U32(&kind) || !r.U32(&key_bytes) || !r.Bytes(key_bytes, &key)) {
      return bad(StrCat("record ", i, " runs past the end"));
    }
    if (kind > kMaxRecordKind || static_cast<int64_t>(first_dim) < 0) {
      return bad(StrCat("record ", i, ": kind or size out of range"));
    }
    if (index.keys.size() + key.size() > UINT32_MAX) return bad("keys too long");
    index.first_dims.push_back(static_cast<int64_t>(first_dim));
    index.kinds.push_back(static_cast<RecordKind>(kind));
    index.keys += key;
    index.key_offsets.push_back(static_cast<uint32_t>(index.keys.size()));
  }
  if (r.left() != 0) return bad("bytes after the last record");
  return index;
}

}  // namespace maskfeed
