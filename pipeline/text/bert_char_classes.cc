#include "pipeline/text/bert_char_classes.h"

#include <array>

#include "unicode/uchar.h"

namespace maskfeed::text {
namespace {

// The Unicode version of the `unicode_categories` crate's tables.
constexpr UVersionInfo kCategoriesVersion = {8, 0, 0, 0};

bool AssignedBy8_0(UChar32 c) {
  UVersionInfo age;
  u_charAge(c, age);
  if (age[0] == 0 && age[1] == 0) return false;  // unassigned in ICU's version too
  for (int i = 0; i < 4; ++i) {
    if (age[i] != kCategoriesVersion[i]) return age[i] < kCategoriesVersion[i];
  }
  return true;
}

// BERT's CJK ideograph blocks (tokenizers' is_chinese_char).
bool IsBertChinese(UChar32 c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

uint8_t Compute(UChar32 c) {
  uint8_t bits = 0;
  const int8_t type = u_charType(c);
  const uint32_t mask = U_MASK(type);
  if (c == '\t' || c == '\n' || c == '\r' || u_hasBinaryProperty(c, UCHAR_WHITE_SPACE)) {
    bits |= kWhitespace;
  }
  const bool old = AssignedBy8_0(c);
  if (c == 0 || c == 0xFFFD ||
      (c != '\t' && c != '\n' && c != '\r' && old &&
       (mask & (U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK | U_GC_CS_MASK)) != 0)) {
    bits |= kControl;
  }
  const bool ascii_punct = c < 0x80 && ((c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
                                        (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E));
  if (ascii_punct || (old && (mask & U_GC_P_MASK) != 0)) bits |= kPunctuation;
  if (old && type == U_NON_SPACING_MARK) bits |= kNonspacingMark;
  if (IsBertChinese(c)) bits |= kChinese;
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || (mask & U_GC_M_MASK) != 0 ||
      type == U_DECIMAL_DIGIT_NUMBER || type == U_CONNECTOR_PUNCTUATION ||
      u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL)) {
    bits |= kWord;
  }
  return bits;
}

const std::array<uint8_t, 0x10000>& BmpTable() {
  static const std::array<uint8_t, 0x10000>* table = [] {
    auto* t = new std::array<uint8_t, 0x10000>();
    for (UChar32 c = 0; c < 0x10000; ++c) (*t)[c] = Compute(c);
    return t;
  }();
  return *table;
}

}  // namespace

uint8_t BertClassOf(char32_t c) {
  if (c < 0x10000) return BmpTable()[c];
  if (c > 0x10FFFF) return 0;
  return Compute(static_cast<UChar32>(c));
}

}  // namespace maskfeed::text
