#include "client/cpp/npz_writer.h"

#include <cstring>

#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

TEST(NpzWriterTest, Crc32IsZipsCrc) {
  EXPECT_EQ(Crc32Ieee("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(Crc32Ieee("", 0), 0u);
}

uint32_t Le32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}

TEST(NpzWriterTest, WritesAZipOfNpyMembers) {
  testing::TempDir dir;
  NpzWriter npz;
  const int32_t a[6] = {1, 2, 3, 4, 5, 6};
  const uint8_t b[2] = {0, 1};
  npz.Add("x/tensor", DType::kInt32, {2, 3}, a);
  npz.Add("m", DType::kUInt8, {2}, b);
  ASSERT_TRUE(npz.Write(dir / "a.npz").ok());
  const std::string zip = testing::ReadFile(dir / "a.npz");
  EXPECT_EQ(Le32(zip, 0), 0x04034b50u) << "a local file header first";
  const size_t end = zip.size() - 22;
  EXPECT_EQ(Le32(zip, end), 0x06054b50u) << "the end record last";
  EXPECT_EQ(zip.substr(30, 14), "x/tensor.npy\x93N") << "the name, then the .npy magic";
  EXPECT_FALSE(std::filesystem::exists(dir / "a.npz.tmp"));
  EXPECT_FALSE(npz.Write(dir / "missing-dir/a.npz").ok());
}

}  // namespace
}  // namespace maskfeed
