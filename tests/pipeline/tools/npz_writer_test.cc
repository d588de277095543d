#include "pipeline/tools/npz_writer.h"

#include <sys/mman.h>
#include <zlib.h>

#include <cstring>

#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

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
  // The member's CRC-32 and sizes describe the bytes that follow its header.
  const uint32_t size = Le32(zip, 18);
  ASSERT_EQ(size, Le32(zip, 22));
  const std::string member = zip.substr(30 + 12, size);
  EXPECT_EQ(Le32(zip, 14), crc32(0, reinterpret_cast<const Bytef*>(member.data()), size));
  EXPECT_EQ(std::memcmp(member.data() + member.size() - sizeof(a), a, sizeof(a)), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.npz.tmp"));
}

TEST(NpzWriterTest, AFailedWriteLeavesNothingBehind) {
  testing::TempDir dir;
  NpzWriter npz;
  const uint8_t b[2] = {0, 1};
  npz.Add("m", DType::kUInt8, {2}, b);
  EXPECT_FALSE(npz.Write(dir / "missing-dir/a.npz").ok());
  EXPECT_FALSE(std::filesystem::exists(dir / "missing-dir"));
}

TEST(NpzWriterTest, RefusesMoreMembersThanZipHolds) {
  testing::TempDir dir;
  NpzWriter npz;
  for (size_t i = 0; i <= NpzWriter::kMaxMembers; ++i) {
    npz.Add("m" + std::to_string(i), DType::kUInt8, {0}, nullptr);
  }
  const absl::Status s = npz.Write(dir / "many.npz");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(std::string(s.message()).find("65535"), std::string::npos) << s;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(NpzWriterTest, RefusesArchivesPastFourGiBBeforeWriting) {
  // 4.5 GiB of address space that is never touched: the writer must refuse before reading it.
  const size_t bytes = (size_t{9} << 29);
  void* big = ::mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(big, MAP_FAILED);
  testing::TempDir dir;
  for (bool split : {false, true}) {
    NpzWriter npz;
    if (split) {  // members below 4 GiB each, the third one starting past 4 GiB
      for (const char* name : {"a", "b", "c"}) {
        npz.Add(name, DType::kUInt8, {int64_t{2} << 30}, big);
      }
    } else {
      npz.Add("a", DType::kUInt8, {static_cast<int64_t>(bytes)}, big);
    }
    const absl::Status s = npz.Write(dir / "big.npz");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(std::string(s.message()).find("4 GiB"), std::string::npos) << s;
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  }
  ::munmap(big, bytes);
}

}  // namespace
}  // namespace maskfeed
