#include "pipeline/shard/npy.h"

#include <cstring>
#include <numeric>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::testing::HasSubstr;

// A .npy file with a hand-written header dict and format version.
std::string NpyWithHeader(int major, const std::string& dict, size_t data_bytes) {
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  std::string header = dict + "\n";
  if (major == 1) {
    uint16_t len = static_cast<uint16_t>(header.size());
    out.append(reinterpret_cast<char*>(&len), 2);
  } else {
    uint32_t len = static_cast<uint32_t>(header.size());
    out.append(reinterpret_cast<char*>(&len), 4);
  }
  out += header;
  out.append(data_bytes, '\x07');
  return out;
}

struct DTypeCase {
  DType dtype;
  Shape shape;
  friend void PrintTo(const DTypeCase& c, std::ostream* os) {
    *os << DTypeName(c.dtype) << c.shape.ToString();
  }
};

class NpyRoundTrip : public ::testing::TestWithParam<DTypeCase> {};

TEST_P(NpyRoundTrip, EncodeThenParseGivesTheSameArray) {
  const DTypeCase& c = GetParam();
  std::vector<uint8_t> data(static_cast<size_t>(c.shape.NumElements()) * ItemSize(c.dtype));
  std::iota(data.begin(), data.end(), 3);
  const std::string file = EncodeNpy(c.dtype, c.shape, data.data());
  // numpy pads the header so that the data starts on a 64-byte boundary.
  absl::StatusOr<NpyHeader> header = ParseNpy(file);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->data_offset % 64, 0u);
  EXPECT_EQ(header->dtype, c.dtype);
  EXPECT_EQ(header->shape, c.shape);
  ASSERT_EQ(header->data_bytes, data.size());
  EXPECT_EQ(file.substr(header->data_offset),
            std::string(reinterpret_cast<const char*>(data.data()), data.size()));
}

INSTANTIATE_TEST_SUITE_P(
    AllDTypes, NpyRoundTrip,
    ::testing::Values(DTypeCase{DType::kInt8, {7}}, DTypeCase{DType::kInt16, {4, 196}},
                      DTypeCase{DType::kInt32, {0}}, DTypeCase{DType::kInt64, {2, 3, 5}},
                      DTypeCase{DType::kUInt8, {1}}, DTypeCase{DType::kUInt16, {196}},
                      DTypeCase{DType::kUInt32, {3, 1}}, DTypeCase{DType::kFloat16, {77, 8}},
                      DTypeCase{DType::kFloat32, {2, 2, 2, 2, 2, 2, 2, 2}}));

TEST(NpyTest, ReadsVersions2And3AndUnusualSpacing) {
  for (int major : {2, 3}) {
    absl::StatusOr<NpyHeader> h = ParseNpy(
        NpyWithHeader(major, "{ \"shape\":(3,4L) , 'fortran_order' : False,'descr':'<u2'}", 24));
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->dtype, DType::kUInt16);
    EXPECT_EQ(h->shape, (Shape{3, 4}));
  }
}

TEST(NpyTest, SingleByteTypesAcceptAnyByteOrderMark) {
  absl::StatusOr<NpyHeader> h =
      ParseNpy(NpyWithHeader(1, "{'descr': '<i1', 'fortran_order': False, 'shape': (2,), }", 2));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->dtype, DType::kInt8);
}

// 4M's sam_instance is an object array: its header parses, and its data (a pickle) is whatever
// follows, read elsewhere.
TEST(NpyTest, ObjectArraysAreRecognisedWithTheirPickleAsData) {
  absl::StatusOr<NpyHeader> h =
      ParseNpy(NpyWithHeader(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(h->object);
  EXPECT_EQ(h->data_bytes, 16u);
}

struct BadCase {
  const char* name;
  std::string file;
  const char* expected;
  friend void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }
};

class NpyRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(NpyRejects, WithDataLossNamingTheProblem) {
  absl::StatusOr<NpyHeader> h = ParseNpy(GetParam().file);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(h.status()), HasSubstr(GetParam().expected));
}

const char* kGood = "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }";

INSTANTIATE_TEST_SUITE_P(
    Malformed, NpyRejects,
    ::testing::Values(
        BadCase{"magic", "\x93NUMPZ\x01\x00\x00\x00", "bad magic"},
        BadCase{"empty", "", "bad magic"},
        BadCase{"version", NpyWithHeader(4, kGood, 12), "version 4"},
        BadCase{"bigendian",
                NpyWithHeader(1, "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", 4),
                "unsupported .npy dtype '>i2'"},
        BadCase{"fortran",
                NpyWithHeader(1, "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }", 12),
                "Fortran order"},
        BadCase{"nokey", NpyWithHeader(1, "{'descr': '<i2', 'shape': (2,), }", 4), "missing"},
        BadCase{"badshape",
                NpyWithHeader(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (a,), }", 4),
                "non-integer"},
        BadCase{"notadict", NpyWithHeader(1, "['descr']", 4), "expected '{'"},
        BadCase{"truncated_data", NpyWithHeader(1, kGood, 11), "(truncated)"},
        BadCase{"extra_data", NpyWithHeader(1, kGood, 13), "holds 13"},
        BadCase{"truncated_header", NpyWithHeader(1, kGood, 12).substr(0, 30), "truncated"},
        BadCase{
            "unknown_key",
            NpyWithHeader(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), 'x': 1}", 4),
            "unexpected key 'x'"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

// Shapes whose byte count wraps 64 bits (or a signed 64-bit product) must not pass as a few
// bytes: (2^42, 2^20) float32 is 2^64 bytes, which wraps to 0.
TEST(NpyTest, ShapesWhoseSizeOverflowsAreRefused) {
  for (const char* shape : {"(4398046511104, 1048576)", "(4294967296, 4294967296)",
                            "(1099511627776, 1099511627776, 1099511627776)"}) {
    for (size_t data : {size_t{0}, size_t{16}}) {
      absl::StatusOr<NpyHeader> header = ParseNpy(NpyWithHeader(
          1, StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': ", shape, ", }"), data));
      ASSERT_FALSE(header.ok()) << shape;
      EXPECT_EQ(header.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_THAT(Message(header.status()), HasSubstr(shape));
    }
  }
}

TEST(NpyTest, BytesAfterTheHeaderDictAreRefused) {
  const std::string ok = "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }";
  EXPECT_TRUE(ParseNpy(NpyWithHeader(1, ok + "    ", 4)).ok()) << "numpy's padding";
  absl::StatusOr<NpyHeader> header = ParseNpy(NpyWithHeader(1, ok + " junk", 4));
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(header.status()), HasSubstr("after the closing '}'"));
}

}  // namespace
}  // namespace maskfeed
