// JSON as Python reads it, gzip members, and caption selection (4m-raw-data §2.2, §2.3, §4.1).
#include "pipeline/text/python_json.h"

#include <zlib.h>

#include <cmath>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/text/json_values.h"
#include "pipeline/text/text_builders.h"
#include "tests/testing/test_util.h"

namespace maskfeed::text {
namespace {

using ::maskfeed::testing::Message;
using ::testing::HasSubstr;
using Json = nlohmann::json;

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
  absl::StatusOr<Json> j =
      ParsePythonJson(R"({"a": NaN, "b": [Infinity, -Infinity, 1], "c": "NaN stays text"})");
  ASSERT_TRUE(j.ok()) << j.status();
  absl::StatusOr<PyNumber> a = NumberAt((*j)["a"], "a");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(std::isnan(a->value()));
  absl::StatusOr<std::vector<double>> b = FlatNumbers((*j)["b"], "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0], INFINITY);
  EXPECT_EQ((*b)[1], -INFINITY);
  EXPECT_EQ((*j)["c"], "NaN stays text");
  EXPECT_FALSE(NumberAt((*j)["c"], "c").ok());
}

TEST(PythonJsonTest, ErrorsSayWhere) {
  absl::Status bad = ParsePythonJson("{\n  \"a\": [1, 2,\n}").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(bad), HasSubstr("line 3"));
  EXPECT_THAT(Message(ParsePythonJson("\"caf\xe9\"").status()),
              HasSubstr("invalid UTF-8 at byte 4"));
  EXPECT_FALSE(ParsePythonJson("nan").ok()) << "Python's literal is NaN, not nan";
  // A number past a double made nlohmann-json throw out_of_range (found by raw_json_fuzzer).
  EXPECT_EQ(ParsePythonJson("[" + std::string(480, '8')).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParsePythonJson("[1e999]").status().code(), absl::StatusCode::kDataLoss);
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
  EXPECT_EQ(*SelectCaption(Json("plain"), 2, 4, true, rng), "plain");
  EXPECT_EQ(*SelectCaption(Json{{"caption", "obj"}}, 2, 4, true, rng), "obj");
  const Json list = Json::parse(R"(["c0", {"caption": "c1"}, "c2", "c3"])");
  EXPECT_EQ(*SelectCaption(list, 1, 4, true, rng), "c1");
  EXPECT_EQ(*SelectCaption(list, 3, 4, true, rng), "c3");
  EXPECT_EQ(*SelectCaption(list, -1, 0, true, rng), "c0") << "no crop settings: element 0";
  std::set<std::string> drawn;
  for (int i = 0; i < 100; ++i) drawn.insert(*SelectCaption(list, 0, 4, false, rng));
  EXPECT_EQ(drawn.size(), 4u) << "unaligned: a uniform element";
  absl::Status short_list = SelectCaption(list, 0, 6, true, rng).status();
  EXPECT_EQ(short_list.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(short_list), HasSubstr("4 elements but the sample has 6 crop variants"));
  EXPECT_THAT(Message(SelectCaption(Json::parse(R"([{"text": "x"}])"), 0, 1, true, rng).status()),
              HasSubstr("[0].caption: missing"));
  EXPECT_THAT(Message(SelectCaption(Json(3), 0, 1, true, rng).status()),
              HasSubstr("not a caption string"));
}

}  // namespace
}  // namespace maskfeed::text
