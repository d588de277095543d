#include "client/cpp/npz_writer.h"

#include <array>
#include <cstdio>
#include <fstream>

#include "pipeline/base/strings.h"
#include "pipeline/shard/npy.h"

namespace maskfeed {
namespace {

constexpr uint64_t kZipLimit = 0xFFFFFFFFull;

void Put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xFF));
  out->push_back(static_cast<char>(v >> 8));
}

void Put32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

uint32_t Crc32Ieee(const void* data, size_t size) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return table;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) crc = kTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

void NpzWriter::Add(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                    const void* data) {
  Shape s;
  s.rank = static_cast<int>(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) s.dims[i] = shape[i];
  members_.push_back(Member{name + ".npy", EncodeNpy(dtype, s, data)});
}

absl::Status NpzWriter::Write(const std::string& path) const {
  std::string central;
  uint64_t offset = 0;
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(StrCat("cannot write ", tmp));
  for (const Member& m : members_) {
    const uint32_t crc = Crc32Ieee(m.bytes.data(), m.bytes.size());
    if (m.bytes.size() >= kZipLimit || offset >= kZipLimit) {
      return absl::InvalidArgumentError(StrCat(path,
                                               ": over 4 GiB, which .npz without zip64 "
                                               "cannot hold; fetch smaller batches"));
    }
    const auto size = static_cast<uint32_t>(m.bytes.size());
    std::string local;
    Put32(&local, 0x04034b50);  // local file header
    Put16(&local, 20);          // version needed: 2.0
    Put16(&local, 0);           // flags
    Put16(&local, 0);           // stored
    Put16(&local, 0);           // time
    Put16(&local, 0x21);        // date: 1980-01-01
    Put32(&local, crc);
    Put32(&local, size);
    Put32(&local, size);
    Put16(&local, static_cast<uint16_t>(m.name.size()));
    Put16(&local, 0);
    local += m.name;
    out.write(local.data(), static_cast<std::streamsize>(local.size()));
    out.write(m.bytes.data(), static_cast<std::streamsize>(m.bytes.size()));
    Put32(&central, 0x02014b50);  // central directory entry
    Put16(&central, 20);
    Put16(&central, 20);
    Put16(&central, 0);
    Put16(&central, 0);
    Put16(&central, 0);
    Put16(&central, 0x21);
    Put32(&central, crc);
    Put32(&central, size);
    Put32(&central, size);
    Put16(&central, static_cast<uint16_t>(m.name.size()));
    Put16(&central, 0);  // extra
    Put16(&central, 0);  // comment
    Put16(&central, 0);  // disk
    Put16(&central, 0);  // internal attributes
    Put32(&central, 0);  // external attributes
    Put32(&central, static_cast<uint32_t>(offset));
    central += m.name;
    offset += local.size() + m.bytes.size();
  }
  std::string end;
  Put32(&end, 0x06054b50);
  Put16(&end, 0);
  Put16(&end, 0);
  Put16(&end, static_cast<uint16_t>(members_.size()));
  Put16(&end, static_cast<uint16_t>(members_.size()));
  Put32(&end, static_cast<uint32_t>(central.size()));
  Put32(&end, static_cast<uint32_t>(offset));
  Put16(&end, 0);
  out.write(central.data(), static_cast<std::streamsize>(central.size()));
  out.write(end.data(), static_cast<std::streamsize>(end.size()));
  out.close();
  if (!out) return absl::InternalError(StrCat("cannot write ", tmp));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace maskfeed
