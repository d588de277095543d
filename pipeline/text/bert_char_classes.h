// The character classes of HuggingFace `tokenizers`' BERT pipeline (BertNormalizer,
// BertPreTokenizer, single-word added tokens), computed from ICU's Unicode properties.
//
// `tokenizers` takes these from three sources, and exactness needs each one's behaviour:
//   - Rust's std (`char::is_whitespace`, `char::to_lowercase`) and the `regex` crate (`\w`):
//     current Unicode, which ICU's properties give directly;
//   - the `unicode_categories` crate (is_other, is_punctuation, is_mark_nonspacing), whose
//     tables are Unicode 8.0's: a code point counts only if ICU says it was assigned by 8.0
//     (u_charAge) and has the category. Unassigned code points are not "other" there, so
//     clean_text keeps them (checked against the library: U+0378 survives);
//   - BERT's own "Chinese character" ranges (the CJK ideograph blocks), a definition in the
//     normalizer's code rather than a Unicode property.
// The classes of U+0000..U+FFFF are computed once into a table; the rest on demand.
#ifndef MASKFEED_PIPELINE_TEXT_BERT_CHAR_CLASSES_H_
#define MASKFEED_PIPELINE_TEXT_BERT_CHAR_CLASSES_H_

#include <cstdint>

namespace maskfeed::text {

enum BertCharClass : uint8_t {
  kWhitespace = 1 << 0,      // tab, LF, CR, or Rust's char::is_whitespace (White_Space)
  kControl = 1 << 1,         // removed by clean_text: NUL, U+FFFD, or Cc/Cf/Co/Cs (8.0) but not
                             // tab, LF, CR
  kPunctuation = 1 << 2,     // split off by BertPreTokenizer: ASCII punctuation or P* (8.0)
  kNonspacingMark = 1 << 3,  // dropped after NFD when stripping accents: Mn (8.0)
  kChinese = 1 << 4,         // spaced around by handle_chinese_chars
  kWord = 1 << 5,            // regex \w: Alphabetic, M*, Nd, Pc, Join_Control
};

// The BertCharClass bits of code point `c` (0 for values outside Unicode).
uint8_t BertClassOf(char32_t c);

}  // namespace maskfeed::text

#endif  // MASKFEED_PIPELINE_TEXT_BERT_CHAR_CLASSES_H_
