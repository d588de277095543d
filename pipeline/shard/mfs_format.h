// The native maskfeed shard format (`.mfs`), version 2: one modality's records, each stored raw
// (the default codec) or as its own zstd frame (when a shard is written with zstd and the frame
// saves at least a tenth of the record), with a CRC-32C per stored record
// and, for raw records of rank >= 2, one per row (so a single crop variant can be read and
// checked alone), an optional zstd dictionary trained on the shard, and an index at the end.
//
//   [header 64 B][dictionary][record 0][record 1]...[index][trailer 32 B]
//
// header : magic "\x89MFS\r\n\x1a\n", u32 version, u8 dtype, u8 rank, u8 compression,
//          u8 raw (1: the records are raw members, uint8 (*,), each of the kind in bits 8..15
//          of its entry's flags; 0: numeric arrays), u32 inner dims[7], u32 dict_bytes, u32
//          dict_crc, i32 level, u32 reserved, u32 header_crc (CRC-32C of bytes 0..59)
// index  : u64 num_records, then per record {u64 offset, u32 stored_bytes, u32 raw_bytes,
//          u32 crc, u32 flags}, then u32 key_offsets[num_records + 1], then the key bytes,
//          then u32 row_crc_offsets[num_records + 1] into the u32 row CRCs that follow (raw
//          records of rank >= 2 have one per row; other records none)
// trailer: u64 index_offset, u64 index_bytes, u32 index_crc, u32 version, magic "MFSINDEX"
//
// All integers are little-endian. A record's first dimension is raw_bytes / row bytes, so
// records of one shard share dtype and inner dims but may differ in length.
#ifndef MASKFEED_PIPELINE_SHARD_MFS_FORMAT_H_
#define MASKFEED_PIPELINE_SHARD_MFS_FORMAT_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/base/record.h"
#include "pipeline/base/unaligned.h"

namespace maskfeed::mfs {

static_assert(std::endian::native == std::endian::little, "maskfeed assumes little-endian");

inline constexpr std::string_view kHeaderMagic{"\x89MFS\r\n\x1a\n", 8};
inline constexpr std::string_view kTrailerMagic{"MFSINDEX", 8};
inline constexpr uint32_t kVersion = 2;
inline constexpr size_t kHeaderBytes = 64;
inline constexpr size_t kTrailerBytes = 32;
inline constexpr size_t kEntryBytes = 24;
inline constexpr int kMaxInnerDims = 7;

enum class Compression : uint8_t { kNone = 0, kZstd = 1 };

// Entry flag: the record is stored uncompressed.
inline constexpr uint32_t kEntryRaw = 1;
// Entry flags bits 8..15: the RecordKind of a raw member (0 in shards of arrays).
inline constexpr int kEntryKindShift = 8;
inline constexpr uint32_t kEntryKindMask = 0xff00;
inline RecordKind EntryKind(uint32_t flags) {
  return static_cast<RecordKind>((flags & kEntryKindMask) >> kEntryKindShift);
}

struct Header {
  RecordLayout layout;
  Compression compression = Compression::kZstd;
  uint32_t dict_bytes = 0;
  uint32_t dict_crc = 0;
  int32_t level = 0;
};

struct Entry {
  uint64_t offset = 0;
  uint32_t stored_bytes = 0;
  uint32_t raw_bytes = 0;
  uint32_t crc = 0;
  uint32_t flags = 0;
};

struct Trailer {
  uint64_t index_offset = 0;
  uint64_t index_bytes = 0;
  uint32_t index_crc = 0;
};

std::string EncodeHeader(const Header& header);
// DATA_LOSS naming `path` on a bad magic, version, checksum or field.
absl::StatusOr<Header> DecodeHeader(std::string_view bytes, std::string_view path);

std::string EncodeTrailer(const Trailer& trailer);
absl::StatusOr<Trailer> DecodeTrailer(std::string_view bytes, std::string_view path);
// The same from the file's last kTrailerBytes bytes and its size (a remote shard's tail, read
// by a range request).
absl::StatusOr<Trailer> DecodeTrailerAt(std::string_view tail, uint64_t file_size,
                                        std::string_view path);

// The index: per record its entry, its key, and (raw records of rank >= 2) one CRC-32C per
// row. `row_crc_offsets[i]..row_crc_offsets[i + 1]` are record i's rows in `row_crcs`.
struct Index {
  std::vector<Entry> entries;
  std::vector<uint32_t> key_offsets;  // num_records + 1, into `keys`
  std::string_view keys;              // into the bytes decoded (or the writer's own)
  std::vector<uint32_t> row_crc_offsets;
  std::vector<uint32_t> row_crcs;
};

// Serialises an index whose keys are given separately (the writer holds them as strings).
std::string EncodeIndex(const std::vector<Entry>& entries, const std::vector<std::string>& keys,
                        const std::vector<uint32_t>& row_crc_offsets,
                        const std::vector<uint32_t>& row_crcs);

// Parses and checks an index: every entry's stored bytes lie within [data_begin, data_end),
// raw sizes are whole rows of `header`'s layout, flags agree with the compression, offsets
// are monotone and sum to the index's size, and row CRCs belong to raw records with one per
// row. DATA_LOSS naming `path` (and the record) otherwise. `keys` points into `index`.
absl::StatusOr<Index> DecodeIndex(std::string_view index, const Header& header, uint64_t data_begin,
                                  uint64_t data_end, std::string_view path);

inline void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<char*>(&v), 4); }
inline void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<char*>(&v), 8); }
inline uint32_t GetU32(const char* p) { return LoadU32(p); }
inline uint64_t GetU64(const char* p) { return LoadU64(p); }

}  // namespace maskfeed::mfs

#endif  // MASKFEED_PIPELINE_SHARD_MFS_FORMAT_H_
