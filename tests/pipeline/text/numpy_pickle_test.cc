// The restricted reader of NumPy's object-array pickles, on pickles NumPy itself wrote
// (tests/data/pickles, made by make_pickles.py) in protocols 2, 3 and 4: every kind of value
// 4M's pickles hold comes back as written; a pickle that names any other global is refused
// without running it; damage and bombs are DATA_LOSS.
#include "pipeline/text/numpy_pickle.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/npy.h"
#include "tests/testing/test_util.h"

namespace maskfeed::text {
namespace {

using ::maskfeed::testing::Message;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Kind = PyObject::Kind;

// The pickle of tests/data/pickles/<name>: what follows the .npy header.
std::string PickleOf(const std::string& name) {
  const std::string file =
      testing::ReadFile(std::string(MASKFEED_SOURCE_DIR "/tests/data/pickles/") + name);
  absl::StatusOr<NpyHeader> header = ParseNpy(file);
  EXPECT_TRUE(header.ok()) << name << ": " << header.status();
  EXPECT_TRUE(header.ok() && header->object) << name;
  return header.ok() ? file.substr(header->data_offset) : "";
}

const PyObject& At(const PyObject& dict, std::string_view key) {
  const PyObject* value = dict.Get(key);
  EXPECT_NE(value, nullptr) << key;
  static const PyObject kMissing;
  return value != nullptr ? *value : kMissing;
}

class NumpyPickleTest : public ::testing::TestWithParam<int> {};

TEST_P(NumpyPickleTest, EveryKindOfValueComesBackAsWritten) {
  absl::StatusOr<PyRef> array = ReadNumpyPickle(PickleOf(StrCat("values_p", GetParam(), ".npy")));
  ASSERT_TRUE(array.ok()) << array.status();
  ASSERT_EQ((*array)->kind, Kind::kArray);
  EXPECT_EQ((*array)->text, "|O");
  EXPECT_THAT((*array)->shape, ElementsAre(1));
  ASSERT_EQ((*array)->items.size(), 1u);
  const PyObject& d = *(*array)->items[0];
  ASSERT_EQ(d.kind, Kind::kDict);
  std::vector<std::string> keys;
  for (const auto& [key, value] : d.entries) keys.push_back(key->text);
  EXPECT_THAT(keys, ElementsAre("none", "true", "small", "big", "real", "text", "raw", "list",
                                "tuple", "nested", "ints", "reals", "flags"))
      << "insertion order";
  EXPECT_EQ(At(d, "none").kind, Kind::kNone);
  EXPECT_EQ(At(d, "true").kind, Kind::kBool);
  EXPECT_EQ(At(d, "true").integer, 1);
  EXPECT_EQ(At(d, "small").integer, -7);
  EXPECT_EQ(At(d, "big").integer, (int64_t{1} << 40) + 3);
  EXPECT_EQ(At(d, "real").kind, Kind::kFloat);
  EXPECT_EQ(At(d, "real").real, 0.25);
  EXPECT_EQ(At(d, "text").kind, Kind::kStr);
  EXPECT_EQ(At(d, "text").text, "caf\xc3\xa9 \xe2\x9c\x93");
  EXPECT_EQ(At(d, "raw").kind, Kind::kBytes);
  EXPECT_EQ(At(d, "raw").text, std::string("\x00\xff"
                                           "bytes",
                                           7));
  const PyObject& list = At(d, "list");
  ASSERT_EQ(list.kind, Kind::kList);
  ASSERT_EQ(list.items.size(), 3u);
  EXPECT_EQ(list.items[0]->integer, 1);
  EXPECT_EQ(list.items[1]->text, "two");
  ASSERT_EQ(list.items[2]->kind, Kind::kList);
  EXPECT_EQ(list.items[2]->items[0]->real, 3.5);
  const PyObject& tuple = At(d, "tuple");
  ASSERT_EQ(tuple.kind, Kind::kTuple);
  ASSERT_EQ(tuple.items.size(), 2u);
  EXPECT_EQ(tuple.items[1]->integer, 5);
  const PyObject& nested = At(At(d, "nested"), "k");
  ASSERT_EQ(nested.kind, Kind::kTuple);
  EXPECT_EQ(nested.items[0]->kind, Kind::kNone);
  EXPECT_EQ(nested.items[1]->kind, Kind::kBool);
  EXPECT_EQ(nested.items[1]->integer, 0);
  const PyObject& ints = At(d, "ints");
  ASSERT_EQ(ints.kind, Kind::kArray);
  EXPECT_EQ(ints.text, "<i2");
  EXPECT_THAT(ints.shape, ElementsAre(2, 3));
  EXPECT_THAT(*ints.Ints(), ElementsAre(0, 1, 2, 3, 4, 5));
  EXPECT_THAT(*At(d, "reals").Reals(), ElementsAre(0.5, -1.5));
  EXPECT_THAT(*At(d, "flags").Ints(), ElementsAre(1, 0, 1));
  EXPECT_FALSE(At(d, "reals").Ints().ok()) << "floats are not integers";
}

INSTANTIATE_TEST_SUITE_P(Protocols, NumpyPickleTest, ::testing::Values(2, 3, 4));

// A pickle that would call os.system: refused at the global, nothing executed.
TEST(NumpyPickleRefusalTest, AnyOtherGlobalIsRefusedUnrun) {
  absl::StatusOr<PyRef> array = ReadNumpyPickle(PickleOf("hostile.npy"));
  ASSERT_EQ(array.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(array.status()), HasSubstr("global "));
  EXPECT_THAT(Message(array.status()), HasSubstr("system"));
}

TEST(NumpyPickleRefusalTest, DamageAndBombsAreDataLoss) {
  const std::string good = PickleOf("sam_p3.npy");
  for (size_t cut : {size_t{0}, size_t{1}, good.size() / 2, good.size() - 1}) {
    absl::StatusOr<PyRef> r = ReadNumpyPickle(good.substr(0, cut));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "cut at " << cut;
  }
  // Lists nested 1,000 deep: protocol 2, EMPTY_LIST then APPENDs closing them.
  std::string deep = "\x80\x02";
  for (int i = 0; i < 1000; ++i) deep += "]";
  for (int i = 0; i < 999; ++i) deep += "a";
  deep += ".";
  absl::StatusOr<PyRef> r = ReadNumpyPickle(deep);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(r.status()), HasSubstr("nesting deeper than 32"));
  // An opcode no NumPy pickle uses (PERSID) is named with its byte offset.
  r = ReadNumpyPickle(std::string("\x80\x02P1\n.", 6));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(r.status()), HasSubstr("pickle byte 2"));
}

}  // namespace
}  // namespace maskfeed::text
