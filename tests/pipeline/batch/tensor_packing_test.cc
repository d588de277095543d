#include "pipeline/batch/tensor_packing.h"

#include <cstring>
#include <random>

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

HostTensor MakeTensor(DType dtype, std::vector<int64_t> shape) {
  HostTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  int64_t n = 1;
  for (int64_t d : t.shape) n *= d;
  t.data = Buffer(static_cast<size_t>(n) * ItemSize(dtype));
  return t;
}

TEST(TensorPackingTest, BitsRoundTripForEveryRowLength) {
  std::mt19937 rng(1);
  for (int64_t cols = 1; cols <= 40; ++cols) {
    HostTensor mask = MakeTensor(DType::kUInt8, {3, cols});
    for (int64_t i = 0; i < 3 * cols; ++i) mask.as<uint8_t>()[i] = rng() & 1;
    std::optional<std::string> packed = PackBits(mask);
    ASSERT_TRUE(packed.has_value());
    EXPECT_EQ(packed->size(), static_cast<size_t>(3 * ((cols + 7) / 8)));
    std::vector<uint8_t> back(static_cast<size_t>(3 * cols), 9);
    ASSERT_TRUE(UnpackBits(*packed, AsMatrix(mask), back.data()).ok());
    EXPECT_EQ(std::memcmp(back.data(), mask.data.data(), back.size()), 0) << "cols " << cols;
  }
}

TEST(TensorPackingTest, BitsUseLittleEndianBitOrderPerRow) {
  HostTensor mask = MakeTensor(DType::kUInt8, {2, 9});
  const uint8_t values[] = {1, 0, 0, 0, 0, 0, 0, 1, 1, /**/ 0, 1, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(mask.data.data(), values, sizeof(values));
  std::optional<std::string> packed = PackBits(mask);
  ASSERT_TRUE(packed.has_value());
  EXPECT_EQ(*packed, std::string("\x81\x01\x02\x00", 4));
}

TEST(TensorPackingTest, NonBinaryMasksStayPlain) {
  for (int64_t at : {0, 7, 12}) {  // inside the 8-byte blocks and in the tail
    HostTensor mask = MakeTensor(DType::kUInt8, {1, 13});
    std::memset(mask.data.data(), 1, 13);
    mask.as<uint8_t>()[at] = 2;
    EXPECT_FALSE(PackBits(mask).has_value()) << at;
  }
  EXPECT_FALSE(PackBits(MakeTensor(DType::kInt32, {1, 4})).has_value());
}

TEST(TensorPackingTest, Uint16RoundTripAndRangeCheck) {
  for (DType dtype : {DType::kInt32, DType::kInt64}) {
    HostTensor ids = MakeTensor(dtype, {2, 5});
    const bool wide = dtype == DType::kInt64;
    for (int i = 0; i < 10; ++i) {
      const int64_t v = i * 7000;  // up to 63000
      if (wide)
        ids.as<int64_t>()[i] = v;
      else
        ids.as<int32_t>()[i] = static_cast<int32_t>(v);
    }
    std::optional<std::string> packed = PackUint16(ids);
    ASSERT_TRUE(packed.has_value());
    EXPECT_EQ(packed->size(), 20u);
    std::vector<std::byte> back(ids.data.size());
    ASSERT_TRUE(UnpackUint16(*packed, AsMatrix(ids), wide, back.data()).ok());
    EXPECT_EQ(std::memcmp(back.data(), ids.data.data(), back.size()), 0);
    for (int64_t bad : {int64_t{65536}, int64_t{-1}}) {
      if (wide)
        ids.as<int64_t>()[3] = bad;
      else
        ids.as<int32_t>()[3] = static_cast<int32_t>(bad);
      EXPECT_FALSE(PackUint16(ids).has_value()) << bad;
    }
  }
  EXPECT_FALSE(UnpackUint16("abc", Matrix{1, 2}, false, nullptr).ok());
}

TEST(TensorPackingTest, AttentionRulesAreCheckedAndDerived) {
  HostTensor target = MakeTensor(DType::kUInt8, {3, 6});
  const uint8_t t[] = {1, 0, 0, 1, 0, 1, /**/ 1, 1, 1, 1, 1, 1, /**/ 0, 0, 0, 0, 0, 0};
  std::memcpy(target.data.data(), t, sizeof(t));

  HostTensor image = MakeTensor(DType::kInt32, {3, 6});
  const int32_t img[] = {0, 3, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 0, 0, /**/ 6, 0, 0, 0, 0, 0};
  std::memcpy(image.data.data(), img, sizeof(img));
  EXPECT_TRUE(FollowsTargetCountAtFirst(image, target));
  EXPECT_FALSE(FollowsTargetIndicator(image, target));
  std::vector<int32_t> derived(18, -1);
  DeriveTargetCountAtFirst(target.as<uint8_t>(), AsMatrix(target), derived.data());
  EXPECT_EQ(std::memcmp(derived.data(), img, sizeof(img)), 0);

  HostTensor seq = MakeTensor(DType::kInt32, {3, 6});
  for (int i = 0; i < 18; ++i) seq.as<int32_t>()[i] = t[i] == 0;
  EXPECT_TRUE(FollowsTargetIndicator(seq, target));
  DeriveTargetIndicator(target.as<uint8_t>(), AsMatrix(target), derived.data());
  EXPECT_EQ(std::memcmp(derived.data(), seq.data.data(), 18 * 4), 0);

  image.as<int32_t>()[5] = 1;  // a stray value
  EXPECT_FALSE(FollowsTargetCountAtFirst(image, target));
  image.as<int32_t>()[5] = 0;
  image.as<int32_t>()[1] = 2;  // the wrong count
  EXPECT_FALSE(FollowsTargetCountAtFirst(image, target));
  seq.as<int32_t>()[17] = 0;
  EXPECT_FALSE(FollowsTargetIndicator(seq, target));
}

}  // namespace
}  // namespace maskfeed
