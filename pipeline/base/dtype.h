// Element types of shard records and tensors, and their names in numpy's `.npy` headers.
//
// The numeric values match `maskfeed.v1.DType` so conversion to the wire enum is a cast.
#ifndef MASKFEED_PIPELINE_BASE_DTYPE_H_
#define MASKFEED_PIPELINE_BASE_DTYPE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace maskfeed {

enum class DType : uint8_t {
  kInt8 = 1,
  kInt16 = 2,
  kInt32 = 3,
  kInt64 = 4,
  kUInt8 = 5,
  kUInt16 = 6,
  kUInt32 = 7,
  kFloat16 = 8,
  kFloat32 = 9,
};

// Bytes per element.
size_t ItemSize(DType dtype);

// Lower-case numpy name: "int16", "float32", ...
std::string_view DTypeName(DType dtype);

// Little-endian numpy descr: "<i2", "|u1", ...
std::string_view NpyDescr(DType dtype);

// Parses a numpy descr ("<i2", "|i1", "<f4"; "|b1", bool, reads as uint8). Returns nullopt for
// anything maskfeed does not read (big-endian, complex, object, strings, ...).
std::optional<DType> DTypeFromNpyDescr(std::string_view descr);

// The raw byte, validated (used when reading the native format).
std::optional<DType> DTypeFromCode(uint8_t code);

bool IsInteger(DType dtype);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_DTYPE_H_
