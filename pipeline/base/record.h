// A decoded shard record (one modality of one sample): element type, shape and bytes.
//
// Records are read into caller-owned `Record`s so that a reader thread can reuse one buffer per
// modality and the steady state allocates nothing.
#ifndef MASKFEED_PIPELINE_BASE_RECORD_H_
#define MASKFEED_PIPELINE_BASE_RECORD_H_

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

// What a record's bytes are. kArray records are numeric `.npy` arrays, decoded into dtype and
// shape; the others are 4M's raw members (docs/raw-modalities.md#the-raw-modalities), kept as their
// file's bytes (a uint8 (n,) record) and decoded where they are used: text built, image header
// read.
enum class RecordKind : uint8_t {
  kArray = 0,   // .npy, numeric
  kText = 1,    // .txt
  kJson = 2,    // .json
  kJsonGz = 3,  // .json.gz
  kNpz = 4,     // .npz
  kJpeg = 5,    // .jpg, .jpeg
  kPng = 6,     // .png
  kPickle = 7,  // .npy holding a NumPy object array (a pickle)
};
inline constexpr uint8_t kMaxRecordKind = 7;

// "npy", "txt", "json", "json.gz", "npz", "jpg", "png", "npy (object)".
std::string_view RecordKindName(RecordKind kind);
// The kind of a member suffix (the name after the key's first dot, lower-cased): "txt",
// "json", "json.gz", "npz", "jpg", "jpeg", "png"; nullopt for anything else. "npy" is kArray
// (a caller that finds an object array inside makes it kPickle).
std::optional<RecordKind> RecordKindFromSuffix(std::string_view suffix);
// The suffixes RecordKindFromSuffix accepts, for messages.
inline constexpr std::string_view kRecordSuffixes = "npy, txt, json, json.gz, npz, jpg, jpeg, png";

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
//
// A shard of raw members (`raw`) has the layout uint8 (*,): each record is its file's bytes, of
// its own kind (Record::kind); a shard holds either arrays or raw members, not both.
struct RecordLayout {
  DType dtype = DType::kInt32;
  int rank = 0;
  std::array<int64_t, kMaxRank> inner{};  // dims 1..rank-1
  bool raw = false;

  // The layout of raw members.
  static RecordLayout Raw();

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
  RecordKind kind = RecordKind::kArray;
  // Unit boundaries of a sequence built as chunks of varying length (4M's metadata): chunk c
  // is ids [chunks[c], chunks[c + 1]). Empty for everything else.
  std::vector<uint32_t> chunks;

  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
  }

  // Typed view of the data. Requires: sizeof(T) == ItemSize(dtype).
  template <typename T>
  std::span<const T> as() const {
    return {reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T)};
  }
  // Element i of an integer record, as int64 (0 for a non-integer dtype).
  // Requires: i < NumElements().
  int64_t IntAt(size_t i) const;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_RECORD_H_
