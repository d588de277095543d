#include "pipeline/shard/mfs_format.h"

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "pipeline/base/crc32c.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/shard_reader.h"

namespace maskfeed::mfs {
namespace {

constexpr size_t kHeaderCrcOffset = 60;

absl::Status Corrupt(std::string_view path, std::string_view what) {
  return absl::DataLossError(StrCat(path, ": ", what));
}

}  // namespace

std::string EncodeHeader(const Header& h) {
  std::string out(kHeaderMagic);
  PutU32(&out, kVersion);
  out.push_back(static_cast<char>(h.layout.dtype));
  out.push_back(static_cast<char>(h.layout.rank));
  out.push_back(static_cast<char>(h.compression));
  out.push_back(h.layout.raw ? '\1' : '\0');
  for (int i = 0; i < kMaxInnerDims; ++i) PutU32(&out, static_cast<uint32_t>(h.layout.inner[i]));
  PutU32(&out, h.dict_bytes);
  PutU32(&out, h.dict_crc);
  PutU32(&out, static_cast<uint32_t>(h.level));
  PutU32(&out, 0);
  PutU32(&out, Crc32c(out.data(), out.size()));
  return out;
}

absl::StatusOr<Header> DecodeHeader(std::string_view bytes, std::string_view path) {
  if (bytes.size() < kHeaderBytes) return Corrupt(path, "file too short for an .mfs header");
  if (bytes.substr(0, kHeaderMagic.size()) != kHeaderMagic) {
    return Corrupt(path, "not an .mfs shard (bad magic)");
  }
  const char* p = bytes.data();
  const uint32_t version = GetU32(p + 8);
  if (version != kVersion) {
    return Corrupt(
        path, StrCat("unsupported .mfs version ", version, " (this build reads ", kVersion, ")"));
  }
  if (Crc32c(p, kHeaderCrcOffset) != GetU32(p + kHeaderCrcOffset)) {
    return Corrupt(path, "header checksum mismatch (corrupt)");
  }
  Header h;
  std::optional<DType> dtype = DTypeFromCode(static_cast<uint8_t>(p[12]));
  const int rank = static_cast<uint8_t>(p[13]);
  const uint8_t compression = static_cast<uint8_t>(p[14]);
  if (!dtype) return Corrupt(path, StrCat("unknown dtype code ", int{p[12]}));
  if (rank < 1 || rank > kMaxInnerDims + 1) return Corrupt(path, StrCat("bad rank ", rank));
  if (compression > static_cast<uint8_t>(Compression::kZstd)) {
    return Corrupt(path, StrCat("unknown compression code ", int{compression}));
  }
  const uint8_t raw = static_cast<uint8_t>(p[15]);
  if (raw > 1 || (raw == 1 && (*dtype != DType::kUInt8 || rank != 1))) {
    return Corrupt(path, StrCat("bad raw-members flag ", int{raw}, " for ", DTypeName(*dtype),
                                " records of rank ", rank));
  }
  h.layout.raw = raw == 1;
  h.layout.dtype = *dtype;
  h.layout.rank = rank;
  for (int i = 0; i < kMaxInnerDims; ++i) h.layout.inner[i] = GetU32(p + 16 + 4 * i);
  // A record's raw size is a u32, so no row may be larger (and the product must not wrap).
  const std::optional<uint64_t> row_bytes = h.layout.CheckedRowBytes();
  if (!row_bytes || *row_bytes > UINT32_MAX) {
    return Corrupt(path, StrCat("record rows of ", h.layout.ToString(), " are larger than 4 GiB"));
  }
  h.compression = static_cast<Compression>(compression);
  h.dict_bytes = GetU32(p + 44);
  h.dict_crc = GetU32(p + 48);
  h.level = static_cast<int32_t>(GetU32(p + 52));
  return h;
}

std::string EncodeTrailer(const Trailer& t) {
  std::string out;
  PutU64(&out, t.index_offset);
  PutU64(&out, t.index_bytes);
  PutU32(&out, t.index_crc);
  PutU32(&out, kVersion);
  out.append(kTrailerMagic);
  return out;
}

absl::StatusOr<Trailer> DecodeTrailer(std::string_view bytes, std::string_view path) {
  if (bytes.size() < kHeaderBytes + kTrailerBytes) {
    return Corrupt(path, StrCat("file of ", bytes.size(),
                                " bytes is too short for an .mfs shard (truncated)"));
  }
  return DecodeTrailerAt(bytes.substr(bytes.size() - kTrailerBytes), bytes.size(), path);
}

absl::StatusOr<Trailer> DecodeTrailerAt(std::string_view tail, uint64_t file_size,
                                        std::string_view path) {
  if (file_size < kHeaderBytes + kTrailerBytes || tail.size() != kTrailerBytes) {
    return Corrupt(
        path, StrCat("file of ", file_size, " bytes is too short for an .mfs shard (truncated)"));
  }
  const char* p = tail.data();
  if (std::string_view(p + 24, 8) != kTrailerMagic) {
    return Corrupt(path, "no index trailer at the end of the file (truncated or corrupt)");
  }
  Trailer t;
  t.index_offset = GetU64(p);
  t.index_bytes = GetU64(p + 8);
  t.index_crc = GetU32(p + 16);
  const uint64_t index_end = file_size - kTrailerBytes;
  if (t.index_offset < kHeaderBytes || t.index_offset > index_end ||
      t.index_bytes != index_end - t.index_offset) {
    return Corrupt(path, StrCat("index location ", t.index_offset, "+", t.index_bytes,
                                " does not fit the file (truncated or corrupt)"));
  }
  return t;
}

std::string EncodeIndex(const std::vector<Entry>& entries, const std::vector<std::string>& keys,
                        const std::vector<uint32_t>& row_crc_offsets,
                        const std::vector<uint32_t>& row_crcs) {
  std::string index;
  PutU64(&index, entries.size());
  for (const Entry& e : entries) {
    PutU64(&index, e.offset);
    PutU32(&index, e.stored_bytes);
    PutU32(&index, e.raw_bytes);
    PutU32(&index, e.crc);
    PutU32(&index, e.flags);
  }
  uint32_t key_offset = 0;
  for (const std::string& k : keys) {
    PutU32(&index, key_offset);
    key_offset += static_cast<uint32_t>(k.size());
  }
  PutU32(&index, key_offset);
  for (const std::string& k : keys) index.append(k);
  for (uint32_t o : row_crc_offsets) PutU32(&index, o);
  for (uint32_t c : row_crcs) PutU32(&index, c);
  return index;
}

absl::StatusOr<Index> DecodeIndex(std::string_view index, const Header& header, uint64_t data_begin,
                                  uint64_t data_end, std::string_view path) {
  const size_t row_bytes = header.layout.RowBytes();
  if (row_bytes == 0) return Corrupt(path, "records have a zero-sized inner dimension");
  if (index.size() < 8) return Corrupt(path, "index too short");
  const uint64_t n = GetU64(index.data());
  // n is bounded by the index's size before anything is multiplied by it.
  if (n > index.size() / (kEntryBytes + 4) || 8 + n * (kEntryBytes + 4) + 4 > index.size()) {
    return Corrupt(path, StrCat("index claims ", n, " records but holds ", index.size(), " bytes"));
  }
  const uint64_t fixed = 8 + n * (kEntryBytes + 4) + 4;
  Index out;
  out.entries.resize(n);
  const char* q = index.data() + 8;
  for (uint64_t i = 0; i < n; ++i, q += kEntryBytes) {
    Entry& e = out.entries[i];
    e.offset = GetU64(q);
    e.stored_bytes = GetU32(q + 8);
    e.raw_bytes = GetU32(q + 12);
    e.crc = GetU32(q + 16);
    e.flags = GetU32(q + 20);
    std::string bad;
    if (e.offset < data_begin || e.offset > data_end || e.stored_bytes > data_end - e.offset) {
      bad = StrCat("stored bytes ", e.offset, "+", e.stored_bytes, " lie outside the data");
    } else if (e.raw_bytes % row_bytes != 0) {
      bad = StrCat(e.raw_bytes, " raw bytes are not a whole number of ", header.layout.ToString(),
                   " rows");
    } else if ((e.flags & kEntryRaw) ? e.stored_bytes != e.raw_bytes
                                     : header.compression != Compression::kZstd) {
      bad = "entry flags disagree with the stored size or the shard's compression";
    } else if (const uint32_t kind = (e.flags & kEntryKindMask) >> kEntryKindShift;
               (e.flags & ~(kEntryRaw | kEntryKindMask)) != 0 ||
               (header.layout.raw ? kind == 0 || kind > kMaxRecordKind : kind != 0)) {
      bad = StrCat("unknown entry flags ", absl::Hex(e.flags));
    }
    if (!bad.empty()) return RecordError(path, i, "?", StrCat("bad index entry: ", bad));
  }
  out.key_offsets.resize(n + 1);
  for (uint64_t i = 0; i <= n; ++i, q += 4) out.key_offsets[i] = GetU32(q);
  for (uint64_t i = 0; i < n; ++i) {
    if (out.key_offsets[i] > out.key_offsets[i + 1]) {
      return RecordError(path, i, "?", "bad index: key offsets decrease");
    }
  }
  // Keys, then the row CRC offsets (n + 1) and the row CRCs.
  const uint64_t row_offsets_at = fixed + uint64_t{out.key_offsets[n]};
  if (out.key_offsets[0] != 0 || row_offsets_at > index.size() ||
      (n + 1) * 4 > index.size() - row_offsets_at) {
    return Corrupt(path, "bad index: key bytes do not add up");
  }
  out.keys = index.substr(fixed, out.key_offsets[n]);
  q = index.data() + row_offsets_at;
  out.row_crc_offsets.resize(n + 1);
  for (uint64_t i = 0; i <= n; ++i, q += 4) out.row_crc_offsets[i] = GetU32(q);
  const uint64_t crcs_at = row_offsets_at + (n + 1) * 4;
  if (out.row_crc_offsets[0] != 0 ||
      uint64_t{out.row_crc_offsets[n]} * 4 != index.size() - crcs_at) {
    return Corrupt(path, "bad index: row checksums do not add up");
  }
  for (uint64_t i = 0; i < n; ++i) {
    const Entry& e = out.entries[i];
    const uint32_t from = out.row_crc_offsets[i], to = out.row_crc_offsets[i + 1];
    if (from > to ||
        (to != from && (to - from != e.raw_bytes / row_bytes || !(e.flags & kEntryRaw)))) {
      return RecordError(path, i, "?", "bad index: row checksums do not match the record");
    }
  }
  out.row_crcs.resize(out.row_crc_offsets[n]);
  for (uint32_t& c : out.row_crcs) {
    c = GetU32(q);
    q += 4;
  }
  return out;
}

}  // namespace maskfeed::mfs
