// The text builders against the worked examples and invariants of docs/raw-modalities.md.
#include "pipeline/text/text_builders.h"

#include <map>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/text/wordpiece_tokenizer.h"
#include "tests/testing/metadata_keys.h"
#include "tests/testing/parsed_json.h"
#include "tests/testing/test_util.h"

namespace maskfeed::text {
namespace {

using ::maskfeed::testing::Message;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using ::maskfeed::testing::ParsedJson;

const WordPieceTokenizer& Tokenizer4m() {
  static const WordPieceTokenizer* t =
      WordPieceTokenizer::FromFile(MASKFEED_SOURCE_DIR
                                   "/tests/data/4m/text_tokenizer_4m_wordpiece_30k.json")
          ->release();
  return *t;
}

std::vector<int32_t> Ids(const std::string& text) {
  std::vector<int32_t> ids;
  Tokenizer4m().Encode(text, &ids);
  return ids;
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) words.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

const Json kDet = Json::parse(R"({"instances": [
  {"class_name": "person", "boxes": [0.25, 0.25, 0.5, 0.75], "score": 0.9},
  {"class_name": "wine glass", "boxes": [0, 0, 0.1, 0.2], "score": 0.95},
  {"class_name": "dog", "boxes": [0.5, 0.1, 0.9, 0.3], "score": 0.59},
  {"class_name": "cat", "boxes": [0.8, 0, 1, 0.5], "score": 0.6},
  {"class_name": "wine glass", "boxes": [0.3, 0.9, 0.35, 0.95], "score": 0.7}]})");
constexpr ImageSize k640x480{.height = 480, .width = 640};

// Invariant 7: the four strings of the det example and the ids of row 1.
TEST(DetTextTest, WorkedExample) {
  struct Case {
    CropWindow crop;
    std::string text;
  } cases[] = {
      {{0, 80, 480, 480, false},
       "v0=166 v1=250 v2=500 v3=749 person v0=899 v1=0 v2=999 v3=500 cat v0=233 v1=899 v2=300 "
       "v3=949 wine glass"},
      {{0, 80, 480, 480, true},
       "v0=0 v1=0 v2=100 v3=500 cat v0=500 v1=250 v2=832 v3=749 person v0=699 v1=899 v2=766 "
       "v3=949 wine glass"},
      {{120, 200, 240, 320, false}, "v0=0 v1=0 v2=375 v3=999 person v0=974 v1=0 v2=999 v3=500 cat"},
      {{120, 200, 240, 320, true}, "v0=0 v1=0 v2=25 v3=500 cat v0=624 v1=0 v2=999 v3=999 person"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> text = BuildDetText(ParsedJson(kDet), k640x480, c.crop);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, c.text);
  }
  EXPECT_THAT(Ids(cases[0].text), ElementsAreArray({370, 1454, 2704, 3953, 4253, 1103, 1204, 3203,
                                                    3704, 4224, 437, 2103, 2504, 4153, 4282}));
}

