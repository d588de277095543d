#include "pipeline/base/dtype.h"

#include <array>

namespace maskfeed {
namespace {

struct DTypeFacts {
  DType dtype;
  size_t item_size;
  std::string_view name;
  std::string_view descr;
};

constexpr std::array<DTypeFacts, 9> kFacts = {{
    {DType::kInt8, 1, "int8", "|i1"},
    {DType::kInt16, 2, "int16", "<i2"},
    {DType::kInt32, 4, "int32", "<i4"},
    {DType::kInt64, 8, "int64", "<i8"},
    {DType::kUInt8, 1, "uint8", "|u1"},
    {DType::kUInt16, 2, "uint16", "<u2"},
    {DType::kUInt32, 4, "uint32", "<u4"},
    {DType::kFloat16, 2, "float16", "<f2"},
    {DType::kFloat32, 4, "float32", "<f4"},
}};

const DTypeFacts& Facts(DType dtype) { return kFacts[static_cast<size_t>(dtype) - 1]; }

}  // namespace

size_t ItemSize(DType dtype) { return Facts(dtype).item_size; }
std::string_view DTypeName(DType dtype) { return Facts(dtype).name; }
std::string_view NpyDescr(DType dtype) { return Facts(dtype).descr; }

std::optional<DType> DTypeFromNpyDescr(std::string_view descr) {
  if (descr.size() != 3) return std::nullopt;
  // numpy's bool is one byte, 0 or 1: read as uint8 (4M's t5_caption mask_valid).
  if (descr.substr(1) == "b1" && descr[0] != '<' && descr[0] != '>') return DType::kUInt8;
  for (const DTypeFacts& f : kFacts) {
    if (descr.substr(1) != f.descr.substr(1)) continue;
    // Single-byte types may be written with any byte-order mark; wider ones must be
    // little-endian ('<') or native ('=', which is little-endian on every host we build for).
    char order = descr[0];
    if (f.item_size == 1 ? (order == '|' || order == '<' || order == '>' || order == '=')
                         : (order == '<' || order == '=')) {
      return f.dtype;
    }
  }
  return std::nullopt;
}

std::optional<DType> DTypeFromCode(uint8_t code) {
  if (code < 1 || code > kFacts.size()) return std::nullopt;
  return static_cast<DType>(code);
}

bool IsInteger(DType dtype) { return dtype != DType::kFloat16 && dtype != DType::kFloat32; }

}  // namespace maskfeed
