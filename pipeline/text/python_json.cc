#include "pipeline/text/python_json.h"

#include <zlib.h>

#include <cstring>

#include "nlohmann/json.hpp"
#include "pipeline/base/strings.h"
#include "unicode/utf8.h"

namespace maskfeed::text {
namespace {

// Rewrites NaN / Infinity / -Infinity outside strings to marker strings; other bytes are
// copied. A literal that is not one of these stays, for the parser to refuse.
std::string RewriteLiterals(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  bool in_string = false;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < in.size()) {
        out.push_back(in[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
      continue;
    }
    bool replaced = false;
    for (auto [literal, marker] : {std::pair<std::string_view, const char*>{"NaN", kNanMarker},
                                   {"Infinity", kInfinityMarker},
                                   {"-Infinity", kMinusInfinityMarker}}) {
      if (in.substr(i, literal.size()) == literal) {
        // The marker's leading \x01 is written as an escape: raw control characters are not
        // allowed inside JSON strings.
        out += "\"\\u0001";
        out += marker + 1;
        out += '"';
        i += literal.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(c);
  }
  return out;
}

}  // namespace

absl::Status CheckUtf8(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const auto n = static_cast<int32_t>(std::min<size_t>(bytes.size(), INT32_MAX));
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::DataLossError("text over 2 GiB");
  }
  // ASCII runs, eight bytes at a time, need no decoding.
  int32_t i = 0;
  for (uint64_t word; i + 8 <= n; i += 8) {
    std::memcpy(&word, p + i, 8);
    if (word & 0x8080808080808080ull) break;
  }
  while (i < n) {
    const int32_t at = i;
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return absl::DataLossError(StrCat("invalid UTF-8 at byte ", at));
  }
  return absl::OkStatus();
}

simdjson::error_code PythonJsonParser::ParsePadded(std::string_view text, JsonValue* out) {
  padded_.resize(text.size() + simdjson::SIMDJSON_PADDING);
  if (!text.empty()) std::memcpy(padded_.data(), text.data(), text.size());
  std::memset(padded_.data() + text.size(), 0, simdjson::SIMDJSON_PADDING);
  return parser_.parse(padded_.data(), text.size(), /*realloc_if_needed=*/false).get(*out);
}

absl::StatusOr<JsonValue> PythonJsonParser::Parse(std::string_view bytes) {
  if (bytes.size() > kMaxJsonBytes) {
    return absl::DataLossError(
        StrCat("JSON of ", bytes.size(), " bytes, over the limit of ", kMaxJsonBytes));
  }
  JsonValue value;
  simdjson::error_code error = ParsePadded(bytes, &value);
  if (error == simdjson::SUCCESS) return value;
  if (error == simdjson::UTF8_ERROR) {
    absl::Status utf8 = CheckUtf8(bytes);
    return utf8.ok() ? absl::DataLossError("invalid UTF-8") : utf8;
  }
  // Most members hold no NaN or Infinity anywhere: only a failed parse looks for them.
  std::string_view text = bytes;
  if (bytes.find("NaN") != std::string_view::npos ||
      bytes.find("Infinity") != std::string_view::npos) {
    rewritten_ = RewriteLiterals(bytes);
    text = rewritten_;
    error = ParsePadded(text, &value);
    if (error == simdjson::SUCCESS) return value;
  }
  // Where is it wrong? nlohmann-json says (1-based byte e.byte, in `text`): line and column.
  try {
    [[maybe_unused]] const nlohmann::json parsed = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    const size_t colon = what.rfind(": ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    return absl::DataLossError(
        StrCat("invalid JSON at line ", line, " column ", column, ": ", Printable(what)));
  } catch (const nlohmann::json::exception&) {  // out_of_range: a number past a double
  }
  // Valid JSON simdjson does not take: an integer past 64 bits, a number past a double,
  // nesting deeper than 1024.
  return absl::DataLossError(StrCat("invalid JSON: ", simdjson::error_message(error)));
}

absl::StatusOr<std::string> Gunzip(std::string_view gz, size_t max_bytes) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return absl::InternalError("zlib init failed");
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(std::min<size_t>(gz.size(), UINT32_MAX));
  if (gz.size() > UINT32_MAX) {
    inflateEnd(&z);
    return absl::DataLossError("gzip member over 4 GiB");
  }
  char buf[1 << 16];
  int rc = Z_OK;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    const size_t produced = sizeof(buf) - z.avail_out;
    if (out.size() + produced > max_bytes) {
      inflateEnd(&z);
      return absl::DataLossError(StrCat("gzip: decompresses to more than ", max_bytes, " bytes"));
    }
    out.append(buf, produced);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);  // another member follows (as gzip -c a b > c writes)
      continue;
    }
    if (rc != Z_OK) break;
    if (z.avail_in == 0 && produced == 0) {
      rc = Z_BUF_ERROR;
      break;
    }
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) {
    return absl::DataLossError(
        rc == Z_BUF_ERROR || rc == Z_OK
            ? std::string("gzip: truncated")
            : StrCat("gzip: corrupt (", z.msg != nullptr ? z.msg : "?", ")"));
  }
  return out;
}

}  // namespace maskfeed::text
