#include "pipeline/shard/url_pattern.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "pipeline/base/checked_math.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// The index of the brace closing the one at `open`, or npos.
size_t MatchingBrace(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '{') {
      ++depth;
    } else if (s[i] == '}' && --depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

// Splits a group's body at its top-level commas.
std::vector<std::string_view> TopLevelAlternatives(std::string_view body) {
  std::vector<std::string_view> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\') {
      ++i;
    } else if (body[i] == '{') {
      ++depth;
    } else if (body[i] == '}') {
      --depth;
    } else if (body[i] == ',' && depth == 0) {
      parts.push_back(body.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(body.substr(start));
  return parts;
}

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* begin = s.data();
  if (*begin == '+') ++begin;
  auto [end, ec] = std::from_chars(begin, s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool LeadingZero(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return s.size() > 1 && s[0] == '0';
}

// A "X..Y[..STEP]" body as its items; false when it is not a range. *too_many when it would
// hold more than limits.names items (none are made then).
bool ExpandRange(std::string_view body, const ExpandLimits& limits, std::vector<std::string>* items,
                 bool* too_many) {
  const size_t dots = body.find("..");
  if (dots == std::string_view::npos) return false;
  std::string_view lo = body.substr(0, dots), rest = body.substr(dots + 2);
  std::string_view hi = rest, step_text;
  if (const size_t d2 = rest.find(".."); d2 != std::string_view::npos) {
    hi = rest.substr(0, d2);
    step_text = rest.substr(d2 + 2);
  }
  int64_t step = 1;
  if (!step_text.empty() && (!ParseInt(step_text, &step) || step == 0)) return false;
  if (step == INT64_MIN) return false;  // its magnitude does not fit an int64
  step = step < 0 ? -step : step;
  int64_t a = 0, b = 0;
  if (ParseInt(lo, &a) && ParseInt(hi, &b)) {
    const size_t width = LeadingZero(lo) || LeadingZero(hi) ? std::max(lo.size(), hi.size()) : 0;
    const int64_t dir = a <= b ? 1 : -1;
    // Count first (in unsigned arithmetic: the span of two int64s fits in uint64): a range
    // past the limit is refused without generating it.
    const uint64_t span = dir > 0 ? static_cast<uint64_t>(b) - static_cast<uint64_t>(a)
                                  : static_cast<uint64_t>(a) - static_cast<uint64_t>(b);
    if (span / static_cast<uint64_t>(step) + 1 > limits.names) {
      *too_many = true;
      return true;
    }
    for (int64_t v = a;; v += dir * step) {
      if ((dir > 0 && v > b) || (dir < 0 && v < b)) break;
      // The magnitude in unsigned arithmetic: -INT64_MIN does not fit an int64.
      std::string digits =
          std::to_string(v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v));
      const size_t pad = width > digits.size() + (v < 0) ? width - digits.size() - (v < 0) : 0;
      items->push_back((v < 0 ? "-" : "") + std::string(pad, '0') + digits);
      if ((dir > 0 && v > INT64_MAX - step) || (dir < 0 && v < INT64_MIN + step)) break;
    }
    return true;
  }
  if (lo.size() == 1 && hi.size() == 1 && std::isalpha(static_cast<unsigned char>(lo[0])) &&
      std::isalpha(static_cast<unsigned char>(hi[0]))) {
    const int dir = lo[0] <= hi[0] ? 1 : -1;
    for (int64_t c = lo[0];; c += dir * std::min<int64_t>(step, 256)) {
      if ((dir > 0 && c > hi[0]) || (dir < 0 && c < hi[0])) break;
      items->push_back(std::string(1, static_cast<char>(c)));
    }
    return true;
  }
  return false;
}

// Expands `pattern` into `out`: its literal text and groups become a sequence of option
// lists, whose product is counted (names and bytes) before it is built, once.
absl::Status Expand(std::string_view pattern, const ExpandLimits& limits,
                    std::vector<std::string>* out) {
  std::vector<std::vector<std::string>> segments;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) segments.push_back({std::move(literal)});
    literal.clear();
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      literal += pattern.substr(i, 2);  // escapes are dropped at the very end
      ++i;
      continue;
    }
    const size_t close = pattern[i] == '{' ? MatchingBrace(pattern, i) : std::string_view::npos;
    if (close == std::string_view::npos) {
      literal.push_back(pattern[i]);
      continue;
    }
    const std::string_view body = pattern.substr(i + 1, close - i - 1);
    std::vector<std::string> options;
    bool too_many = false;
    if (!ExpandRange(body, limits, &options, &too_many)) {
      const std::vector<std::string_view> alternatives = TopLevelAlternatives(body);
      if (alternatives.size() < 2) {  // not a group: literal
        literal += pattern.substr(i, close - i + 1);
        i = close;
        continue;
      }
      for (std::string_view alt : alternatives) {
        if (absl::Status st = Expand(alt, limits, &options); !st.ok()) return st;
        if (options.size() > limits.names) too_many = true;
      }
    }
    if (too_many) {
      return absl::InvalidArgumentError(StrCat("expands to more than ", limits.names, " names"));
    }
    flush();
    segments.push_back(std::move(options));
    i = close;
  }
  flush();
  uint64_t count = 1, longest = 0;
  for (const std::vector<std::string>& options : segments) {
    std::optional<uint64_t> c = CheckedMul(count, options.size());
    if (!c || *c + out->size() > limits.names) {
      return absl::InvalidArgumentError(StrCat("expands to more than ", limits.names, " names"));
    }
    count = *c;
    size_t widest = 0;
    for (const std::string& o : options) widest = std::max(widest, o.size());
    longest += widest;
  }
  std::optional<uint64_t> bytes = CheckedMul(count, longest);
  if (!bytes || *bytes > limits.bytes) {
    return absl::InvalidArgumentError(
        StrCat("expands to more than ", limits.bytes, " bytes of names"));
  }
  // The product, first segment slowest, as braceexpand orders it.
  std::vector<size_t> index(segments.size(), 0);
  for (uint64_t n = 0; n < count; ++n) {
    std::string name;
    for (size_t k = 0; k < segments.size(); ++k) name += segments[k][index[k]];
    out->push_back(std::move(name));
    for (size_t k = segments.size(); k-- > 0;) {
      if (++index[k] < segments[k].size()) break;
      index[k] = 0;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ExpandBraces(std::string_view pattern,
                                                      const ExpandLimits& limits) {
  if (pattern.size() > kMaxPatternBytes) {
    return absl::InvalidArgumentError(
        StrCat("a pattern of ", pattern.size(), " bytes; at most ", kMaxPatternBytes));
  }
  int depth = 0, deepest = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
    } else if (pattern[i] == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (pattern[i] == '}' && depth > 0) {
      --depth;
    }
  }
  if (deepest > kMaxBraceDepth) {
    return absl::InvalidArgumentError(
        StrCat("'", Printable(pattern), "': braces nest deeper than ", kMaxBraceDepth));
  }
  std::vector<std::string> out;
  if (absl::Status s = Expand(pattern, limits, &out); !s.ok()) {
    return absl::InvalidArgumentError(StrCat("'", Printable(pattern), "' ", s.message()));
  }
  // braceexpand drops its escapes from the output.
  for (std::string& s : out) {
    std::string clean;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      clean.push_back(s[i]);
    }
    s = std::move(clean);
  }
  return out;
}

absl::StatusOr<ModalityList> SplitModalityList(std::string_view url) {
  ModalityList list;
  const size_t open = url.find('[');
  if (open == std::string_view::npos) {
    if (url.find(']') != std::string_view::npos) {
      return absl::InvalidArgumentError(StrCat("'", Printable(url), "': ']' without '['"));
    }
    list.names.push_back("");
    list.urls.push_back(std::string(url));
    return list;
  }
  const size_t close = url.find(']', open);
  if (close == std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat("'", Printable(url), "': '[' without ']'"));
  }
  if (url.find('[', close) != std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat("'", Printable(url), "': one [modality,...] group at most"));
  }
  std::string_view body = url.substr(open + 1, close - open - 1);
  for (size_t start = 0; start <= body.size();) {
    size_t comma = body.find(',', start);
    if (comma == std::string_view::npos) comma = body.size();
    const std::string_view name = body.substr(start, comma - start);
    if (name.empty()) {
      return absl::InvalidArgumentError(StrCat("'", Printable(url), "': an empty modality name"));
    }
    list.names.push_back(std::string(name));
    list.urls.push_back(StrCat(url.substr(0, open), name, url.substr(close + 1)));
    start = comma + 1;
  }
  return list;
}

}  // namespace maskfeed
