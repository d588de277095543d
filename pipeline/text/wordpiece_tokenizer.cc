#include "pipeline/text/wordpiece_tokenizer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <iterator>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "pipeline/base/sha256.h"
#include "pipeline/base/strings.h"
#include "pipeline/text/bert_char_classes.h"
#include "unicode/bytestream.h"
#include "unicode/normalizer2.h"
#include "unicode/ustring.h"
#include "unicode/utf8.h"

namespace maskfeed::text {
namespace {

using Json = nlohmann::json;

// The next code point of `s` at `*i` (advanced past it); U+FFFD for an invalid sequence.
inline char32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = static_cast<int32_t>(s.size());
  int32_t at = static_cast<int32_t>(*i);
  UChar32 c;
  U8_NEXT(p, at, n, c);
  *i = static_cast<size_t>(at);
  return c < 0 ? 0xFFFD : static_cast<char32_t>(c);
}

// The code point that ends just before `i` (U+FFFD when invalid).
inline char32_t PreviousCodePoint(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  int32_t at = static_cast<int32_t>(i);
  UChar32 c;
  U8_PREV(p, 0, at, c);
  return c < 0 ? 0xFFFD : static_cast<char32_t>(c);
}

inline void AppendUtf8(char32_t c, std::string* out) {
  char buf[4];
  int32_t n = 0;
  U8_APPEND_UNSAFE(buf, n, static_cast<UChar32>(c));
  out->append(buf, static_cast<size_t>(n));
}

// A hash-map key for a lookup without a copy (Debian's abseil has its own string_view).
inline absl::string_view Key(std::string_view s) { return absl::string_view(s.data(), s.size()); }

inline bool IsAscii(std::string_view s) {
  size_t i = 0;
  for (uint64_t a, b; i + 16 <= s.size(); i += 16) {  // two words at a time: no branch per byte
    std::memcpy(&a, s.data() + i, 8);
    std::memcpy(&b, s.data() + i + 8, 8);
    if ((a | b) & 0x8080808080808080ull) return false;
  }
  for (; i < s.size(); ++i) {
    if (static_cast<uint8_t>(s[i]) >= 0x80) return false;
  }
  return true;
}

// Full lower-case mapping of one code point (Rust's char::to_lowercase), into `out`.
void AppendLower(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    return;
  }
  UChar in[2];
  int32_t in_len = 0;
  U16_APPEND_UNSAFE(in, in_len, static_cast<UChar32>(c));
  UChar lower[8];
  UErrorCode status = U_ZERO_ERROR;
  // Alone, a code point has no casing context: the mapping is the context-free one.
  const int32_t n = u_strToLower(lower, 8, in, in_len, "", &status);
  if (U_FAILURE(status)) {
    AppendUtf8(c, out);
    return;
  }
  for (int32_t i = 0; i < n;) {
    UChar32 d;
    U16_NEXT(lower, i, n, d);
    AppendUtf8(static_cast<char32_t>(d), out);
  }
}

absl::Status JsonError(std::string_view name, std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(name, ": ", path, ": ", what));
}

// A JSON boolean at `json[key]` (absent or null: `fallback`).
absl::StatusOr<bool> Flag(const Json& json, const char* key, bool fallback, std::string_view name,
                          std::string_view path) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  if (!json[key].is_boolean()) return JsonError(name, StrCat(path, ".", key), "not a boolean");
  return json[key].get<bool>();
}

}  // namespace

// ---- TokenTrie ----

void TokenTrie::Add(std::string_view content, int32_t id) {
  if (content.empty()) return;
  if (content.size() == 1) {
    single_[static_cast<uint8_t>(content[0])] = true;
  } else {
    const size_t pair = static_cast<size_t>(static_cast<uint8_t>(content[0])) << 8 |
                        static_cast<uint8_t>(content[1]);
    pairs_.set(pair);
    if (content.size() == 2) {
      two_byte_.set(pair);
    } else {
      triples_.set(Triple(pair, static_cast<uint8_t>(content[2])));
    }
  }
  uint32_t node = 0;
  for (char ch : content) {
    const auto byte = static_cast<uint8_t>(ch);
    auto& children = building_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, 0u),
                               [](const auto& a, const auto& b) { return a.first < b.first; });
    if (it != children.end() && it->first == byte) {
      node = it->second;
      continue;
    }
    const auto next = static_cast<uint32_t>(building_.size());
    children.insert(it, {byte, next});
    if (node == 0) root_[byte] = next;
    building_.push_back(BuildNode{});
    node = next;
  }
  building_[node].id = id;
}

