// 4M's text tokenizer: a HuggingFace `tokenizer.json` of the BERT WordPiece kind, encoding
// exactly as HuggingFace's `tokenizers` library does (docs/text.md):
//   1. added tokens that are not `normalized` ([PAD]…[EOS], [S_i], vJ=i) are matched in the
//      raw text, leftmost-longest; a `single_word` match is kept only between non-word
//      characters (regex \w), and a rejected match is skipped, not retried shorter;
//   2. the rest is normalised (BertNormalizer: clean text, space out CJK, NFD and drop
//      nonspacing marks, lower-case);
//   3. `normalized` added tokens (the class names) are matched in it the same way;
//   4. what remains is split on whitespace and punctuation (BertPreTokenizer) and each word
//      is cut into the longest vocabulary prefixes ("##" on continuations; a word over
//      max_input_chars_per_word, or one with no cut, is one unk token).
// No special tokens are added. Thread-safe after construction.
//
//   absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> t = WordPieceTokenizer::FromFile(p);
//   std::vector<int32_t> ids;
//   (*t)->Encode("A person riding a horse.", &ids);  // 4321 4253 6261 4321 4241 4296
#ifndef MASKFEED_PIPELINE_TEXT_WORDPIECE_TOKENIZER_H_
#define MASKFEED_PIPELINE_TEXT_WORDPIECE_TOKENIZER_H_

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "pipeline/text/bert_char_classes.h"
#include "pipeline/text/piece_table.h"

namespace maskfeed::text {

// A byte trie of added-token contents: the longest one starting at a position.
class TokenTrie {
 public:
  void Add(std::string_view content, int32_t id);
  // Lays the trie out flat for lookups; call once, after the last Add.
  void Finish();
  bool empty() const { return nodes_.size() <= 1; }
  // The longest content that `text` has at `pos`: its length and id, or {0, -1}. Inline: the
  // scan asks at every position, and almost every one is ruled out by table lookups on its
  // first two or three bytes before the trie is walked.
  std::pair<size_t, int32_t> LongestAt(std::string_view text, size_t pos) const {
    const auto b0 = static_cast<uint8_t>(text[pos]);
    if (root_[b0] == 0) return {0, -1};
    if (single_[b0]) return Walk(text, pos);
    if (pos + 1 == text.size()) return {0, -1};
    const size_t pair = static_cast<size_t>(b0) << 8 | static_cast<uint8_t>(text[pos + 1]);
    if (!pairs_[pair]) return {0, -1};
    if (two_byte_[pair]) return Walk(text, pos);
    if (pos + 2 == text.size() || !triples_[Triple(pair, static_cast<uint8_t>(text[pos + 2]))]) {
      return {0, -1};
    }
    return Walk(text, pos);
  }
  // The first position from `pos` on whose byte some content starts with (text.size() when
  // none): the positions before it need no LongestAt. When contents start with few distinct
  // bytes (4M's raw tokens: '[' and 'v'), 16 positions are ruled out at a time.
  size_t NextCandidate(std::string_view text, size_t pos) const;

 private:
  // While adding: a node's children by byte, sorted.
  struct BuildNode {
    std::vector<std::pair<uint8_t, uint32_t>> children;
    int32_t id = -1;
  };
  // After Finish: a node's children are edges_[first, first + count), sorted by byte.
  struct Node {
    int32_t id = -1;
    uint32_t first = 0;
    uint32_t count = 0;
  };
  std::pair<size_t, int32_t> Walk(std::string_view text, size_t pos) const;
  // A 16-bit hash of three bytes (pair = the first two); collisions only cost a walk.
  static size_t Triple(size_t pair, uint8_t third) {
    return static_cast<uint32_t>((pair << 8 | third) * 2654435761u) >> 16;
  }

