#include "pipeline/batch/tensor_packing.h"

#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

// A (rows, cols) mask packed row by row as producers do; nullopt if some row does not pack.
std::optional<std::string> PackMask(const uint8_t* mask, Matrix m) {
  const int64_t row_bytes = (m.cols + 7) / 8;
  std::string out(static_cast<size_t>(m.rows * row_bytes), '\0');
  for (int64_t r = 0; r < m.rows; ++r) {
    if (!PackBitsRow(mask + r * m.cols, m.cols,
                     reinterpret_cast<uint8_t*>(out.data()) + r * row_bytes)) {
      return std::nullopt;
    }
  }
  return out;
}

using RowRule = bool (*)(const int32_t*, const uint8_t*, int64_t);

bool EveryRowFollows(RowRule rule, const int32_t* attention, const uint8_t* target, Matrix m) {
  for (int64_t r = 0; r < m.rows; ++r) {
    if (!rule(attention + r * m.cols, target + r * m.cols, m.cols)) return false;
  }
  return true;
}

TEST(TensorPackingTest, BitsRoundTripForEveryRowLength) {
  std::mt19937 rng(1);
  for (int64_t cols = 1; cols <= 40; ++cols) {
    std::vector<uint8_t> mask(static_cast<size_t>(3 * cols));
    for (uint8_t& v : mask) v = rng() & 1;
    std::optional<std::string> packed = PackMask(mask.data(), {3, cols});
    ASSERT_TRUE(packed.has_value());
    EXPECT_EQ(packed->size(), static_cast<size_t>(3 * ((cols + 7) / 8)));
    std::vector<uint8_t> back(mask.size(), 9);
    ASSERT_TRUE(UnpackBits(*packed, {3, cols}, back.data()).ok());
    EXPECT_EQ(back, mask) << "cols " << cols;
  }
}

TEST(TensorPackingTest, BitsUseLittleEndianBitOrderPerRow) {
  const uint8_t mask[] = {1, 0, 0, 0, 0, 0, 0, 1, 1, /**/ 0, 1, 0, 0, 0, 0, 0, 0, 0};
  std::optional<std::string> packed = PackMask(mask, {2, 9});
  ASSERT_TRUE(packed.has_value());
  EXPECT_EQ(*packed, std::string("\x81\x01\x02\x00", 4));
}

TEST(TensorPackingTest, NonBinaryMasksStayPlain) {
  for (int64_t at : {0, 7, 12}) {  // inside the 8-byte blocks and in the tail
    std::vector<uint8_t> mask(13, 1);
    mask[static_cast<size_t>(at)] = 2;
    EXPECT_FALSE(PackMask(mask.data(), {1, 13}).has_value()) << at;
  }
}

TEST(TensorPackingTest, Uint16RoundTripAndRangeCheck) {
  std::vector<int32_t> ids(10);
  for (int i = 0; i < 10; ++i) ids[static_cast<size_t>(i)] = i * 7000;  // up to 63000
  std::vector<uint16_t> packed(10);
  for (int r = 0; r < 2; ++r) ASSERT_TRUE(PackUint16Row(&ids[r * 5], 5, &packed[r * 5]));
  const std::string_view bytes(reinterpret_cast<const char*>(packed.data()), 20);
  std::vector<int32_t> narrow(10, -1);
  ASSERT_TRUE(UnpackUint16(bytes, {2, 5}, /*int64=*/false, narrow.data()).ok());
  EXPECT_EQ(narrow, ids);
  std::vector<int64_t> wide(10, -1);
  ASSERT_TRUE(UnpackUint16(bytes, {2, 5}, /*int64=*/true, wide.data()).ok());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(wide[static_cast<size_t>(i)], i * 7000);
  for (int32_t bad : {65536, -1}) {
    ids[3] = bad;
    EXPECT_FALSE(PackUint16Row(ids.data(), 5, packed.data())) << bad;
  }
  EXPECT_FALSE(UnpackUint16("abc", Matrix{1, 2}, false, nullptr).ok());
}

TEST(TensorPackingTest, AttentionRulesAreCheckedAndDerived) {
  const Matrix m{3, 6};
  const uint8_t t[] = {1, 0, 0, 1, 0, 1, /**/ 1, 1, 1, 1, 1, 1, /**/ 0, 0, 0, 0, 0, 0};
  int32_t image[] = {0, 3, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 0, 0, /**/ 6, 0, 0, 0, 0, 0};
  EXPECT_TRUE(EveryRowFollows(RowFollowsTargetCountAtFirst, image, t, m));
  EXPECT_FALSE(EveryRowFollows(RowFollowsTargetIndicator, image, t, m));
  std::vector<int32_t> derived(18, -1);
  DeriveTargetCountAtFirst(t, m, derived.data());
  EXPECT_EQ(std::memcmp(derived.data(), image, sizeof(image)), 0);

  int32_t seq[18];
  for (int i = 0; i < 18; ++i) seq[i] = t[i] == 0;
  EXPECT_TRUE(EveryRowFollows(RowFollowsTargetIndicator, seq, t, m));
  DeriveTargetIndicator(t, m, derived.data());
  EXPECT_EQ(std::memcmp(derived.data(), seq, sizeof(seq)), 0);

  image[5] = 1;  // a stray value
  EXPECT_FALSE(EveryRowFollows(RowFollowsTargetCountAtFirst, image, t, m));
  image[5] = 0;
  image[1] = 2;  // the wrong count
  EXPECT_FALSE(EveryRowFollows(RowFollowsTargetCountAtFirst, image, t, m));
  seq[17] = 0;
  EXPECT_FALSE(EveryRowFollows(RowFollowsTargetIndicator, seq, t, m));
}

}  // namespace
}  // namespace maskfeed
