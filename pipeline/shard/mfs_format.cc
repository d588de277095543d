#include "pipeline/shard/mfs_format.h"

#include <optional>

#include "absl/status/status.h"
#include "pipeline/base/crc32c.h"
#include "pipeline/base/strings.h"

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
  out.push_back('\0');
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
  h.layout.dtype = *dtype;
  h.layout.rank = rank;
  for (int i = 0; i < kMaxInnerDims; ++i) h.layout.inner[i] = GetU32(p + 16 + 4 * i);
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
  const char* p = bytes.data() + bytes.size() - kTrailerBytes;
  if (std::string_view(p + 24, 8) != kTrailerMagic) {
    return Corrupt(path, "no index trailer at the end of the file (truncated or corrupt)");
  }
  Trailer t;
  t.index_offset = GetU64(p);
  t.index_bytes = GetU64(p + 8);
  t.index_crc = GetU32(p + 16);
  const uint64_t index_end = bytes.size() - kTrailerBytes;
  if (t.index_offset < kHeaderBytes || t.index_offset > index_end ||
      t.index_bytes != index_end - t.index_offset) {
    return Corrupt(path, StrCat("index location ", t.index_offset, "+", t.index_bytes,
                                " does not fit the file (truncated or corrupt)"));
  }
  return t;
}

}  // namespace maskfeed::mfs