void TokenTrie::Finish() {
  nodes_.assign(building_.size(), Node{});
  edges_.clear();
  for (size_t i = 0; i < building_.size(); ++i) {
    nodes_[i] = Node{.id = building_[i].id,
                     .first = static_cast<uint32_t>(edges_.size()),
                     .count = static_cast<uint32_t>(building_[i].children.size())};
    edges_.insert(edges_.end(), building_[i].children.begin(), building_[i].children.end());
  }
  few_first_bytes_.clear();
  for (int b = 0; b < 256; ++b) {
    if (root_[b] != 0) few_first_bytes_.push_back(static_cast<uint8_t>(b));
  }
  if (few_first_bytes_.size() > 4) few_first_bytes_.clear();
  building_.assign(1, BuildNode{});
}

size_t TokenTrie::NextCandidate(std::string_view text, size_t pos) const {
  const size_t n = text.size();
#if defined(__SSE2__)
  const size_t k = few_first_bytes_.size();
  if (k > 0) {
    __m128i wanted[4];
    for (size_t j = 0; j < 4; ++j) {
      wanted[j] = _mm_set1_epi8(static_cast<char>(few_first_bytes_[j < k ? j : 0]));
    }
    for (; pos + 16 <= n; pos += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + pos));
      const __m128i hit =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, wanted[0]), _mm_cmpeq_epi8(v, wanted[1])),
                       _mm_or_si128(_mm_cmpeq_epi8(v, wanted[2]), _mm_cmpeq_epi8(v, wanted[3])));
      if (const int mask = _mm_movemask_epi8(hit); mask != 0) {
        return pos + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
      }
    }
  }
#endif
  while (pos < n && root_[static_cast<uint8_t>(text[pos])] == 0) ++pos;
  return pos;
}

std::pair<size_t, int32_t> TokenTrie::Walk(std::string_view text, size_t pos) const {
  std::pair<size_t, int32_t> best{0, -1};
  uint32_t node = root_[static_cast<uint8_t>(text[pos])];
  for (size_t i = pos;;) {
    const Node& at = nodes_[node];
    if (at.id >= 0) best = {i + 1 - pos, at.id};
    if (++i == text.size() || at.count == 0) break;
    const auto byte = static_cast<uint8_t>(text[i]);
    const auto* first = edges_.data() + at.first;
    if (at.count == 1) {  // inside a long content: most nodes
      if (first->first != byte) break;
      node = first->second;
      continue;
    }
    const auto* last = first + at.count;
    const auto* it =
        std::lower_bound(first, last, std::make_pair(byte, 0u),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
    if (it == last || it->first != byte) break;
    node = it->second;
  }
  return best;
}

// ---- loading ----

absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::FromFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("text tokenizer ", path, ": cannot read the file"));
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return FromJson(json, path);
}

absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::FromJson(
    std::string_view text, std::string_view name) {
  // Every access below checks types first; this turns a missed case into an error, not a crash.
  try {
    return Load(text, name);
  } catch (const nlohmann::json::exception& e) {
    return JsonError(name, "$", StrCat("unexpected structure (", Printable(e.what()), ")"));
  }
}

absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::Load(
    std::string_view text, std::string_view name) {
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return JsonError(name, "$", "not valid JSON");
  if (!json.is_object()) return JsonError(name, "$", "not a JSON object");
  std::unique_ptr<WordPieceTokenizer> t(new WordPieceTokenizer());

  for (const char* key : {"post_processor", "truncation", "padding"}) {
    if (json.contains(key) && !json[key].is_null()) {
      return JsonError(name, StrCat("$.", key), "only null is supported (as 4M's tokenizer has)");
    }
  }
  const Json& normalizer = json.value("normalizer", Json());
  if (!normalizer.is_null()) {
    if (!normalizer.is_object() || normalizer.value("type", "") != "BertNormalizer") {
      return JsonError(name, "$.normalizer.type", "only BertNormalizer (or null) is supported");
    }
    t->normalize_ = true;
    absl::StatusOr<bool> clean = Flag(normalizer, "clean_text", true, name, "$.normalizer");
    absl::StatusOr<bool> chinese =
        Flag(normalizer, "handle_chinese_chars", true, name, "$.normalizer");
    absl::StatusOr<bool> lower = Flag(normalizer, "lowercase", true, name, "$.normalizer");
    if (!clean.ok()) return clean.status();
    if (!chinese.ok()) return chinese.status();
    if (!lower.ok()) return lower.status();
    // strip_accents: null follows lowercase.
    absl::StatusOr<bool> strip = Flag(normalizer, "strip_accents", *lower, name, "$.normalizer");
    if (!strip.ok()) return strip.status();
    t->clean_text_ = *clean;
    t->handle_chinese_chars_ = *chinese;
    t->lowercase_ = *lower;
    t->strip_accents_ = *strip;
  }
  const Json& pre = json.value("pre_tokenizer", Json());
  if (!pre.is_object() || pre.value("type", "") != "BertPreTokenizer") {
    return JsonError(name, "$.pre_tokenizer.type", "only BertPreTokenizer is supported");
  }
  const Json& model = json.value("model", Json());
  if (!model.is_object() || model.value("type", "") != "WordPiece") {
    return JsonError(name, "$.model.type", "only WordPiece is supported");
  }
  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return JsonError(name, "$.model.vocab", "missing or not an object");
  }
  if (model.contains("continuing_subword_prefix")) {
    if (!model["continuing_subword_prefix"].is_string()) {
      return JsonError(name, "$.model.continuing_subword_prefix", "not a string");
    }
    t->continuing_prefix_ = model["continuing_subword_prefix"].get<std::string>();
  }
  if (model.contains("max_input_chars_per_word")) {
    if (!model["max_input_chars_per_word"].is_number_unsigned()) {
      return JsonError(name, "$.model.max_input_chars_per_word", "not a non-negative integer");
    }
    t->max_input_chars_per_word_ = model["max_input_chars_per_word"].get<size_t>();
  }
  int64_t max_id = -1;
  for (const auto& [token, id_json] : model["vocab"].items()) {
    if (!id_json.is_number_integer() || id_json.get<int64_t>() < 0 ||
        id_json.get<int64_t>() > kMaxTokenId) {
      return JsonError(name, StrCat("$.model.vocab[\"", Printable(token), "\"]"),
                       StrCat("not an id in 0..", kMaxTokenId));
    }
    const auto id = static_cast<int32_t>(id_json.get<int64_t>());
    max_id = std::max<int64_t>(max_id, id);
    bool inserted;
    if (!t->continuing_prefix_.empty() && token.size() > t->continuing_prefix_.size() &&
        token.compare(0, t->continuing_prefix_.size(), t->continuing_prefix_) == 0) {
      const std::string_view piece = std::string_view(token).substr(t->continuing_prefix_.size());
      inserted = t->continuations_.Insert(piece, id);
      t->max_piece_bytes_ = std::max(t->max_piece_bytes_, piece.size());
    } else {
      RunInfo* info = t->vocab_.Insert(token, id) ? t->RunInfoFor(token) : nullptr;
      inserted = info != nullptr;
      if (inserted) info->vocab = id;
      t->max_piece_bytes_ = std::max(t->max_piece_bytes_, token.size());
    }
    if (!inserted) return JsonError(name, "$.model.vocab", "too large");
  }
  const std::string unk = model.value("unk_token", Json("[UNK]")).is_string()
                              ? model.value("unk_token", std::string("[UNK]"))
                              : std::string();
  if (unk.empty() || t->vocab_.Find(unk) < 0) {
    return JsonError(name, "$.model.unk_token", "missing, or not in the vocabulary");
  }
  t->unk_id_ = t->vocab_.Find(unk);

  if (json.contains("added_tokens") && !json["added_tokens"].is_null()) {
    if (!json["added_tokens"].is_array()) {
      return JsonError(name, "$.added_tokens", "not an array");
    }
    const Json& added = json["added_tokens"];
    bool word_runs = t->normalize_;
    for (size_t i = 0; i < added.size(); ++i) {
      const std::string path = StrCat("$.added_tokens[", i, "]");
      const Json& a = added[i];
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_unsigned() ||
          a["id"].get<uint64_t>() > kMaxTokenId || !a.contains("content") ||
          !a["content"].is_string() || a["content"].get<std::string>().empty()) {
        return JsonError(name, path,
                         StrCat("needs an id in 0..", kMaxTokenId, " and a non-empty content"));
      }
      for (const char* unsupported : {"lstrip", "rstrip"}) {
        absl::StatusOr<bool> v = Flag(a, unsupported, false, name, path);
        if (!v.ok()) return v.status();
        if (*v) return JsonError(name, StrCat(path, ".", unsupported), "true is not supported");
      }
      absl::StatusOr<bool> single = Flag(a, "single_word", false, name, path);
      absl::StatusOr<bool> normalized = Flag(a, "normalized", true, name, path);
      if (!single.ok()) return single.status();
      if (!normalized.ok()) return normalized.status();
      const auto id = static_cast<int32_t>(a["id"].get<uint64_t>());
      const std::string content = a["content"].get<std::string>();
      max_id = std::max<int64_t>(max_id, id);
      if (static_cast<size_t>(id) >= t->single_word_.size()) t->single_word_.resize(id + 1);
      t->single_word_[id] = *single;
      t->added_[content] = id;
      (*normalized ? t->normalized_tokens_ : t->raw_tokens_).Add(content, id);
      if (*normalized) word_runs &= *single && t->NoteNormalizedToken(content, id);
    }
    t->normalized_word_runs_ = word_runs;
  }
  t->raw_tokens_.Finish();
  t->normalized_tokens_.Finish();
  if (static_cast<size_t>(max_id + 1) > t->single_word_.size()) t->single_word_.resize(max_id + 1);
  t->max_id_ = static_cast<int32_t>(max_id);
  t->BuildAsciiTables();
  for (uint8_t byte : Sha256(text)) StrAppend(&t->digest_, absl::Hex(byte, absl::kZeroPad2));
  return t;
}

