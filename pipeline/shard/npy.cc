#include "pipeline/shard/npy.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kPreludeV1 = 10;  // magic(6) + version(2) + uint16 header length
constexpr size_t kPreludeV2 = 12;  // magic(6) + version(2) + uint32 header length

absl::Status Malformed(std::string_view what) {
  return absl::DataLossError(StrCat("malformed .npy header: ", what));
}

// A tiny parser for the Python dict literal numpy writes, e.g.
// {'descr': '<i2', 'fortran_order': False, 'shape': (4, 196), }
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  absl::StatusOr<NpyHeader> Parse() {
    NpyHeader header;
    bool have_descr = false, have_order = false, have_shape = false;
    SkipSpace();
    if (!Consume('{')) return Malformed("expected '{'");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      std::optional<std::string_view> key = String();
      if (!key) return Malformed("expected a quoted key");
      SkipSpace();
      if (!Consume(':')) return Malformed(StrCat("expected ':' after '", *key, "'"));
      SkipSpace();
      if (*key == "descr") {
        std::optional<std::string_view> descr = String();
        if (!descr) return Malformed("'descr' is not a string (structured dtypes unsupported)");
        std::optional<DType> dtype = DTypeFromNpyDescr(*descr);
        if (*descr == "|O") {
          header.object = true;
          dtype = DType::kUInt8;
        }
        if (!dtype) {
          return absl::DataLossError(
              StrCat("unsupported .npy dtype '", *descr,
                     "' (maskfeed reads little-endian int8/16/32/64, uint8/16/32, float16/32)"));
        }
        header.dtype = *dtype;
        have_descr = true;
      } else if (*key == "fortran_order") {
        if (Word("True")) {
          return absl::DataLossError(".npy array is in Fortran order; save it C-ordered");
        }
        if (!Word("False")) return Malformed("'fortran_order' is not True or False");
        have_order = true;
      } else if (*key == "shape") {
        if (absl::Status s = ParseShape(&header.shape); !s.ok()) return s;
        have_shape = true;
      } else {
        return Malformed(StrCat("unexpected key '", *key, "'"));
      }
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume('}')) break;
      return Malformed("expected ',' or '}'");
    }
    if (!have_descr || !have_order || !have_shape) {
      return Malformed("missing one of 'descr', 'fortran_order', 'shape'");
    }
    // numpy pads the dict with spaces and ends it with '\n'; anything else after it is not
    // a header numpy wrote (and would otherwise be ignored silently).
    SkipSpace();
    if (pos_ != text_.size()) {
      return Malformed(StrCat(text_.size() - pos_, " unexpected bytes after the closing '}'"));
    }
    return header;
  }

 private:
  absl::Status ParseShape(Shape* shape) {
    if (!Consume('(')) return Malformed("'shape' is not a tuple");
    shape->rank = 0;
    while (true) {
      SkipSpace();
      if (Consume(')')) return absl::OkStatus();
      if (shape->rank == kMaxRank) {
        return absl::DataLossError(StrCat(".npy array has more than ", kMaxRank, " dims"));
      }
      int64_t value = 0;
      size_t digits = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (value > (int64_t{1} << 40)) return Malformed("dimension too large");
        value = value * 10 + (text_[pos_++] - '0');
        ++digits;
      }
      // numpy writes 'L' suffixes under Python 2.
      if (digits > 0) Consume('L');
      if (digits == 0) return Malformed("'shape' holds a non-integer");
      shape->dims[shape->rank++] = value;
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume(')')) return absl::OkStatus();
      return Malformed("expected ',' or ')' in 'shape'");
    }
  }

  std::optional<std::string_view> String() {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) return std::nullopt;
    char quote = text_[pos_];
    size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view s = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return s;
  }

  bool Word(std::string_view w) {
    if (text_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }

  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<NpyHeader> ParseNpy(std::string_view file) {
  if (file.size() < kPreludeV1 || file.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError("not a .npy file (bad magic)");
  }
  const uint8_t major = static_cast<uint8_t>(file[6]);
  size_t header_len = 0, prelude = 0;
  if (major == 1) {
    uint16_t len;
    std::memcpy(&len, file.data() + 8, sizeof(len));
    header_len = len;
    prelude = kPreludeV1;
  } else if (major == 2 || major == 3) {
    if (file.size() < kPreludeV2) return absl::DataLossError(".npy file truncated in its header");
    uint32_t len;
    std::memcpy(&len, file.data() + 8, sizeof(len));
    header_len = len;
    prelude = kPreludeV2;
  } else {
    return absl::DataLossError(StrCat("unsupported .npy format version ", major, ".",
                                      static_cast<int>(static_cast<uint8_t>(file[7]))));
  }
  if (header_len > file.size() - prelude) {
    return absl::DataLossError(StrCat(".npy header declares ", header_len, " bytes but only ",
                                      file.size() - prelude, " follow (truncated)"));
  }
  absl::StatusOr<NpyHeader> header = HeaderParser(file.substr(prelude, header_len)).Parse();
  if (!header.ok()) return header.status();
  header->data_offset = prelude + header_len;
  if (header->object) {
    header->data_bytes = file.size() - header->data_offset;
    return header;
  }
  const std::optional<uint64_t> data_bytes = header->shape.ByteSize(header->dtype);
  if (!data_bytes) {
    return absl::DataLossError(StrCat(".npy shape ", header->shape.ToString(), " of ",
                                      DTypeName(header->dtype),
                                      " has more bytes than 64 bits can count (corrupt header)"));
  }
  header->data_bytes = *data_bytes;
  const size_t available = file.size() - header->data_offset;
  if (available != header->data_bytes) {
    return absl::DataLossError(StrCat(".npy shape ", header->shape.ToString(), " of ",
                                      DTypeName(header->dtype), " needs ", header->data_bytes,
                                      " data bytes but the file holds ", available,
                                      available < header->data_bytes ? " (truncated)" : ""));
  }
  return header;
}

std::string EncodeNpyHeader(DType dtype, const Shape& shape) {
  return EncodeNpyHeader(NpyDescr(dtype), shape);
}

std::string EncodeNpyHeader(std::string_view descr, const Shape& shape) {
  std::string dict =
      StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape.ToString(), ", }");
  // Pad with spaces so that prelude + header (ending in '\n') is a multiple of 64.
  size_t total = kPreludeV1 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out;
  out.reserve(kPreludeV1 + dict.size());
  out.append(kMagic);
  out.push_back('\x01');
  out.push_back('\x00');
  const uint16_t len = static_cast<uint16_t>(dict.size());
  out.append(reinterpret_cast<const char*>(&len), sizeof(len));
  out.append(dict);
  return out;
}

std::string EncodeNpy(DType dtype, const Shape& shape, const void* data) {
  std::string out = EncodeNpyHeader(dtype, shape);
  const size_t data_bytes = static_cast<size_t>(shape.NumElements()) * ItemSize(dtype);
  if (data_bytes > 0) out.append(static_cast<const char*>(data), data_bytes);
  return out;
}

}  // namespace maskfeed