// Invariants 8-10 over random boxes and crops.
TEST(DetTextTest, RandomBoxesKeepTheInvariants) {
  Rng rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    Json det = {{"instances", Json::array()}};
    std::vector<double> scores;
    for (int i = rng.Between(0, 12); i > 0; --i) {
      double x0 = rng.Uniform(), y0 = rng.Uniform(), x1 = rng.Uniform(), y1 = rng.Uniform();
      const double score = rng.Uniform();
      det["instances"].push_back({{"class_name", rng.Below(2) ? "person" : "dog"},
                                  {"boxes", {x0, y0, x1, y1}},
                                  {"score", score}});
    }
    const double h = rng.Between(50, 480), w = rng.Between(50, 640);
    CropWindow crop{static_cast<double>(rng.Between(0, 480 - static_cast<int64_t>(h))),
                    static_cast<double>(rng.Between(0, 640 - static_cast<int64_t>(w))), h, w,
                    false};
    absl::StatusOr<std::string> plain = BuildDetText(ParsedJson(det), k640x480, crop);
    crop.flip = true;
    absl::StatusOr<std::string> flipped = BuildDetText(ParsedJson(det), k640x480, crop);
    ASSERT_TRUE(plain.ok() && flipped.ok());
    const std::vector<std::string> a = Words(*plain), b = Words(*flipped);
    ASSERT_EQ(a.size(), b.size()) << "flip keeps the same boxes";
    ASSERT_EQ(a.size() % 5, 0u);
    double last_key = -1;
    std::multiset<int> v0_plain, v2_flipped_mirror;
    for (size_t k = 0; k < a.size(); k += 5) {
      int v[4];
      for (int j = 0; j < 4; ++j) {
        ASSERT_EQ(a[k + j].substr(0, 3), StrCat("v", j, "="));
        v[j] = std::stoi(a[k + j].substr(3));
        EXPECT_GE(v[j], 0);
        EXPECT_LE(v[j], 999);
      }
      EXPECT_LE(v[0], v[2]);
      EXPECT_LE(v[1], v[3]);
      const double key = (v[0] / 999.0) * (v[0] / 999.0) + (v[1] / 999.0) * (v[1] / 999.0);
      EXPECT_GE(key, last_key - 1e-2) << "sorted by x0² + y0²";
      last_key = key;
      v0_plain.insert(v[2]);
      v2_flipped_mirror.insert(999 - std::stoi(b[k].substr(3)));
    }
    // |v0(flip) + v2(no flip) − 999| <= 1, box for box (as multisets: the order may change).
    auto it = v2_flipped_mirror.begin();
    for (int v2 : v0_plain) EXPECT_LE(std::abs(v2 - *it++), 1);
    for (const std::string& word : a) EXPECT_NE(word, "0.59");
    for (int32_t id : Ids(*plain)) {
      EXPECT_TRUE(id >= 204 && id <= 4283) << "COCO names and coordinates only: " << id;
    }
    EXPECT_EQ(Ids(*plain).size(), a.size() / 5 * 5);
  }
}

