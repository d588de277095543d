// The sam_instance text builder alone, on entries NumPy pickled in 4M's layout
// (tests/data/pickles/sam_p*.npy: a square over the whole 224x224 crop and a triangle): each
// query point lists exactly the instances whose first contour holds it (its boundary
// included), each with its box and token ids; the text is a function of the generator; what
// does not fit 4M's layout is DATA_LOSS naming the field.
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/random.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/npy.h"
#include "pipeline/text/numpy_pickle.h"
#include "pipeline/text/text_builders.h"
#include "tests/testing/test_util.h"

namespace maskfeed::text {
namespace {

using ::maskfeed::testing::Message;
using ::testing::HasSubstr;

// Crop variant `crop`'s entry of tests/data/pickles/<name>.
PyObject Entry(const std::string& name, int crop) {
  const std::string file =
      testing::ReadFile(std::string(MASKFEED_SOURCE_DIR "/tests/data/pickles/") + name);
  absl::StatusOr<NpyHeader> header = ParseNpy(file);
  EXPECT_TRUE(header.ok()) << header.status();
  absl::StatusOr<PyRef> array = ReadNumpyPickle(file.substr(header.ok() ? header->data_offset : 0));
  EXPECT_TRUE(array.ok()) << array.status();
  return array.ok() ? *(*array)->items.at(static_cast<size_t>(crop)) : PyObject();
}

// Inside or on the triangle (10,10), (150,10), (10,150): integer cross products.
bool InTriangle(int64_t x, int64_t y) {
  const int64_t t[3][2] = {{10, 10}, {150, 10}, {10, 150}};
  bool neg = false, pos = false;
  for (int i = 0; i < 3; ++i) {
    const int64_t* a = t[i];
    const int64_t* b = t[(i + 1) % 3];
    const int64_t c = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
    neg |= c < 0;
    pos |= c > 0;
  }
  return !(neg && pos);
}

struct PointBlock {
  int64_t x = 0, y = 0;
  std::vector<std::vector<std::string>> instances;  // the words after each "polygon"
};

// "point v0=Y v1=X (none | polygon w...)..." into blocks; a malformed text fails the test.
std::vector<PointBlock> Parse(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  std::vector<PointBlock> blocks;
  for (size_t i = 0; i < words.size();) {
    EXPECT_EQ(words[i], "point") << text;
    if (words[i] != "point" || i + 2 >= words.size()) return blocks;
    PointBlock b;
    b.y = std::stoll(words[i + 1].substr(3));
    b.x = std::stoll(words[i + 2].substr(3));
    i += 3;
    if (i < words.size() && words[i] == "none") {
      ++i;
    } else {
      while (i < words.size() && words[i] == "polygon") {
        b.instances.emplace_back(
            words.begin() + static_cast<ptrdiff_t>(i) + 1,
            words.begin() + static_cast<ptrdiff_t>(std::min(i + 21, words.size())));
        i += 21;  // 4 box values and 16 token ids
      }
    }
    blocks.push_back(std::move(b));
  }
  return blocks;
}

TEST(SamTextTest, EachPointListsTheInstancesHoldingIt) {
  int points = 0, in_triangle = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const int crop = static_cast<int>(seed % 2);
    Rng rng(seed);
    absl::StatusOr<std::string> text = BuildSamText(Entry("sam_p3.npy", crop), rng);
    ASSERT_TRUE(text.ok()) << text.status();
    const std::vector<PointBlock> blocks = Parse(*text);
    ASSERT_GE(blocks.size(), 1u);
    ASSERT_LE(blocks.size(), 7u);
    for (const PointBlock& b : blocks) {
      ASSERT_GE(b.x, 0);
      ASSERT_LT(b.x, 224);
      ASSERT_GE(b.y, 0);
      ASSERT_LT(b.y, 224);
      const bool triangle = InTriangle(b.x, b.y);
      ASSERT_EQ(b.instances.size(), triangle ? 2u : 1u) << "(" << b.x << ", " << b.y << ")";
      for (const std::vector<std::string>& words : b.instances) {
        ASSERT_EQ(words.size(), 20u);
        // Which instance, by its box: (xmin, ymin, xmax, ymax), truncated.
        const bool square = words[0] == "v0=0";
        const std::vector<std::string> box =
            square ? std::vector<std::string>{"v0=0", "v1=0", "v2=223", "v3=223"}
                   : std::vector<std::string>{"v0=10", "v1=10", "v2=150", "v3=150"};
        EXPECT_EQ(std::vector<std::string>(words.begin(), words.begin() + 4), box);
        for (int k = 0; k < 16; ++k) {  // the instance's ids: (16 i + k) * 30 + crop
          const int64_t id = (16 * (square ? 0 : 1) + k) * 30 + crop;
          EXPECT_EQ(words[4 + k], id < 512 ? StrCat("v0=", id) : StrCat("v1=", id - 512));
        }
      }
      ++points;
      in_triangle += triangle;
    }
  }
  EXPECT_GT(points, 200);
  EXPECT_GT(in_triangle, 20) << "the triangle holds about a fifth of the crop";
}

TEST(SamTextTest, TheTextIsAFunctionOfTheGeneratorWhateverTheProtocol) {
  std::vector<std::string> texts;
  for (const char* name : {"sam_p2.npy", "sam_p3.npy", "sam_p4.npy"}) {
    Rng rng(17);
    absl::StatusOr<std::string> text = BuildSamText(Entry(name, 1), rng);
    ASSERT_TRUE(text.ok()) << name << ": " << text.status();
    texts.push_back(*text);
  }
  EXPECT_EQ(texts[0], texts[1]);
  EXPECT_EQ(texts[1], texts[2]);
  Rng other(18);
  EXPECT_NE(*BuildSamText(Entry("sam_p3.npy", 1), other), texts[0]);
}

TEST(SamTextTest, EntriesThatDoNotFitAreDataLossNamingTheField) {
  const PyObject good = Entry("sam_p3.npy", 0);
  auto without = [&](std::string_view key) {
    PyObject e = good;
    std::erase_if(e.entries, [&](const auto& kv) { return kv.first->text == key; });
    return e;
  };
  PyObject one_contour = good;  // one instance in points, two in token_ids and bbox
  for (auto& [key, value] : one_contour.entries) {
    if (key->text != "points") continue;
    PyObject fewer = *value;
    fewer.items.resize(1);
    value = std::make_shared<const PyObject>(std::move(fewer));
  }
  struct Case {
    PyObject entry;
    std::string message;
  } cases[] = {
      {without("token_ids"), "entry: needs points, token_ids and bbox"},
      {one_contour, "entry: 1 instances in points but token_ids is (2, 16) and bbox (2, 4)"},
      {PyObject(), "entry: not a dict"},
  };
  for (const Case& c : cases) {
    Rng rng(1);
    absl::StatusOr<std::string> text = BuildSamText(c.entry, rng);
    EXPECT_EQ(text.status().code(), absl::StatusCode::kDataLoss) << c.message;
    EXPECT_THAT(Message(text.status()), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace maskfeed::text