int32_t WordPieceTokenizer::TokenId(std::string_view token) const {
  if (auto it = added_.find(Key(token)); it != added_.end()) return it->second;
  if (const int32_t id = vocab_.Find(token); id >= 0) return id;
  if (token.size() > continuing_prefix_.size() &&
      token.substr(0, continuing_prefix_.size()) == continuing_prefix_) {
    return continuations_.Find(token.substr(continuing_prefix_.size()));
  }
  return -1;
}

WordPieceTokenizer::RunInfo* WordPieceTokenizer::RunInfoFor(std::string_view run) {
  int32_t index = run_index_.Find(run);
  if (index < 0) {
    index = static_cast<int32_t>(run_info_.size());
    if (!run_index_.Insert(run, index)) return nullptr;
    run_info_.emplace_back();
  }
  return &run_info_[static_cast<size_t>(index)];
}

bool WordPieceTokenizer::NoteNormalizedToken(std::string_view content, int32_t id) {
  size_t i = 0;
  if (!(BertClassOf(NextCodePoint(content, &i)) & kWord)) return false;  // starts a non-word
  // Its leading run of word characters: all of it, or what comes before a non-word one.
  size_t run_end = content.size();
  char32_t after = 0;
  for (size_t at = i; i < content.size(); at = i) {
    after = NextCodePoint(content, &i);
    if (!(BertClassOf(after) & kWord)) {
      run_end = at;
      break;
    }
  }
  const std::string_view run = content.substr(0, run_end);
  RunInfo* info = RunInfoFor(run);
  if (info == nullptr) return false;
  if (run_end == content.size()) {
    info->token = id;
    return true;
  }
  info->other_run = true;
  if (i < content.size()) {  // the non-word character is not the last: the token spans it
    spanning_runs_.emplace_back(std::string(run), after);
    const auto* end = reinterpret_cast<const uint8_t*>(run.data()) + run.size();
    const size_t bytes = std::min<size_t>(run.size(), 4);
    spanning_suffix_[bytes - 1].set(bytes == 1 ? end[-1] : SuffixKey(end, bytes));
  }
  return true;
}

