// String concatenation that accepts std::string_view.
//
// Debian's abseil is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW=0),
// so absl::StrCat rejects std::string_view arguments. maskfeed::StrCat takes anything
// convertible to std::string_view, integers, and whatever absl::AlphaNum takes (floating point,
// absl::Hex, absl::string_view such as absl::Status::message()).
#ifndef MASKFEED_PIPELINE_BASE_STRINGS_H_
#define MASKFEED_PIPELINE_BASE_STRINGS_H_

#include <charconv>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace maskfeed {
namespace strings_internal {

template <typename T>
void AppendPiece(std::string* out, const T& value) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out->append(std::string_view(value));
  } else if constexpr (std::is_same_v<T, bool>) {
    out->append(value ? "true" : "false");
  } else if constexpr (std::is_integral_v<T>) {
    static_assert(!std::is_same_v<T, char>, "pass a string, not a char");
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    out->append(buf, static_cast<size_t>(end - buf));
  } else if constexpr (std::is_enum_v<T>) {
    AppendPiece(out, static_cast<std::underlying_type_t<T>>(value));
  } else {
    const absl::AlphaNum piece(value);
    out->append(piece.data(), piece.size());
  }
}

}  // namespace strings_internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::AppendPiece(&out, args), ...);
  return out;
}

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  (strings_internal::AppendPiece(out, args), ...);
}

// A value from a request or a file, fit to repeat in a message or a log line: at most
// `max_bytes` of it (then "...(N bytes)"), with control and non-ASCII bytes as \xNN, so a
// megabyte of NULs cannot become a megabyte of NULs in a status or a log.
inline std::string Printable(std::string_view value, size_t max_bytes = 96) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < value.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      out += '\\';
      out += 'x';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > max_bytes) StrAppend(&out, "...(", value.size(), " bytes)");
  return out;
}

// absl::string_view (e.g. absl::Status::message()) as std::string_view.
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_STRINGS_H_
