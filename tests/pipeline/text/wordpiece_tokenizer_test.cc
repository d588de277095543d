#include "pipeline/text/wordpiece_tokenizer.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pipeline/base/random.h"
#include "pipeline/base/strings.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tokenizer_goldens.h"

namespace maskfeed::text {
namespace {

using ::maskfeed::testing::Message;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

const WordPieceTokenizer& Tokenizer4m() {
  static const WordPieceTokenizer* t = [] {
    absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> loaded =
        WordPieceTokenizer::FromFile(testing::kTokenizer4m);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? loaded->release() : nullptr;
  }();
  return *t;
}

std::vector<int32_t> Ids(std::string_view text) {
  std::vector<int32_t> ids;
  Tokenizer4m().Encode(text, &ids);
  return ids;
}

// The worked examples of docs/raw-modalities.md (det, tokenizing).
TEST(WordPieceTokenizerTest, SpecExamples) {
  EXPECT_THAT(Ids("A person riding a horse."),
              ElementsAreArray({4321, 4253, 6261, 4321, 4241, 4296}));
  EXPECT_THAT(Ids("Wine Glass, persons person's"),
              ElementsAreArray({4282, 4294, 13376, 4253, 4289, 4339}));
  EXPECT_THAT(Ids("Café naïve"), ElementsAreArray({7312, 26835}));
  EXPECT_THAT(Ids("v3=1000"), ElementsAreArray({4342, 4725, 4311, 13692}));
  EXPECT_THAT(Ids("v0=20.0"), ElementsAreArray({224, 4296, 4298}));
  EXPECT_THAT(Ids("v0=166 v1=250 v2=500 v3=749 person v0=899 v1=0 v2=999 v3=500 cat v0=233 "
                  "v1=899 v2=300 v3=949 wine glass"),
              ElementsAreArray({370, 1454, 2704, 3953, 4253, 1103, 1204, 3203, 3704, 4224, 437,
                                2103, 2504, 4153, 4282}));
  EXPECT_EQ(Tokenizer4m().TokenId("[EOS]"), 3);
  EXPECT_EQ(Tokenizer4m().TokenId("[S_3]"), 7);
  for (auto [word, id] : {std::pair{"none", 18109},
                          {"human", 6304},
                          {"pose", 8620},
                          {"global", 9292},
                          {"shape", 6631},
                          {"camera", 5585},
                          {"point", 6712},
                          {"polygon", 14445}}) {
    EXPECT_THAT(Ids(word), ElementsAreArray({id})) << word;
  }
}

// Step 3's word-run shortcut (class names looked up at word starts only) against the scan at
// every position, on strings built to catch it out: class names glued to words on either
// side, multi-word names whose first word ends another word ("xhot dog park": the rejected
// "hot dog" hides "dog park"), names inside names, odd spacing and case, punctuation,
// accents, CJK, coordinates. 4M's tokenizer, with single-word class names added whose ids
// differ from their words' (4M's own equal them, which would hide a difference).
TEST(WordPieceTokenizerTest, WordRunShortcutEqualsTheScanAtEveryPosition) {
  nlohmann::json json = nlohmann::json::parse(testing::ReadFile(testing::kTokenizer4m));
  int32_t id = 30000;
  for (const char* name :
       {"dog park", "park bench", "og pa", "ark", "bear cub", "b", "x y z", "shot"}) {
    json["added_tokens"].push_back({{"id", id++},
                                    {"content", name},
                                    {"single_word", true},
                                    {"lstrip", false},
                                    {"rstrip", false},
                                    {"normalized", true},
                                    {"special", true}});
  }
  absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> t =
      WordPieceTokenizer::FromJson(json.dump(), "extended");
  ASSERT_TRUE(t.ok()) << t.status();
  const std::vector<std::string> parts = {"baseball bat",
                                          "baseball",
                                          "bat",
                                          "hot dog",
                                          "dog",
                                          "hot",
                                          "shot",
                                          "teddy bear",
                                          "bear",
                                          "cub",
                                          "park",
                                          "bench",
                                          "dog park",
                                          "x",
                                          "y",
                                          "z",
                                          "b",
                                          "og",
                                          "pa",
                                          "cell phone",
                                          "phone",
                                          "traffic light",
                                          "stop sign",
                                          "wine glass",
                                          "glass",
                                          "person",
                                          "persons",
                                          "car",
                                          "cat",
                                          "a",
                                          "Dog",
                                          "HOT DOG",
                                          "café",
                                          "ø",
                                          "东京",
                                          "_",
                                          "-",
                                          ",",
                                          ".",
                                          "'",
                                          " ",
                                          " ",
                                          "  ",
                                          "\t",
                                          "v0=12",
                                          "[S_1]",
                                          "v3=1000",
                                          "sports ball",
                                          "ball",
                                          "dining table",
                                          "potted plant"};
  Rng rng(7);
  std::vector<int32_t> fast, full;
  int differing = 0, with_names = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const int n = 1 + static_cast<int>(rng.Below(8));
    for (int j = 0; j < n; ++j) {
      text += parts[rng.Below(static_cast<uint32_t>(parts.size()))];
      if (rng.Below(3) == 0) text += ' ';
    }
    fast.clear();
    full.clear();
    (*t)->Encode(text, &fast);
    (*t)->EncodeScanningEveryPosition(text, &full);
    if (fast != full && ++differing <= 5) ADD_FAILURE() << "\"" << text << "\"";
    with_names += std::count_if(fast.begin(), fast.end(), [](int32_t id) {
                    return id >= 30000 || (id >= 4204 && id < 4284);  // 4M's class names
                  }) > 0;
  }
  EXPECT_EQ(differing, 0);
  EXPECT_GT(with_names, 10000) << "most strings hold an accepted name";
  // The case the shortcut must hand to the scan: a name hidden by a rejected one.
  fast.clear();
  (*t)->Encode("xhot dog park", &fast);
  EXPECT_THAT(fast, ::testing::Not(::testing::Contains(30000)));
}

// Every string of the golden file gives HuggingFace `tokenizers`' ids (make_goldens.js).
TEST(WordPieceTokenizerTest, MatchesHuggingFaceOnTheGoldenCorpus) {
  const std::vector<testing::GoldenLine> goldens = testing::ReadTokenizerGoldens();
  ASSERT_FALSE(goldens.empty()) << testing::kTokenizerGoldens;
  size_t lines = 0, mismatches = 0;
  std::vector<int32_t> got;
  for (const testing::GoldenLine& line : goldens) {
    got.clear();
    Tokenizer4m().Encode(line.text, &got);
    ++lines;
    if (got != line.ids && ++mismatches <= 15) {
      ADD_FAILURE() << "text \"" << Printable(line.text) << "\"\n  want "
                    << ::testing::PrintToString(line.ids) << "\n  got  "
                    << ::testing::PrintToString(got);
    }
  }
  EXPECT_GE(lines, 20000u);
  EXPECT_EQ(mismatches, 0u) << "of " << lines << " strings";
}

TEST(WordPieceTokenizerTest, BadFilesAreNamedWithTheJsonPath) {
  struct Case {
    std::string json, text;
  } cases[] = {
      {"{", "not valid JSON"},
      {"[]", "not a JSON object"},
      {R"({"pre_tokenizer": {"type": "Whitespace"}})", "$.pre_tokenizer.type"},
      {R"({"normalizer": {"type": "NFC"}, "pre_tokenizer": {"type": "BertPreTokenizer"}})",
       "$.normalizer.type"},
      {R"({"pre_tokenizer": {"type": "BertPreTokenizer"}, "model": {"type": "BPE"}})",
       "$.model.type"},
      {R"({"pre_tokenizer": {"type": "BertPreTokenizer"}, "model": {"type": "WordPiece",
          "vocab": {"a": -1}}})",
       "$.model.vocab[\"a\"]"},
      {R"({"pre_tokenizer": {"type": "BertPreTokenizer"}, "model": {"type": "WordPiece",
          "vocab": {"a": 0}, "unk_token": "[UNK]"}})",
       "$.model.unk_token"},
      {R"({"post_processor": {"type": "BertProcessing"}})", "$.post_processor"},
      {R"({"normalizer": 5})", "$.normalizer.type"},
      {R"({"pre_tokenizer": {"type": "BertPreTokenizer"}, "model": {"type": "WordPiece",
          "vocab": {"[UNK]": 0}}, "added_tokens": [{"id": 0, "content": "x", "lstrip": true}]})",
       "$.added_tokens[0].lstrip"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> t =
        WordPieceTokenizer::FromJson(c.json, "tok.json");
    ASSERT_FALSE(t.ok()) << c.json;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(t.status()), HasSubstr("tok.json: "));
    EXPECT_THAT(Message(t.status()), HasSubstr(c.text)) << c.json;
  }
  EXPECT_EQ(WordPieceTokenizer::FromFile("/nonexistent/tok.json").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(WordPieceTokenizerTest, InvalidUtf8ReadsAsReplacementCharacters) {
  // U+FFFD is removed by clean_text: the bytes vanish, the words around them stay.
  EXPECT_EQ(Ids("person\xff\xfe dog"), Ids("person dog"));
  EXPECT_EQ(Ids("\xc3"), std::vector<int32_t>());
}

}  // namespace
}  // namespace maskfeed::text