void WordPieceTokenizer::BuildAsciiTables() {
  for (int c = 0; c < 128; ++c) {
    int16_t normal = static_cast<int16_t>(c);
    if (normalize_ && clean_text_) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) normal = -1;
      if (c == '\t' || c == '\n' || c == '\r') normal = ' ';
    }
    if (normalize_ && lowercase_ && c >= 'A' && c <= 'Z') normal = static_cast<int16_t>(c + 32);
    ascii_normal_[c] = normal;
    ascii_class_[c] = BertClassOf(static_cast<char32_t>(c));
    std::vector<int32_t> ids;
    const char ch = static_cast<char>(c);
    EncodeWord(std::string_view(&ch, 1), 1, &ids);
    ascii_single_[c] = ids.empty() ? unk_id_ : ids[0];
  }
}

// ---- encoding ----

template <typename Rest>
void WordPieceTokenizer::SplitOnAddedTokens(std::string_view text, const TokenTrie& trie,
                                            const std::vector<bool>& single_word,
                                            std::vector<int32_t>* ids, Rest rest) const {
  size_t piece_start = 0;
  size_t pos = 0;
  while ((pos = trie.NextCandidate(text, pos)) < text.size()) {
    const auto [length, id] = trie.LongestAt(text, pos);
    if (length == 0) {
      ++pos;
      continue;
    }
    const size_t end = pos + length;
    bool accept = true;
    if (single_word[id]) {
      // Boundaries: the text's start and end, or a non-word character on each side.
      const bool left_ok = pos == 0 || !(BertClassOf(PreviousCodePoint(text, pos)) & kWord);
      size_t after = end;
      const bool right_ok =
          end == text.size() || !(BertClassOf(NextCodePoint(text, &after)) & kWord);
      accept = left_ok && right_ok;
    }
    if (accept) {
      if (pos > piece_start) rest(text.substr(piece_start, pos - piece_start));
      ids->push_back(id);
      piece_start = end;
    }
    pos = end;  // a rejected match is skipped whole, never retried shorter
  }
  if (piece_start < text.size()) rest(text.substr(piece_start));
}

bool WordPieceTokenizer::SpanningRunEnds(std::string_view text, size_t start, size_t end) const {
  const size_t length = end - start;
  size_t after_at = end;
  const char32_t after = NextCodePoint(text, &after_at);
  for (const auto& [run, next] : spanning_runs_) {
    if (run.size() < length && next == after && text.substr(end - run.size(), run.size()) == run) {
      return true;
    }
  }
  return false;
}

void WordPieceTokenizer::Encode(std::string_view text, std::vector<int32_t>* ids) const {
  SplitOnAddedTokens(text, raw_tokens_, single_word_, ids,
                     [&](std::string_view piece) { EncodeSegment(piece, true, ids); });
}

void WordPieceTokenizer::EncodeScanningEveryPosition(std::string_view text,
                                                     std::vector<int32_t>* ids) const {
  SplitOnAddedTokens(text, raw_tokens_, single_word_, ids,
                     [&](std::string_view piece) { EncodeSegment(piece, false, ids); });
}

void WordPieceTokenizer::EncodeSegment(std::string_view raw, bool word_runs,
                                       std::vector<int32_t>* ids) const {
  thread_local std::string normalized;
  const bool ascii = Normalize(raw, &normalized);
  const std::string_view view = normalized;  // stable: nothing below normalises again
  if (normalized_tokens_.empty()) {
    EncodeWords(view, ids);
    return;
  }
  // (With clean_text, normalized ASCII holds only word characters, punctuation and spaces.)
  if (word_runs && normalized_word_runs_ && clean_text_ && ascii &&
      EncodeAsciiWordRuns(view, ids)) {
    return;
  }
  SplitOnAddedTokens(view, normalized_tokens_, single_word_, ids,
                     [&](std::string_view piece) { EncodeWords(piece, ids); });
}

