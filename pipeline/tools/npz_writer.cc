#include "pipeline/tools/npz_writer.h"

#include <zlib.h>

#include <algorithm>
#include <string_view>

#include "pipeline/base/output_file.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/npy.h"

namespace maskfeed {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralEntrySignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint16_t kVersion20 = 20;  // zip 2.0: stored members
constexpr uint16_t kDos1980 = 0x21;  // the date field: 1980-01-01, as numpy leaves it
constexpr size_t kLocalHeaderBytes = 30;

void Put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xFF));
  out->push_back(static_cast<char>(v >> 8));
}

void Put32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// The fields local headers and central entries share, from "version needed" to the name length.
void PutCommon(std::string* out, uint32_t crc, uint32_t size, uint16_t name_bytes) {
  Put16(out, kVersion20);  // version needed
  Put16(out, 0);           // flags
  Put16(out, 0);           // method: stored
  Put16(out, 0);           // time
  Put16(out, kDos1980);    // date
  Put32(out, crc);
  Put32(out, size);  // compressed
  Put32(out, size);  // uncompressed
  Put16(out, name_bytes);
}

// UTF-8 to code points; a byte that starts no valid sequence becomes U+FFFD. The names this
// writes are config names: a few bytes, no hot path.
std::u32string CodePoints(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int extra = b < 0x80         ? 0
                      : (b >> 5) == 6  ? 1
                      : (b >> 4) == 14 ? 2
                      : (b >> 3) == 30 ? 3
                                       : -1;
    char32_t c = extra == 0 ? b : extra == 1 ? b & 0x1F : extra == 2 ? b & 0x0F : b & 0x07;
    bool ok = extra >= 0 && i + static_cast<size_t>(extra) < s.size();
    for (int k = 1; ok && k <= extra; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      ok = (cont & 0xC0) == 0x80;
      c = (c << 6) | (cont & 0x3F);
    }
    if (!ok) {
      out.push_back(U'\uFFFD');
      ++i;
      continue;
    }
    out.push_back(c);
    i += 1 + static_cast<size_t>(extra);
  }
  return out;
}

}  // namespace

void NpzWriter::AddStrings(const std::string& name, const std::vector<std::string>& values) {
  std::vector<std::u32string> points;
  size_t width = 1;  // numpy has no '<U0'
  for (const std::string& v : values) {
    points.push_back(CodePoints(v));
    width = std::max(width, points.back().size());
  }
  std::u32string& data = owned_.emplace_back();
  for (std::u32string& p : points) {
    p.resize(width, U'\0');  // numpy pads with NULs
    data += p;
  }
  Shape s;
  s.rank = 1;
  s.dims[0] = static_cast<int64_t>(values.size());
  // '<U': little-endian UTF-32, as this (little-endian) machine holds char32_t.
  members_.push_back(Member{name + ".npy", EncodeNpyHeader(StrCat("<U", width), s), data.data(),
                            data.size() * sizeof(char32_t)});
}

void NpzWriter::Add(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                    const void* data) {
  Shape s;
  s.rank = static_cast<int>(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) s.dims[i] = shape[i];
  members_.push_back(Member{name + ".npy", EncodeNpyHeader(dtype, s), data,
                            static_cast<uint64_t>(s.NumElements()) * ItemSize(dtype)});
}

void NpzWriter::AddBytes(const std::string& name, std::string_view descr,
                         const std::vector<int64_t>& shape, std::string bytes) {
  Shape s;
  s.rank = static_cast<int>(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) s.dims[i] = shape[i];
  const std::string& data = owned_bytes_.emplace_back(std::move(bytes));
  members_.push_back(Member{name + ".npy", EncodeNpyHeader(descr, s), data.data(), data.size()});
}

absl::Status NpzWriter::Write(const std::string& path) const {
  absl::StatusOr<OutputFile> out = OutputFile::Create(path);
  if (!out.ok()) return out.status();
  if (absl::Status s = Emit(path, [&](std::string_view part) { return out->Write(part); });
      !s.ok()) {
    return s;
  }
  return out->Commit();
}

absl::StatusOr<std::string> NpzWriter::Encode() const {
  std::string bytes;
  absl::Status s = Emit("npz archive", [&](std::string_view part) {
    bytes.append(part);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return bytes;
}

absl::Status NpzWriter::Emit(const std::string& path,
                             const std::function<absl::Status(std::string_view)>& sink) const {
  // Lay the archive out first, so that an archive over the limits is refused before a byte
  // is written.
  if (members_.size() > kMaxMembers) {
    return absl::InvalidArgumentError(
        StrCat(path, ": ", members_.size(), " members, over the ", kMaxMembers,
               " a zip without zip64 holds; fetch fewer modalities or smaller batches"));
  }
  uint64_t end = 0;
  for (const Member& m : members_) {
    const uint64_t size = m.header.size() + m.data_bytes;
    if (size > kMaxZipBytes || end > kMaxZipBytes || m.name.size() > 0xFFFF) {
      return absl::InvalidArgumentError(
          StrCat(path, ": member ", m.name, " (", size, " bytes at offset ", end,
                 ") is past the 4 GiB a zip without zip64 holds; fetch smaller batches"));
    }
    end += kLocalHeaderBytes + m.name.size() + size;
  }
  if (end > kMaxZipBytes) {
    return absl::InvalidArgumentError(StrCat(path, ": ", end,
                                             " bytes, over the 4 GiB a zip without zip64 "
                                             "holds; fetch smaller batches"));
  }

  uint64_t offset = 0;
  auto write = [&](std::string_view part) {
    offset += part.size();
    return sink(part);
  };
  std::string central;
  for (const Member& m : members_) {
    const std::string_view data(static_cast<const char*>(m.data), m.data_bytes);
    uLong crc = crc32_z(0, nullptr, 0);
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(m.header.data()), m.header.size());
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(data.data()), data.size());
    const auto size = static_cast<uint32_t>(m.header.size() + data.size());
    const auto name_bytes = static_cast<uint16_t>(m.name.size());
    const auto local_offset = static_cast<uint32_t>(offset);
    std::string local;
    Put32(&local, kLocalHeaderSignature);
    PutCommon(&local, static_cast<uint32_t>(crc), size, name_bytes);
    Put16(&local, 0);  // extra
    local += m.name;
    for (std::string_view part : {std::string_view(local), std::string_view(m.header), data}) {
      if (absl::Status s = write(part); !s.ok()) return s;
    }
    Put32(&central, kCentralEntrySignature);
    Put16(&central, kVersion20);  // version made by
    PutCommon(&central, static_cast<uint32_t>(crc), size, name_bytes);
    Put16(&central, 0);  // extra
    Put16(&central, 0);  // comment
    Put16(&central, 0);  // disk
    Put16(&central, 0);  // internal attributes
    Put32(&central, 0);  // external attributes
    Put32(&central, local_offset);
    central += m.name;
  }
  const auto central_offset = static_cast<uint32_t>(offset);
  std::string tail;
  Put32(&tail, kEndSignature);
  Put16(&tail, 0);  // this disk
  Put16(&tail, 0);  // disk of the central directory
  Put16(&tail, static_cast<uint16_t>(members_.size()));
  Put16(&tail, static_cast<uint16_t>(members_.size()));
  Put32(&tail, static_cast<uint32_t>(central.size()));
  Put32(&tail, central_offset);
  Put16(&tail, 0);  // comment
  if (absl::Status s = write(central); !s.ok()) return s;
  return write(tail);
}

}  // namespace maskfeed