  std::vector<BuildNode> building_{BuildNode{}};
  std::vector<Node> nodes_{Node{}};
  std::vector<std::pair<uint8_t, uint32_t>> edges_;
  uint32_t root_[256] = {};  // the root's children by byte (0: none), for the first step
  bool single_[256] = {};    // one-byte contents
  // Byte pairs some content starts with, two-byte contents, and (hashed) the first three
  // bytes of longer ones.
  std::bitset<65536> pairs_, two_byte_, triples_;
  // The distinct first bytes, when there are at most four (NextCandidate's vector scan).
  std::vector<uint8_t> few_first_bytes_;
};

// The largest token id a tokenizer file may use (ids index per-id tables; real vocabularies
// are far smaller, a hostile file must not make them gigabytes).
inline constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool normalized = false;
};

class WordPieceTokenizer {
 public:
  // Errors (INVALID_ARGUMENT, NOT_FOUND for a missing file) name the file and the JSON path
  // of what is wrong or unsupported.
  static absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> FromFile(const std::string& path);
  static absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> FromJson(std::string_view json,
                                                                      std::string_view name);

  // Appends the ids of `text` (UTF-8; an invalid byte reads as U+FFFD) to `ids`.
  void Encode(std::string_view text, std::vector<int32_t>* ids) const;
  // The same ids without the word-run shortcut of step 3 (EncodeAsciiWordRuns): the
  // normalized added tokens are looked for at every position, as HuggingFace does. For tests
  // and the fuzzer, which hold the two equal.
  void EncodeScanningEveryPosition(std::string_view text, std::vector<int32_t>* ids) const;
  // The id of a vocabulary entry or added token, or -1.
  int32_t TokenId(std::string_view token) const;
  size_t vocab_size() const { return vocab_.size() + continuations_.size(); }
  // The largest id it can produce.
  int32_t max_id() const { return max_id_; }
  // SHA-256 of the tokenizer file's bytes, hex: what identifies it in stream fingerprints.
  const std::string& digest() const { return digest_; }

 private:
  WordPieceTokenizer() = default;
  static absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> Load(std::string_view json,
                                                                  std::string_view name);
  // Steps 2-4 for a piece of raw text between raw added tokens (3-4 by EncodeAsciiWordRuns
  // when `word_runs` and it applies).
  void EncodeSegment(std::string_view raw, bool word_runs, std::vector<int32_t>* ids) const;
  // Step 2 into `out`; true when it is all ASCII.
  bool Normalize(std::string_view raw, std::string* out) const;
  // Steps 3-4 in one pass over normalized ASCII text (clean_text on: only word characters,
  // punctuation and spaces), when every normalized added token is single_word and starts
  // with a word character (regex \w). A match can then be accepted only at the start of a run
  // of word characters, and a rejected match, skipped whole, can hide such a start only if it
  // spans a non-word character. So only run starts are looked up, and a run that ends like
  // the word before a non-word character of such a spanning token ("hot dog" inside "xhot dog
  // park", which hides "dog park") hands the text to the scan at every position: false,
  // nothing appended. Otherwise the ids are exactly those of that scan.
  bool EncodeAsciiWordRuns(std::string_view text, std::vector<int32_t>* ids) const;
  // Step 4 for a normalised piece holding no added token.
  void EncodeWords(std::string_view normalized, std::vector<int32_t>* ids) const;
  void EncodeWord(std::string_view word, size_t chars, std::vector<int32_t>* ids) const;
  // Steps 1 and 3: splits `text` at the accepted matches of `trie`, handing the pieces
  // between them to `rest`.
  template <typename Rest>
  void SplitOnAddedTokens(std::string_view text, const TokenTrie& trie,
                          const std::vector<bool>& single_word, std::vector<int32_t>* ids,
                          Rest rest) const;
  // Whether the run of word characters [start, end), followed by a non-word character at
  // `end`, ends with a spanning token's leading run (shorter than it) and that character: a
  // filter on its last bytes (inline: asked for nearly every word), then SpanningRunEnds.
  bool EndsLikeSpanningToken(std::string_view text, size_t start, size_t end) const {
    const auto* last = reinterpret_cast<const uint8_t*>(text.data()) + end;
    const size_t length = end - start;
    const bool may = (length > 1 && spanning_suffix_[0][last[-1]]) ||
                     (length > 2 && spanning_suffix_[1][SuffixKey(last, 2)]) ||
                     (length > 3 && spanning_suffix_[2][SuffixKey(last, 3)]) ||
                     (length > 4 && spanning_suffix_[3][SuffixKey(last, 4)]);
    return may && SpanningRunEnds(text, start, end);
  }
  bool SpanningRunEnds(std::string_view text, size_t start, size_t end) const;
  // A 16-bit key of the `bytes` (2..4) bytes before `end`.
  static size_t SuffixKey(const uint8_t* end, size_t bytes) {
    uint32_t v = 0;
    for (size_t i = bytes; i > 0; --i) v = v << 8 | end[-static_cast<ptrdiff_t>(i)];
    return (v * 2654435761u) >> 16;
  }