bool WordPieceTokenizer::Normalize(std::string_view raw, std::string* out) const {
  out->clear();
  if (!normalize_) {
    out->assign(raw);
    return false;
  }
  if (IsAscii(raw)) {  // the common case, without ICU: no marks, no CJK, ASCII case only
    out->resize(raw.size());
    size_t n = 0;
#if defined(__SSE2__)
    // Sixteen bytes at a time while they hold no control character (nothing to drop or turn
    // into a space): then normalising is lower-casing, when the normalizer lower-cases.
    if (lowercase_ || !clean_text_) {
      const __m128i before_a = _mm_set1_epi8('A' - 1), after_z = _mm_set1_epi8('Z' + 1);
      const __m128i space = _mm_set1_epi8(' '), del = _mm_set1_epi8(0x7F);
      const __m128i to_lower = _mm_set1_epi8(lowercase_ ? 0x20 : 0);
      for (; n + 16 <= raw.size(); n += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(raw.data() + n));
        // ASCII only (checked above): signed compares are byte compares here.
        const __m128i control = _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del));
        if (clean_text_ && _mm_movemask_epi8(control) != 0) break;
        const __m128i upper =
            _mm_and_si128(_mm_cmpgt_epi8(v, before_a), _mm_cmplt_epi8(v, after_z));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out->data() + n),
                         _mm_or_si128(v, _mm_and_si128(upper, to_lower)));
      }
    }
    const size_t done = n;
#else
    const size_t done = 0;
#endif
    for (char ch : raw.substr(done)) {
      const int16_t c = ascii_normal_[static_cast<uint8_t>(ch)];
      (*out)[n] = static_cast<char>(c);
      n += c >= 0;
    }
    out->resize(n);
    return true;
  }
  // 1. clean_text, then handle_chinese_chars.
  std::string cleaned;
  cleaned.reserve(raw.size() + 8);
  for (size_t i = 0; i < raw.size();) {
    char32_t c = NextCodePoint(raw, &i);
    const uint8_t cls = BertClassOf(c);
    if (clean_text_) {
      if (cls & kControl) continue;
      if (cls & kWhitespace) c = ' ';
    }
    if (handle_chinese_chars_ && (cls & kChinese)) {
      cleaned.push_back(' ');
      AppendUtf8(c, &cleaned);
      cleaned.push_back(' ');
    } else {
      AppendUtf8(c, &cleaned);
    }
  }
  // 2. strip_accents: NFD, then drop nonspacing marks.
  std::string decomposed;
  if (strip_accents_) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
    icu::StringByteSink<std::string> sink(&decomposed);
    if (U_SUCCESS(status)) nfd->normalizeUTF8(0, cleaned, sink, nullptr, status);
    if (U_FAILURE(status)) decomposed = cleaned;
    cleaned.clear();
    for (size_t i = 0; i < decomposed.size();) {
      const char32_t c = NextCodePoint(decomposed, &i);
      if (!(BertClassOf(c) & kNonspacingMark)) AppendUtf8(c, &cleaned);
    }
  }
  // 3. lowercase, code point by code point.
  if (!lowercase_) {
    *out = std::move(cleaned);
    return false;
  }
  out->reserve(cleaned.size());
  for (size_t i = 0; i < cleaned.size();) AppendLower(NextCodePoint(cleaned, &i), out);
  return false;
}

