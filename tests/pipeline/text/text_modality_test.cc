// TextModality: raw members to ids. det's direct coordinate ids must equal tokenizing the
// whole det text with 4M's tokenizer, whatever the class names hold.
#include "pipeline/text/text_modality.h"

#include <cstring>

#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "tests/testing/tokenizer_goldens.h"

namespace maskfeed::text {
namespace {

Record RawJson(const std::string& json) {
  Record r;
  r.kind = RecordKind::kJson;
  r.dtype = DType::kUInt8;
  r.shape = Shape{static_cast<int64_t>(json.size())};
  r.data.resize(json.size());
  if (!json.empty()) std::memcpy(r.data.data(), json.data(), json.size());
  return r;
}

std::vector<int32_t> Ids(const Record& r) {
  const auto ids = r.as<int32_t>();
  return {ids.begin(), ids.end()};
}

TEST(TextModalityTest, DetDirectIdsEqualTokenizingTheWholeText) {
  absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> t =
      WordPieceTokenizer::FromFile(testing::kTokenizer4m);
  ASSERT_TRUE(t.ok()) << t.status();
  const TextModality direct(TextBuilder::kDet, t->get(), {.det_direct_ids = true});
  const TextModality text(TextBuilder::kDet, t->get(), {.det_direct_ids = false});
  // Class names as 4M's data has them and as hostile data might: odd case and spacing,
  // special strings, punctuation, CJK, and the golden strings.
  std::vector<std::string> names = {
      "person", "wine glass", "Wine Glass", "wine  glass", "persons",  "person's",
      "v0=5",   "v3=1000",    "[EOS]",      "[S_3]x",      "",         " cat ",
      "=",      "猫 dog",     "cat\tdog",   "x v0=1",      "hot dog.", "é"};
  const std::vector<testing::GoldenLine> goldens = testing::ReadTokenizerGoldens();
  ASSERT_GT(goldens.size(), 400u);
  for (size_t i = 0; i < 400; ++i) names.push_back(goldens[i * 37 % goldens.size()].text);
  Rng rng(7);
  Record a, b;
  TextScratch scratch;
  size_t boxes = 0;
  for (size_t n = 0; n < names.size(); ++n) {
    nlohmann::json instances = nlohmann::json::array();
    for (int k = 0; k < 4; ++k) {
      const double x0 = rng.Uniform(), y0 = rng.Uniform();
      instances.push_back({{"boxes", {x0, y0, x0 + rng.Uniform(), y0 + rng.Uniform()}},
                           {"class_name", names[(n + k * 7) % names.size()]},
                           {"score", 0.5 + rng.Uniform()}});
    }
    const Record raw = RawJson(nlohmann::json{{"instances", instances}}.dump());
    SampleCrop crop;
    crop.has_window = true;
    crop.window = {.top = 10, .left = 40, .height = 300, .width = 320, .flip = n % 2 == 1};
    crop.orig = ImageSize{.height = 400, .width = 500};
    ASSERT_TRUE(direct.Build(raw, crop, rng, &scratch, &a).ok());
    ASSERT_TRUE(text.Build(raw, crop, rng, &scratch, &b).ok());
    ASSERT_EQ(Ids(a), Ids(b)) << names[n];
    boxes += Ids(a).size() > 0;
  }
  EXPECT_GT(boxes, names.size() / 2);
}

}  // namespace
}  // namespace maskfeed::text
