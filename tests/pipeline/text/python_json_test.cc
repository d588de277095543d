// JSON as Python reads it, gzip members, and caption selection (docs/raw-modalities.md#members,
// #caption).
#include "pipeline/text/python_json.h"

#include <zlib.h>

#include <cmath>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/text/json_values.h"
#include "pipeline/text/text_builders.h"
#include "tests/testing/parsed_json.h"
#include "tests/testing/test_util.h"

namespace maskfeed::text {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::ParsedJson;
using ::testing::HasSubstr;

std::string Gzip(std::string_view data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(PythonJsonTest, AcceptsPythonsLiteralsOutsideStrings) {
  PythonJsonParser parser;
  absl::StatusOr<JsonValue> j =
      parser.Parse(R"({"a": NaN, "b": [Infinity, -Infinity, 1], "c": "NaN stays text"})");
  ASSERT_TRUE(j.ok()) << j.status();
  absl::StatusOr<PyNumber> a = NumberAt(*Field(*j, "a"), "a");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(std::isnan(a->value()));
  absl::StatusOr<std::vector<double>> b = FlatNumbers(*Field(*j, "b"), "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0], INFINITY);
  EXPECT_EQ((*b)[1], -INFINITY);
  EXPECT_EQ(Field(*j, "c")->get_string().value(), "NaN stays text");
  EXPECT_FALSE(NumberAt(*Field(*j, "c"), "c").ok());
}

TEST(PythonJsonTest, ReadsDictsAsPythonDoes) {
  PythonJsonParser parser;
  absl::StatusOr<JsonValue> j = parser.Parse(R"({"b": 1, "a": 2, "b": 3, "s": "\u00e9\u0000x"})");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(NumberAt(*Field(*j, "b"), "b")->i, 3) << "the last duplicate wins";
  EXPECT_FALSE(Field(*j, "c").has_value());
  std::vector<std::string> keys;
  for (const auto& [key, value] : Items(*j)) keys.emplace_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "a", "s"})) << "insertion order, not sorted";
  EXPECT_EQ(NumberAt(Items(*j)[0].second, "b")->i, 3);
  EXPECT_EQ(Field(*j, "s")->get_string().value(), std::string_view("\xc3\xa9\0x", 4));
  // A value outlives a failed parse? No promise; but a new parse gives new values.
  ASSERT_TRUE(parser.Parse("[true, 2.5, 18446744073709551615]").ok());
  const std::vector<JsonValue> list = Elements(*parser.Parse("[true, 2.5, 18446744073709551615]"));
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(NumberAt(list[0], "0")->i, 1) << "bool is an int";
  EXPECT_EQ(NumberAt(list[1], "1")->f, 2.5);
  EXPECT_EQ(NumberAt(list[2], "2")->f, 18446744073709551615.0);
  EXPECT_THAT(Message(NumberAt(*parser.Parse("null"), "x").status()),
              HasSubstr("x: not a number (None)"));
}

TEST(PythonJsonTest, ErrorsSayWhere) {
  PythonJsonParser parser;
  absl::Status bad = parser.Parse("{\n  \"a\": [1, 2,\n}").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(bad), HasSubstr("line 3"));
  EXPECT_THAT(Message(parser.Parse("\"caf\xe9\"").status()), HasSubstr("invalid UTF-8 at byte 4"));
  EXPECT_FALSE(parser.Parse("nan").ok()) << "Python's literal is NaN, not nan";
  EXPECT_THAT(Message(parser.Parse("[NaN, nan]").status()), HasSubstr("line 1"));
  EXPECT_FALSE(parser.Parse("[1] x").ok()) << "trailing bytes";
  EXPECT_FALSE(parser.Parse("").ok());
  // A number past a double made nlohmann-json throw out_of_range (found by raw_json_fuzzer).
  EXPECT_EQ(parser.Parse("[" + std::string(480, '8')).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(parser.Parse("[1e999]").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(parser.Parse("[" + std::string(30, '9') + "]").status()),
              HasSubstr("invalid JSON: "))
      << "valid JSON, past 64 bits: named, not a crash";
  EXPECT_EQ(parser.Parse(std::string(5000, '[') + std::string(5000, ']')).status().code(),
            absl::StatusCode::kDataLoss);
  ASSERT_TRUE(parser.Parse("[1]").ok()) << "the parser is reusable after errors";
}

TEST(PythonJsonTest, GunzipRoundTripsAndRefusesBadInput) {
  const std::string text = R"(["a caption", {"caption": "another"}])";
  absl::StatusOr<std::string> back = Gunzip(Gzip(text), kMaxJsonBytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, text);
  absl::StatusOr<std::string> two = Gunzip(Gzip("ab") + Gzip("cd"), kMaxJsonBytes);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, "abcd") << "concatenated members";
  const std::string gz = Gzip(text);
  EXPECT_THAT(Message(Gunzip(gz.substr(0, gz.size() - 6), kMaxJsonBytes).status()),
              HasSubstr("truncated"));
  std::string corrupt = gz;
  corrupt[12] ^= 0x55;
  EXPECT_EQ(Gunzip(corrupt, kMaxJsonBytes).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(Gunzip(Gzip(std::string(1 << 20, 'x')), 1000).status()),
              HasSubstr("more than 1000 bytes"))
      << "a decompression bomb is refused";
}

TEST(CaptionTest, StructuresOfSection2_3) {
  Rng rng(1);
  EXPECT_EQ(*CaptionFromTxt("A dog.\n"), "A dog.\n");
  EXPECT_EQ(CaptionFromTxt("caf\xe9").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(*SelectCaption(ParsedJson("\"plain\""), 2, 4, true, rng), "plain");
  EXPECT_EQ(*SelectCaption(ParsedJson(R"({"caption": "obj"})"), 2, 4, true, rng), "obj");
  const JsonValue list = ParsedJson(R"(["c0", {"caption": "c1"}, "c2", "c3"])");
  EXPECT_EQ(*SelectCaption(list, 1, 4, true, rng), "c1");
  EXPECT_EQ(*SelectCaption(list, 3, 4, true, rng), "c3");
  EXPECT_EQ(*SelectCaption(list, -1, 0, true, rng), "c0") << "no crop settings: element 0";
  std::set<std::string_view> drawn;
  for (int i = 0; i < 100; ++i) drawn.insert(*SelectCaption(list, 0, 4, false, rng));
  EXPECT_EQ(drawn.size(), 4u) << "unaligned: a uniform element";
  absl::Status short_list = SelectCaption(list, 0, 6, true, rng).status();
  EXPECT_EQ(short_list.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(short_list), HasSubstr("4 elements but the sample has 6 crop variants"));
  EXPECT_THAT(Message(SelectCaption(ParsedJson(R"([{"text": "x"}])"), 0, 1, true, rng).status()),
              HasSubstr("[0].caption: missing"));
  EXPECT_THAT(Message(SelectCaption(ParsedJson("3"), 0, 1, true, rng).status()),
              HasSubstr("not a caption string"));
}

}  // namespace
}  // namespace maskfeed::text