TEST(DetTextTest, MalformedInputNamesTheJsonPath) {
  struct Case {
    const char* json;
    const char* path;
  } cases[] = {
      {R"({})", "instances: missing"},
      {R"({"instances": 3})", "instances: not a list"},
      {R"({"instances": [{"boxes": [0,0,1,1], "score": 1}]})", "instances[0].class_name: missing"},
      {R"({"instances": [{"class_name": "x", "boxes": [0,0,1], "score": 1}]})",
       "instances[0].boxes: not [x0, y0, x1, y1]"},
      {R"({"instances": [{"class_name": "x", "boxes": [0,0,1,"a"], "score": 1}]})",
       "instances[0].boxes: not a number"},
      {R"({"instances": [{"class_name": 7, "boxes": [0,0,1,1], "score": 1}]})",
       "instances[0].class_name: not a string"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> text = BuildDetText(ParsedJson(c.json), k640x480, {0, 0, 480, 640});
    ASSERT_FALSE(text.ok()) << c.json;
    EXPECT_EQ(text.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(Message(text.status()), HasSubstr(c.path));
  }
}

// Invariant 13: the metadata example (order aside: it is shuffled).
TEST(MetadataTextTest, WorkedExampleAndShuffle) {
  const Json m = Json::parse(R"({"original_width": 640, "contrast": 130, "objectness": 0.999,
                                 "watermark_score": 0.5, "aesthetic_score": 5.49})");
  Rng rng(1);
  absl::StatusOr<std::vector<std::string>> chunks = BuildMetadataChunks(ParsedJson(m), rng);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  EXPECT_THAT(std::set<std::string>(chunks->begin(), chunks->end()),
              ElementsAre("v1=0 v0=20", "v1=11 v0=49", "v1=15 v0=48", "v1=19 v0=1", "v1=20 v0=1"));
  std::set<std::vector<std::string>> orders;
  for (int i = 0; i < 200; ++i) orders.insert(*BuildMetadataChunks(ParsedJson(m), rng));
  EXPECT_GT(orders.size(), 60u) << "the order is shuffled per draw (5! = 120 orders)";
}

TEST(MetadataTextTest, PrintingFollowsPython) {
  Rng rng(2);
  auto one = [&](const char* json) {
    absl::StatusOr<std::vector<std::string>> c = BuildMetadataChunks(ParsedJson(json), rng);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() && c->size() == 1 ? (*c)[0] : std::string("?");
  };
  EXPECT_EQ(one(R"({"original_width": 640.0})"), "v1=0 v0=20.0");  // float // 32 stays float
  EXPECT_EQ(one(R"({"original_height": 100000})"), "v1=1 v0=999");
  EXPECT_EQ(one(R"({"original_height": -33})"), "v1=1 v0=0");
  EXPECT_EQ(one(R"({"n_humans": 3})"), "v1=5 v0=3");
  EXPECT_EQ(one(R"({"n_humans": 2.5})"), "v1=5 v0=2.5");
  EXPECT_EQ(one(R"({"n_humans": 1e-05})"), "v1=5 v0=1e-05");
  EXPECT_EQ(one(R"({"entropy": 20})"), "v1=13 v0=49");
  EXPECT_EQ(one(R"({"entropy": -1})"), "v1=13 v0=0");
  EXPECT_EQ(one(R"({"aesthetic_score": 4.5})"), "v1=20 v0=1");
  EXPECT_EQ(PythonFloatRepr(20.0), "20.0");
  EXPECT_EQ(PythonFloatRepr(0.1), "0.1");
  EXPECT_EQ(PythonFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PythonFloatRepr(123456789.5), "123456789.5");
  EXPECT_EQ(PythonFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PythonFloatRepr(-2.5e-7), "-2.5e-07");
}

// Invariants 11 and 12 (with the tokenizer): two ids per chunk, 1204 + j then 204 + value.
TEST(MetadataTextTest, ChunksAreTwoIdsEach) {
  Json m;
  int j = 0;
  for (const char* key : testing::kMetadataKeys) {
    m[key] = 7 + j++;
  }
  Rng rng(3);
  absl::StatusOr<std::vector<std::string>> chunks = BuildMetadataChunks(ParsedJson(m), rng);
  ASSERT_TRUE(chunks.ok());
  ASSERT_EQ(chunks->size(), 21u);
  std::set<int32_t> types;
  for (const std::string& c : *chunks) {
    const std::vector<int32_t> ids = Ids(c);
    ASSERT_EQ(ids.size(), 2u) << c;
    EXPECT_GE(ids[0], 1204);
    EXPECT_LE(ids[0], 1224);
    EXPECT_TRUE(types.insert(ids[0]).second) << "no type repeats";
    EXPECT_EQ(ids[1], 204 + std::stoi(c.substr(c.find("v0=") + 3)));
  }
  EXPECT_EQ(BuildMetadataChunks(ParsedJson(R"({"nope": 1})"), rng).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(BuildMetadataChunks(ParsedJson(R"({"nope": 1})"), rng).status()),
              HasSubstr("nope: not a 4M metadata key"));
  EXPECT_THAT(Message(BuildMetadataChunks(ParsedJson(R"({"n_humans": "3"})"), rng).status()),
              HasSubstr("n_humans: not a number"));
}

// The palette rules and invariant 14.
TEST(PaletteTextTest, ExampleAndUniformK) {
  Json palette = Json::array({Json::object()});
  for (int k = 1; k <= 7; ++k) {
    Json colours = Json::array();
    for (int c = 0; c < k; ++c) colours.push_back({12.5 + c, 13.5, 255.0});
    palette[0][std::to_string(k)] = colours;
  }
  Rng rng(4);
  std::map<int, int> seen;
  for (int i = 0; i < 7000; ++i) {
    absl::StatusOr<std::string> text = BuildPaletteText(ParsedJson(palette), rng);
    ASSERT_TRUE(text.ok()) << text.status();
    const std::vector<std::string> words = Words(*text);
    const int k = std::stoi(words[0].substr(3));
    ++seen[k];
    ASSERT_EQ(words.size(), 1u + 3 * k);
    EXPECT_LE(Ids(*text).size() + 1, 23u) << "never truncated with EOS";
    if (k == 1) {
      EXPECT_EQ(*text, "v1=1 v0=12 v0=14 v0=255");
    }
  }
  ASSERT_EQ(seen.size(), 7u);
  for (auto [k, n] : seen) EXPECT_NEAR(n, 1000, 150) << "k = " << k;
  palette[0].erase("5");
  EXPECT_THAT(Message(BuildPaletteText(ParsedJson(palette), rng).status()),
              HasSubstr("[0][\"5\"]: missing"));
}

Json OnePerson(const Json& bbox) {
  return Json{{"bbox_xyxy", {bbox}},
              {"pred_smpl_params",
               {{"global_orient", {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}},
                {"betas", {{0, 1, -1, 3, -3, 0.5, 2, -2, 4, -4}}},
                {"body_pose", {{0.1, 0.2}}}}},
              {"pose_tokenized", {{0, 1, 511, 512, 513, 1023, 100, 600}}},
              {"pred_cam", {{-2, 0, 19.5}}}};
}

// The human_poses example and invariants 15-17.
TEST(PoseTextTest, WorkedExampleGroupsAndNoFlip) {
  const Json poses = OnePerson({160.0, 120.0, 320.0, 480.0});
  Rng rng(6);
  std::set<std::string> orders;
  for (bool flip : {false, true}) {
    for (int i = 0; i < 50; ++i) {
      absl::StatusOr<std::string> text =
          BuildPoseText(ParsedJson(poses), k640x480, {0, 80, 480, 480, flip}, rng);
      ASSERT_TRUE(text.ok()) << text.status();
      EXPECT_EQ(text->back(), ' ') << "each person ends with a space";
      EXPECT_THAT(*text, ::testing::StartsWith("human v0=166 v1=250 v2=500 v3=999 "));
      EXPECT_THAT(*text, HasSubstr("pose v0=0 v0=1 v0=511 v1=0 v1=1 v1=511 v0=100 v1=88"));
      EXPECT_THAT(*text, HasSubstr("global v0=999 v0=500 v0=500 v0=500 v0=999 v0=500 v0=500 "
                                   "v0=500 v0=999"));
      EXPECT_THAT(*text, HasSubstr("shape v0=500 v0=666 v0=333 v0=999 v0=0 v0=583 v0=832 "
                                   "v0=166 v0=1166 v0=-166"));
      EXPECT_THAT(*text, HasSubstr("camera v0=0 v0=50 v0=999"));
      EXPECT_EQ(Words(*text).size(), 39u);
      std::string order;
      for (const std::string& w : Words(*text)) {
        if (w == "pose" || w == "global" || w == "camera" || w == "shape") order += w[0];
      }
      orders.insert(order);
    }
  }
  EXPECT_GT(orders.size(), 12u) << "the four groups come in a random order per person";
  EXPECT_EQ(*BuildPoseText(ParsedJson(Json::object()), k640x480, {0, 80, 480, 480}, rng), "none");
  EXPECT_EQ(*BuildPoseText(ParsedJson(OnePerson({0.0, 0.0, 50.0, 50.0})), k640x480,
                           {0, 80, 480, 480}, rng),
            "none")
      << "both x's left of the crop";
}

TEST(PoseTextTest, MalformedInputNamesTheJsonPath) {
  Rng rng(7);
  Json bad = OnePerson({160.0, 120.0, 320.0, 480.0});
  bad["pred_cam"] = {{1, 2}};
  EXPECT_THAT(Message(BuildPoseText(ParsedJson(bad), k640x480, {0, 80, 480, 480}, rng).status()),
              HasSubstr("pred_cam[0]: holds 2 numbers, not 3"));
  bad = OnePerson({160.0, 120.0, 320.0, 480.0});
  bad["pred_smpl_params"]["body_pose"] = {{"x"}};
  EXPECT_THAT(Message(BuildPoseText(ParsedJson(bad), k640x480, {0, 80, 480, 480}, rng).status()),
              HasSubstr("pred_smpl_params.body_pose: not a number"));
  bad = OnePerson({160.0, 120.0, 320.0, 480.0});
  bad["pose_tokenized"] = {{0, 1, 2, 3, 4, 5, 6, 1024}};
  EXPECT_THAT(Message(BuildPoseText(ParsedJson(bad), k640x480, {0, 80, 480, 480}, rng).status()),
              HasSubstr("pose_tokenized[0]: codes must be integers 0..1023"));
}

}  // namespace
}  // namespace maskfeed::text
