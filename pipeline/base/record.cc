#include "pipeline/base/record.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_join.h"
#include "pipeline/base/checked_math.h"
#include "pipeline/base/strings.h"

namespace maskfeed {

Shape::Shape(std::initializer_list<int64_t> d) {
  rank = static_cast<int>(std::min<size_t>(d.size(), kMaxRank));
  std::copy_n(d.begin(), rank, dims.begin());
}

int64_t Shape::NumElements() const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= dims[i];
  return n;
}

std::optional<uint64_t> Shape::ByteSize(DType dtype) const {
  std::optional<uint64_t> n = ItemSize(dtype);
  for (int i = 0; i < rank && n; ++i) {
    if (dims[i] < 0) return std::nullopt;
    n = CheckedMul(*n, static_cast<uint64_t>(dims[i]));
  }
  return n;
}

std::string Shape::ToString() const {
  if (rank == 1) return StrCat("(", dims[0], ",)");
  return StrCat("(", absl::StrJoin(dims.begin(), dims.begin() + rank, ", "), ")");
}

bool Shape::operator==(const Shape& other) const {
  return rank == other.rank && std::equal(dims.begin(), dims.begin() + rank, other.dims.begin());
}

std::string_view RecordKindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kArray:
      return "npy";
    case RecordKind::kText:
      return "txt";
    case RecordKind::kJson:
      return "json";
    case RecordKind::kJsonGz:
      return "json.gz";
    case RecordKind::kNpz:
      return "npz";
    case RecordKind::kJpeg:
      return "jpg";
    case RecordKind::kPng:
      return "png";
    case RecordKind::kPickle:
      return "npy (object)";
  }
  return "?";
}

std::optional<RecordKind> RecordKindFromSuffix(std::string_view suffix) {
  if (suffix == "npy") return RecordKind::kArray;
  if (suffix == "txt") return RecordKind::kText;
  if (suffix == "json") return RecordKind::kJson;
  if (suffix == "json.gz") return RecordKind::kJsonGz;
  if (suffix == "npz") return RecordKind::kNpz;
  if (suffix == "jpg" || suffix == "jpeg") return RecordKind::kJpeg;
  if (suffix == "png") return RecordKind::kPng;
  return std::nullopt;
}

RecordLayout RecordLayout::Raw() {
  RecordLayout layout;
  layout.dtype = DType::kUInt8;
  layout.rank = 1;
  layout.raw = true;
  return layout;
}

RecordLayout RecordLayout::Of(DType dtype, const Shape& shape) {
  RecordLayout layout;
  layout.dtype = dtype;
  layout.rank = shape.rank;
  for (int i = 1; i < shape.rank; ++i) layout.inner[i - 1] = shape.dims[i];
  return layout;
}

bool RecordLayout::Matches(DType d, const Shape& shape) const {
  if (d != dtype || shape.rank != rank) return false;
  for (int i = 1; i < rank; ++i) {
    if (shape.dims[i] != inner[i - 1]) return false;
  }
  return true;
}

bool RecordLayout::operator==(const RecordLayout& other) const {
  return dtype == other.dtype && rank == other.rank && inner == other.inner && raw == other.raw;
}

std::string RecordLayout::ToString() const {
  if (raw) return "raw members";
  if (rank == 0) return StrCat(DTypeName(dtype), " ()");
  std::string s = StrCat(DTypeName(dtype), " (*");
  for (int i = 1; i < rank; ++i) StrAppend(&s, ", ", inner[i - 1]);
  return StrCat(s, rank == 1 ? ",)" : ")");
}

std::optional<uint64_t> RecordLayout::CheckedRowBytes() const {
  std::optional<uint64_t> n = ItemSize(dtype);
  for (int i = 1; i < rank && n; ++i) {
    if (inner[i - 1] < 0) return std::nullopt;
    n = CheckedMul(*n, static_cast<uint64_t>(inner[i - 1]));
  }
  return n;
}

size_t RecordLayout::RowBytes() const {
  size_t n = ItemSize(dtype);
  for (int i = 1; i < rank; ++i) n *= static_cast<size_t>(inner[i - 1]);
  return n;
}

int64_t Record::IntAt(size_t i) const {
  const std::byte* p = data.data() + i * ItemSize(dtype);
  auto load = [p]<typename T>(T) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return static_cast<int64_t>(v);
  };
  switch (dtype) {
    case DType::kInt8:
      return load(int8_t{});
    case DType::kInt16:
      return load(int16_t{});
    case DType::kInt32:
      return load(int32_t{});
    case DType::kInt64:
      return load(int64_t{});
    case DType::kUInt8:
      return load(uint8_t{});
    case DType::kUInt16:
      return load(uint16_t{});
    case DType::kUInt32:
      return load(uint32_t{});
    default:
      return 0;
  }
}

}  // namespace maskfeed
