#include "pipeline/shard/tar_reader.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "absl/status/status.h"
#include "pipeline/base/checked_math.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/npy.h"

namespace maskfeed {
namespace {

constexpr size_t kBlock = 512;

// Field offsets of a ustar header block.
constexpr size_t kNameOff = 0, kNameLen = 100;
constexpr size_t kSizeOff = 124, kSizeLen = 12;
constexpr size_t kChecksumOff = 148, kChecksumLen = 8;
constexpr size_t kTypeOff = 156;
constexpr size_t kMagicOff = 257;
constexpr size_t kPrefixOff = 345, kPrefixLen = 155;

std::string_view CString(std::string_view field) {
  return field.substr(0, std::min(field.size(), field.find('\0')));
}

// Octal number, space/NUL padded, or GNU base-256 when the high bit of the first byte is set.
std::optional<uint64_t> ParseNumber(std::string_view field) {
  if (!field.empty() && (static_cast<uint8_t>(field[0]) & 0x80)) {
    uint64_t v = static_cast<uint8_t>(field[0]) & 0x7F;
    for (size_t i = 1; i < field.size(); ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | static_cast<uint8_t>(field[i]);
    }
    return v;
  }
  size_t i = 0;
  while (i < field.size() && field[i] == ' ') ++i;
  uint64_t v = 0;
  size_t digits = 0;
  for (; i < field.size() && field[i] >= '0' && field[i] <= '7'; ++i, ++digits) {
    v = (v << 3) | static_cast<uint64_t>(field[i] - '0');
  }
  for (; i < field.size(); ++i) {
    if (field[i] != ' ' && field[i] != '\0') return std::nullopt;
  }
  if (digits == 0) return std::nullopt;
  return v;
}

bool ChecksumOk(std::string_view block) {
  std::optional<uint64_t> stored = ParseNumber(block.substr(kChecksumOff, kChecksumLen));
  if (!stored) return false;
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const bool in_field = i >= kChecksumOff && i < kChecksumOff + kChecksumLen;
    const char c = in_field ? ' ' : block[i];
    unsigned_sum += static_cast<uint8_t>(c);
    signed_sum += static_cast<signed char>(c);
  }
  return *stored == unsigned_sum || static_cast<int64_t>(*stored) == signed_sum;
}

bool AllZero(std::string_view block) {
  return std::all_of(block.begin(), block.end(), [](char c) { return c == '\0'; });
}

uint64_t RoundUp(uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

// Reads "path" and "size" out of a pax extended header ("LEN key=value\n" records).
absl::Status ParsePax(std::string_view data, std::optional<std::string>* path,
                      std::optional<uint64_t>* size) {
  while (!data.empty()) {
    size_t space = data.find(' ');
    // The record length is decimal and counts the whole record, itself included.
    std::optional<uint64_t> n = 0;
    bool ok = space != std::string_view::npos && space > 0;
    for (size_t i = 0; ok && i < space; ++i) {
      ok = std::isdigit(static_cast<unsigned char>(data[i]));
      if (ok) n = CheckedDecimalDigit(*n, data[i] - '0');
      ok = ok && n.has_value();
    }
    if (!ok || *n <= space + 1 || *n > data.size() || data[*n - 1] != '\n') {
      return absl::DataLossError("malformed pax extended header record");
    }
    std::string_view record = data.substr(space + 1, *n - space - 2);
    size_t eq = record.find('=');
    if (eq == std::string_view::npos) return absl::DataLossError("pax record without '='");
    std::string_view key = record.substr(0, eq), value = record.substr(eq + 1);
    if (key == "path") {
      *path = std::string(value);
    } else if (key == "size") {
      std::optional<uint64_t> v = 0;
      for (char c : value) {
        if (!std::isdigit(static_cast<unsigned char>(c))) {
          return absl::DataLossError("pax 'size' is not a decimal number");
        }
        v = CheckedDecimalDigit(*v, c - '0');
        if (!v) return absl::DataLossError("pax 'size' does not fit in 64 bits");
      }
      if (value.empty()) return absl::DataLossError("pax 'size' is empty");
      *size = *v;
    }
    data.remove_prefix(*n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<TarMember>> IndexTar(std::string_view bytes, std::string_view path) {
  std::vector<TarMember> members;
  std::optional<std::string> next_name;
  std::optional<uint64_t> next_size;  // from a pax header, for the next member
  uint64_t pos = 0;
  auto where = [&](uint64_t offset) {
    return StrCat(path, ": tar header at byte ", offset, " (after ", members.size(), " members)");
  };
  while (true) {
    if (pos + kBlock > bytes.size()) {
      return absl::DataLossError(
          StrCat(where(pos), pos >= bytes.size()
                                 ? ": file ends without the end-of-archive marker (truncated?)"
                                 : ": header block is cut short (truncated)"));
    }
    std::string_view block = bytes.substr(pos, kBlock);
    if (AllZero(block)) break;  // end-of-archive marker
    if (!ChecksumOk(block)) {
      return absl::DataLossError(StrCat(where(pos), ": header checksum mismatch (corrupt)"));
    }
    std::optional<uint64_t> size = ParseNumber(block.substr(kSizeOff, kSizeLen));
    if (!size) return absl::DataLossError(StrCat(where(pos), ": unreadable size field"));
    const char type = block[kTypeOff];
    std::string name;
    if (next_name) {
      name = std::move(*next_name);
    } else {
      name = std::string(CString(block.substr(kNameOff, kNameLen)));
      if (block.substr(kMagicOff, 6) == std::string_view("ustar\0", 6)) {
        std::string_view prefix = CString(block.substr(kPrefixOff, kPrefixLen));
        if (!prefix.empty()) name = StrCat(prefix, "/", name);
      }
    }
    next_name.reset();
    if (next_size && (type == '0' || type == '\0' || type == '7')) size = next_size;
    next_size.reset();
    const uint64_t data_offset = pos + kBlock;
    if (*size > bytes.size() - data_offset) {
      return absl::DataLossError(StrCat(path, ": member '", name, "' at byte ", pos, " declares ",
                                        *size, " bytes but only ", bytes.size() - data_offset,
                                        " remain (truncated)"));
    }
    std::string_view data = bytes.substr(data_offset, *size);
    switch (type) {
      case '0':
      case '\0':
      case '7':
        members.push_back({std::move(name), data_offset, *size});
        break;
      case 'L':  // GNU long name for the next member
        next_name = std::string(CString(data));
        break;
      case 'x':  // pax extended header for the next member
        if (absl::Status s = ParsePax(data, &next_name, &next_size); !s.ok()) {
          return absl::DataLossError(StrCat(where(pos), ": ", s.message()));
        }
        break;
      case 'g':  // pax global header: nothing we use
      case '5':  // directory
      case 'K':  // GNU long link name
        break;
      default:
        return absl::DataLossError(StrCat(path, ": member '", name, "' has tar type '",
                                          std::string(1, type),
                                          "'; shards hold regular files only"));
    }
    pos = data_offset + RoundUp(*size);
  }
  return members;
}

absl::StatusOr<std::unique_ptr<TarShardReader>> TarShardReader::Open(const std::string& path) {
  absl::StatusOr<MappedFile> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  std::unique_ptr<TarShardReader> reader(new TarShardReader(std::move(*file)));
  const std::string_view bytes = reader->file_.bytes();
  absl::StatusOr<std::vector<TarMember>> members = IndexTar(bytes, path);
  if (!members.ok()) return members.status();

  std::unordered_map<std::string_view, size_t> seen;
  reader->records_.reserve(members->size());
  for (size_t i = 0; i < members->size(); ++i) {
    const TarMember& m = (*members)[i];
    const size_t slash = m.name.rfind('/');
    const size_t base = slash == std::string::npos ? 0 : slash + 1;
    const size_t dot = m.name.find('.', base);
    std::string key = m.name.substr(0, dot);
    std::string suffix = dot == std::string::npos ? "" : m.name.substr(dot + 1);
    std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const size_t index = reader->records_.size();
    const std::optional<RecordKind> kind = RecordKindFromSuffix(suffix);
    if (!kind) {
      return RecordError(
          path, index, key,
          StrCat("member '", m.name, "' has the suffix '", suffix,
                 "'; shards hold <key>.<ext> members with ext one of ", kRecordSuffixes));
    }
    const std::string_view member = bytes.substr(m.data_offset, m.size);
    Entry entry{std::move(key), m.data_offset, static_cast<int64_t>(m.size), *kind};
    RecordLayout layout = RecordLayout::Raw();
    Shape shape{static_cast<int64_t>(m.size)};
    if (*kind == RecordKind::kArray) {
      absl::StatusOr<NpyHeader> npy = ParseNpy(member);
      if (!npy.ok()) return RecordError(path, index, entry.key, ToStd(npy.status().message()));
      if (npy->object) {
        entry.kind = RecordKind::kPickle;  // the whole member, for the pickle reader
      } else {
        if (npy->shape.rank == 0) {
          return RecordError(path, index, entry.key,
                             "array is a scalar; records must have >= 1 dims");
        }
        layout = RecordLayout::Of(npy->dtype, npy->shape);
        shape = npy->shape;
        entry.payload_offset += npy->data_offset;
        entry.first_dim = npy->shape.dims[0];
      }
    }
    if (index == 0) {
      reader->layout_ = layout;
    } else if (layout.raw != reader->layout_.raw ||
               (!layout.raw && !reader->layout_.Matches(layout.dtype, shape))) {
      return RecordError(
          path, index, entry.key,
          StrCat(layout.raw ? StrCat(RecordKindName(entry.kind), " member")
                            : StrCat(DTypeName(layout.dtype), " ", shape.ToString()),
                 " does not match the shard's ", reader->layout_.ToString(),
                 " from record 0; a shard holds arrays of one layout or raw members"));
    }
    reader->records_.push_back(std::move(entry));
  }
  for (size_t i = 0; i < reader->records_.size(); ++i) {
    auto [it, inserted] = seen.emplace(reader->records_[i].key, i);
    if (!inserted) {
      return RecordError(path, i, reader->records_[i].key,
                         StrCat("duplicate key (also record ", it->second,
                                "); a shard holds one member per sample"));
    }
  }
  return reader;
}

absl::Status TarShardReader::Read(size_t i, Record* out) const {
  const Entry& e = records_[i];
  out->kind = e.kind;
  out->chunks.clear();
  out->dtype = layout_.dtype;
  out->shape.rank = layout_.rank;
  out->shape.dims[0] = e.first_dim;
  for (int d = 1; d < layout_.rank; ++d) out->shape.dims[d] = layout_.inner[d - 1];
  const size_t n = static_cast<size_t>(e.first_dim) * layout_.RowBytes();
  out->data.resize(n);
  if (n > 0) std::memcpy(out->data.data(), file_.bytes().data() + e.payload_offset, n);
  return absl::OkStatus();
}

absl::Status TarShardReader::ReadRow(size_t i, int64_t row, Record* out) const {
  const size_t n = layout_.RowBytes();
  out->kind = RecordKind::kArray;
  out->chunks.clear();
  out->dtype = layout_.dtype;
  out->shape.rank = layout_.rank - 1;
  for (int d = 1; d < layout_.rank; ++d) out->shape.dims[d - 1] = layout_.inner[d - 1];
  out->data.resize(n);
  if (n > 0) {
    std::memcpy(out->data.data(), file_.bytes().data() + records_[i].payload_offset + row * n, n);
  }
  return absl::OkStatus();
}

}  // namespace maskfeed
