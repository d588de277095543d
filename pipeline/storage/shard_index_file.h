// What a remote shard's index holds — record layout, and per record its key, first dimension
// and kind — as a small file kept in the shard cache beside the shards. A tar shard has no
// index of its own: it is fetched once to be indexed, and its index is kept this way, so that
// opening the dataset again (another process, a restart) does not fetch it again.
//
// Layout: "MFSIDX01", u32 dtype, u32 rank, u32 raw, kMaxRank x i64 inner dims, u64 records,
// then per record i64 first_dim, u32 kind, u32 key bytes, the key; last a u32 CRC-32C of
// everything before it. Little-endian.
#ifndef MASKFEED_PIPELINE_STORAGE_SHARD_INDEX_FILE_H_
#define MASKFEED_PIPELINE_STORAGE_SHARD_INDEX_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/shard/shard_reader.h"

namespace maskfeed {

struct ShardIndex {
  RecordLayout layout;
  std::vector<int64_t> first_dims;
  std::vector<RecordKind> kinds;
  std::string keys;                      // concatenated
  std::vector<uint32_t> key_offsets{0};  // records + 1, into keys

  static ShardIndex Of(const ShardReader& reader);
  size_t size() const { return first_dims.size(); }
  std::string_view key(size_t i) const {
    return std::string_view(keys).substr(key_offsets[i], key_offsets[i + 1] - key_offsets[i]);
  }
};

std::string EncodeShardIndex(const ShardIndex& index);
// DATA_LOSS naming `what` for bytes that are not such a file: a bad magic or checksum, a
// field out of range, a length past the end (untrusted: fuzzed).
absl::StatusOr<ShardIndex> DecodeShardIndex(std::string_view bytes, std::string_view what);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_SHARD_INDEX_FILE_H_
