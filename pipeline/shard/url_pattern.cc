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
// hold more than kMaxExpandedNames items (none are made then).
bool ExpandRange(std::string_view body, std::vector<std::string>* items, bool* too_many) {
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
  step = step < 0 ? -step : step;
  int64_t a = 0, b = 0;
  if (ParseInt(lo, &a) && ParseInt(hi, &b)) {
    const size_t width = LeadingZero(lo) || LeadingZero(hi) ? std::max(lo.size(), hi.size()) : 0;
    const int64_t dir = a <= b ? 1 : -1;
    // Count first (in unsigned arithmetic: the span of two int64s fits in uint64): a range
    // past the limit is refused without generating it.
    const uint64_t span = dir > 0 ? static_cast<uint64_t>(b) - static_cast<uint64_t>(a)
                                  : static_cast<uint64_t>(a) - static_cast<uint64_t>(b);
    if (span / static_cast<uint64_t>(step) + 1 > kMaxExpandedNames) {
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
    for (int c = lo[0];; c += dir * static_cast<int>(step)) {
      if ((dir > 0 && c > hi[0]) || (dir < 0 && c < hi[0])) break;
      items->push_back(std::string(1, static_cast<char>(c)));
    }
    return true;
  }
  return false;
}

absl::Status Expand(std::string_view pattern, std::vector<std::string>* out);

// Appends every expansion of `prefix` + one item of the group at [open, close] + the rest.
absl::Status ExpandGroup(std::string_view pattern, size_t open, size_t close,
                         std::vector<std::string>* out) {
  const std::string_view prefix = pattern.substr(0, open);
  const std::string_view body = pattern.substr(open + 1, close - open - 1);
  const std::string_view rest = pattern.substr(close + 1);
  std::vector<std::string> items;
  bool too_many = false;
  const bool range = ExpandRange(body, &items, &too_many);
  if (too_many) {
    return absl::InvalidArgumentError(StrCat("expands to more than ", kMaxExpandedNames, " names"));
  }
  if (!range) {
    const std::vector<std::string_view> alternatives = TopLevelAlternatives(body);
    if (alternatives.size() < 2) {
      // Not a group: "{x}" stays literal, and the expansion goes on after it.
      std::vector<std::string> tails;
      if (absl::Status s = Expand(rest, &tails); !s.ok()) return s;
      for (const std::string& t : tails) {
        if (out->size() >= kMaxExpandedNames) break;
        out->push_back(StrCat(prefix, "{", body, "}", t));
      }
      return absl::OkStatus();
    }
    for (std::string_view alt : alternatives) {
      if (absl::Status s = Expand(alt, &items); !s.ok()) return s;
    }
  }
  std::vector<std::string> tails;
  if (absl::Status s = Expand(rest, &tails); !s.ok()) return s;
  std::optional<uint64_t> total = CheckedMul(items.size(), tails.size());
  if (!total || *total + out->size() > kMaxExpandedNames) {
    return absl::InvalidArgumentError(StrCat("expands to more than ", kMaxExpandedNames, " names"));
  }
  for (const std::string& item : items) {
    for (const std::string& t : tails) out->push_back(StrCat(prefix, item, t));
  }
  return absl::OkStatus();
}

absl::Status Expand(std::string_view pattern, std::vector<std::string>* out) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
      continue;
    }
    if (pattern[i] != '{') continue;
    const size_t close = MatchingBrace(pattern, i);
    if (close == std::string_view::npos) break;  // unbalanced: literal
    return ExpandGroup(pattern, i, close, out);
  }
  out->push_back(std::string(pattern));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ExpandBraces(std::string_view pattern) {
  std::vector<std::string> out;
  if (absl::Status s = Expand(pattern, &out); !s.ok()) {
    return absl::InvalidArgumentError(StrCat("'", Printable(pattern), "' ", s.message()));
  }
  if (out.size() >= kMaxExpandedNames) {
    return absl::InvalidArgumentError(
        StrCat("'", Printable(pattern), "' expands to more than ", kMaxExpandedNames, " names"));
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
