#include "pipeline/tools/tar_writer.h"

#include <array>
#include <cstdio>
#include <cstring>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr size_t kBlock = 512;

void PutOctal(char* field, size_t len, uint64_t value) {
  // len-1 octal digits, zero padded, then NUL.
  std::snprintf(field, len, "%0*llo", static_cast<int>(len - 1),
                static_cast<unsigned long long>(value));
}

}  // namespace

absl::StatusOr<TarWriter> TarWriter::Create(const std::string& path) {
  absl::StatusOr<OutputFile> out = OutputFile::Create(path);
  if (!out.ok()) return out.status();
  return TarWriter(std::move(*out));
}

absl::Status TarWriter::WriteHeader(std::string_view name, char type, uint64_t size) {
  std::array<char, kBlock> h{};
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  PutOctal(h.data() + 100, 8, 0644);
  PutOctal(h.data() + 108, 8, 0);
  PutOctal(h.data() + 116, 8, 0);
  PutOctal(h.data() + 124, 12, size);
  PutOctal(h.data() + 136, 12, 0);
  std::memset(h.data() + 148, ' ', 8);
  h[156] = type;
  std::memcpy(h.data() + 257,
              "ustar\0"
              "00",
              8);
  uint32_t sum = 0;
  for (char c : h) sum += static_cast<uint8_t>(c);
  std::snprintf(h.data() + 148, 8, "%06o", sum);  // six digits, NUL, then the space stays
  h[155] = ' ';
  return out_.Write({h.data(), h.size()});
}

absl::Status TarWriter::Pad(uint64_t size) {
  static const std::array<char, kBlock> kZeros{};
  const size_t pad = (kBlock - size % kBlock) % kBlock;
  return out_.Write({kZeros.data(), pad});
}

absl::Status TarWriter::Add(std::string_view name, std::string_view data) {
  if (name.size() > 100) {
    std::string record = StrCat(" path=", name, "\n");
    // The length prefix counts itself; find the fixed point.
    size_t len = record.size();
    while (StrCat(len).size() + record.size() != len) {
      len = StrCat(len).size() + record.size();
    }
    record = StrCat(len, record);
    if (absl::Status s = WriteHeader("PaxHeader", 'x', record.size()); !s.ok()) return s;
    if (absl::Status s = out_.Write(record); !s.ok()) return s;
    if (absl::Status s = Pad(record.size()); !s.ok()) return s;
  }
  if (absl::Status s = WriteHeader(name, '0', data.size()); !s.ok()) return s;
  if (absl::Status s = out_.Write(data); !s.ok()) return s;
  return Pad(data.size());
}

absl::Status TarWriter::Finish() {
  static const std::array<char, 2 * kBlock> kEnd{};
  if (absl::Status s = out_.Write({kEnd.data(), kEnd.size()}); !s.ok()) return s;
  return out_.Commit();
}

}  // namespace maskfeed