bool WordPieceTokenizer::EncodeAsciiWordRuns(std::string_view text,
                                             std::vector<int32_t>* ids) const {
  const size_t first_id = ids->size();
  const size_t n = text.size();
  size_t covered = 0;  // positions before it lie inside an examined match: never looked up
  auto cls = [&](size_t i) { return ascii_class_[static_cast<uint8_t>(text[i])]; };
  for (size_t pos = 0; pos < n;) {
    const uint8_t c = cls(pos);
    if (!(c & kWord)) {  // whitespace, or punctuation: a word of its own
      if (c & kPunctuation) ids->push_back(ascii_single_[static_cast<uint8_t>(text[pos])]);
      ++pos;
      continue;
    }
    // A run of word characters, its start a candidate for a class name.
    const size_t start = pos;
    size_t end = pos + 1;
    bool underscore = text[start] == '_';
    while (end < n && (cls(end) & kWord)) underscore |= text[end++] == '_';
    const std::string_view run = text.substr(start, end - start);
    const int32_t index = run_index_.Find(run);
    const RunInfo* info = index >= 0 ? &run_info_[static_cast<size_t>(index)] : nullptr;
    if (start >= covered) {
      // The longest match here is the run itself when a token of word characters equals it;
      // a shorter one ends inside the run (rejected, and what it skips holds no run start);
      // a longer one continues past the run's end with a non-word character, so it leads
      // with exactly this run: only then is the trie walked.
      if (info == nullptr || !info->other_run) {
        if (info != nullptr && info->token >= 0) {
          ids->push_back(info->token);
          covered = end;
          pos = end;
          continue;
        }
      } else if (const auto [length, id] = normalized_tokens_.LongestAt(text, start); length > 0) {
        const size_t match_end = start + length;
        covered = match_end;  // accepted or not, skipped whole
        if (match_end == n || !(cls(match_end) & kWord)) {
          ids->push_back(id);
          pos = match_end;
          continue;
        }
      }
    }
    if (end < n && EndsLikeSpanningToken(text, start, end)) {
      ids->resize(first_id);
      return false;
    }
    // The run's words: '_' is punctuation to BertPreTokenizer, a word character to \w. A run
    // that is one vocabulary entry is one id (what EncodeWord's first lookup would find).
    if (!underscore && info != nullptr && info->vocab >= 0 &&
        run.size() <= max_input_chars_per_word_) {
      ids->push_back(info->vocab);
      pos = end;
      continue;
    }
    for (size_t w = start; w < end;) {
      if (text[w] == '_') {
        ids->push_back(ascii_single_[static_cast<uint8_t>('_')]);
        ++w;
        continue;
      }
      size_t e = w + 1;
      while (e < end && text[e] != '_') ++e;
      EncodeWord(text.substr(w, e - w), e - w, ids);
      w = e;
    }
    pos = end;
  }
  return true;
}

void WordPieceTokenizer::EncodeWords(std::string_view text, std::vector<int32_t>* ids) const {
  size_t word_start = 0, word_chars = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    const auto byte = static_cast<uint8_t>(text[i]);
    uint8_t cls;
    if (byte < 0x80) {
      cls = ascii_class_[byte];
      ++i;
    } else {
      cls = BertClassOf(NextCodePoint(text, &i));
    }
    if (cls & (kWhitespace | kPunctuation)) {
      if (at > word_start) EncodeWord(text.substr(word_start, at - word_start), word_chars, ids);
      if (cls & kPunctuation && !(cls & kWhitespace)) EncodeWord(text.substr(at, i - at), 1, ids);
      word_start = i;
      word_chars = 0;
    } else {
      ++word_chars;
    }
  }
  if (word_start < text.size()) EncodeWord(text.substr(word_start), word_chars, ids);
}

void WordPieceTokenizer::EncodeWord(std::string_view word, size_t chars,
                                    std::vector<int32_t>* ids) const {
  if (chars > max_input_chars_per_word_) {
    ids->push_back(unk_id_);
    return;
  }
  const size_t first = ids->size();
  size_t start = 0;
  while (start < word.size()) {
    const auto& table = start == 0 ? vocab_ : continuations_;
    size_t end = std::min(word.size(), start + max_piece_bytes_);
    // Back to a character boundary.
    while (end > start && end < word.size() && (static_cast<uint8_t>(word[end]) & 0xC0) == 0x80) {
      --end;
    }
    int32_t found = -1;
    while (end > start) {
      if ((found = table.Find(word.substr(start, end - start))) >= 0) break;
      do {
        --end;
      } while (end > start && (static_cast<uint8_t>(word[end]) & 0xC0) == 0x80);
    }
    if (found < 0) {  // no cut: the whole word is unknown
      ids->resize(first);
      ids->push_back(unk_id_);
      return;
    }
    ids->push_back(found);
    start = end;
  }
}

}  // namespace maskfeed::text