  // Loading: notes a normalized added token in run_info_, and in spanning_runs_ its leading
  // run of word characters when a non-word character follows it inside the token ("baseball
  // bat"); false when the token starts with a non-word character (EncodeAsciiWordRuns does
  // not apply then).
  bool NoteNormalizedToken(std::string_view content, int32_t id);
  // Fills ascii_normal_ and ascii_class_ from the flags (after loading).
  void BuildAsciiTables();

  // BertNormalizer's flags.
  bool normalize_ = false;
  bool clean_text_ = false;
  bool handle_chinese_chars_ = false;
  bool strip_accents_ = false;
  bool lowercase_ = false;
  // WordPiece.
  PieceTable vocab_;          // word starts
  PieceTable continuations_;  // "##x" stored as "x"
  std::string continuing_prefix_ = "##";
  int32_t unk_id_ = -1;
  size_t max_input_chars_per_word_ = 100;
  size_t max_piece_bytes_ = 0;
  // Added tokens.
  TokenTrie raw_tokens_, normalized_tokens_;
  // EncodeAsciiWordRuns applies (every normalized added token single_word, starting with a
  // word character; the normalizer on).
  bool normalized_word_runs_ = false;
  // What EncodeAsciiWordRuns needs of a run of word characters, in one lookup: its id as a
  // vocabulary word start, as a normalized token of word characters only, and whether it
  // leads another normalized token (then the trie is walked there).
  struct RunInfo {
    int32_t vocab = -1;
    int32_t token = -1;
    bool other_run = false;
  };
  RunInfo* RunInfoFor(std::string_view run);  // adds it; nullptr when the table is full
  PieceTable run_index_;                      // run -> index in run_info_
  std::vector<RunInfo> run_info_;
  // The leading runs of the normalized tokens that span a non-word character, and that
  // character.
  std::vector<std::pair<std::string, char32_t>> spanning_runs_;
  // By length (1, 2, 3, 4 or more bytes): their last byte, or (hashed, SuffixKey) last 2, 3
  // or 4 bytes (EndsLikeSpanningToken's filter).
  std::bitset<65536> spanning_suffix_[4];
  std::vector<bool> single_word_;  // by id
  absl::flat_hash_map<std::string, int32_t> added_;
  int32_t max_id_ = -1;
  std::string digest_;
  // ASCII text (nearly every caption) skips UTF-8 decoding and ICU: what normalisation makes
  // of each byte (-1: dropped), and its BertCharClass bits.
  int16_t ascii_normal_[128] = {};
  uint8_t ascii_class_[128] = {};
  int32_t ascii_single_[128] = {};  // the id of a one-character word
};

}  // namespace maskfeed::text

#endif  // MASKFEED_PIPELINE_TEXT_WORDPIECE_TOKENIZER_H_
