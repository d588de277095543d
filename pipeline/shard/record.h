// A decoded shard record (one modality of one sample): element type, shape and bytes.
//
// Records are read into caller-owned `Record`s so that a reader thread can reuse one buffer per
// modality and the steady state allocates nothing.
#ifndef MASKFEED_PIPELINE_SHARD_RECORD_H_
#define MASKFEED_PIPELINE_SHARD_RECORD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pipeline/base/dtype.h"

namespace maskfeed {

// Largest number of dimensions a record may have.
inline constexpr int kMaxRank = 8;

// A small inline shape (no allocation).
struct Shape {
  std::array<int64_t, kMaxRank> dims{};
  int rank = 0;

  Shape() = default;
  Shape(std::initializer_list<int64_t> d);

  int64_t operator[](int i) const { return dims[i]; }
  // Requires: a shape whose ByteSize is known to fit (checked when it was read).
  int64_t NumElements() const;
  // Bytes of an array of this shape and `dtype`; nullopt when a dimension is negative or the
  // product does not fit in 64 bits (shapes read from files are checked with this first).
  std::optional<uint64_t> ByteSize(DType dtype) const;
  // "(4, 196)"; "()" for a scalar.
  std::string ToString() const;
  bool operator==(const Shape& other) const;
};

// What every record of one modality shares: element type, rank, and every dimension but the
// first. The first dimension (crop variants, sequence length) may differ between records.
struct RecordLayout {
  DType dtype = DType::kInt32;
  int rank = 0;
  std::array<int64_t, kMaxRank> inner{};  // dims 1..rank-1

  static RecordLayout Of(DType dtype, const Shape& shape);
  bool Matches(DType dtype, const Shape& shape) const;
  bool operator==(const RecordLayout& other) const;
  // "int16 (*, 196)".
  std::string ToString() const;
  // Bytes of one slice along the first dimension. Requires: CheckedRowBytes() is not nullopt.
  size_t RowBytes() const;
  // The same, or nullopt when an inner dimension is negative or the product overflows.
  std::optional<uint64_t> CheckedRowBytes() const;
};

// One decoded record. `data` holds exactly NumElements() * ItemSize(dtype) bytes, C order,
// little-endian.
struct Record {
  DType dtype = DType::kInt32;
  Shape shape;
  std::vector<std::byte> data;

  // Typed view of the data. Requires: sizeof(T) == ItemSize(dtype).
  template <typename T>
  std::span<const T> as() const {
    return {reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T)};
  }
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_RECORD_H_
