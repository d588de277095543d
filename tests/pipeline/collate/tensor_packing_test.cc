#include "pipeline/collate/tensor_packing.h"

#include <algorithm>
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

enum class Rule { kIndicator, kCountAtFirst };

bool EveryRowFollows(Rule rule, const int32_t* attention, const uint8_t* target, Matrix m) {
  std::vector<uint8_t> bits(static_cast<size_t>((m.cols + 7) / 8));
  for (int64_t r = 0; r < m.rows; ++r) {
    const TargetRowFit fit =
        PackTargetRow(target + r * m.cols, attention + r * m.cols, m.cols, bits.data());
    if (!(rule == Rule::kIndicator ? fit.indicator : fit.count_at_first)) return false;
  }
  return true;
}

// PackTargetRow's answers, from the definitions, one value at a time.
TargetRowFit ReferenceFit(const uint8_t* target, const int32_t* attention, int64_t cols) {
  TargetRowFit fit;
  fit.bits = std::all_of(target, target + cols, [](uint8_t v) { return v <= 1; });
  if (!fit.bits) return fit;
  int32_t targets = 0;
  for (int64_t c = 0; c < cols; ++c) targets += target[c] == 0;
  fit.indicator = fit.count_at_first = true;
  bool first = true;
  for (int64_t c = 0; c < cols; ++c) {
    fit.indicator &= attention[c] == (target[c] == 0 ? 1 : 0);
    fit.count_at_first &= attention[c] == (target[c] == 0 && first ? targets : 0);
    if (target[c] == 0) first = false;
  }
  return fit;
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

// Shapes reach the unpacking from the wire (and libmaskfeed_expand.so's C ABI): a product that
// wraps 64 bits must not match a small buffer, or the loops would write past `out` (nullptr
// here: nothing may be written at all).
TEST(TensorPackingTest, UnpackingRefusesShapesWhoseSizeOverflows) {
  const int64_t huge = int64_t{1} << 62;
  for (const Matrix m : {Matrix{huge, 64}, Matrix{4, huge}, Matrix{-8, 8}, Matrix{8, -8}}) {
    EXPECT_EQ(UnpackBits("", m, nullptr).code(), absl::StatusCode::kInvalidArgument)
        << m.rows << "x" << m.cols;
    EXPECT_EQ(UnpackUint16("", m, false, nullptr).code(), absl::StatusCode::kInvalidArgument)
        << m.rows << "x" << m.cols;
  }
  // (2^63, 2) as uint16 is 2^65 bytes, which wraps to 0.
  EXPECT_FALSE(UnpackUint16("", Matrix{int64_t{1} << 62, 4}, false, nullptr).ok());
}

TEST(TensorPackingTest, AttentionRulesAreCheckedAndDerived) {
  const Matrix m{3, 6};
  const uint8_t t[] = {1, 0, 0, 1, 0, 1, /**/ 1, 1, 1, 1, 1, 1, /**/ 0, 0, 0, 0, 0, 0};
  int32_t image[] = {0, 3, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 0, 0, /**/ 6, 0, 0, 0, 0, 0};
  EXPECT_TRUE(EveryRowFollows(Rule::kCountAtFirst, image, t, m));
  EXPECT_FALSE(EveryRowFollows(Rule::kIndicator, image, t, m));
  std::vector<int32_t> derived(18, -1);
  DeriveTargetCountAtFirst(t, m, derived.data());
  EXPECT_EQ(std::memcmp(derived.data(), image, sizeof(image)), 0);

  int32_t seq[18];
  for (int i = 0; i < 18; ++i) seq[i] = t[i] == 0;
  EXPECT_TRUE(EveryRowFollows(Rule::kIndicator, seq, t, m));
  DeriveTargetIndicator(t, m, derived.data());
  EXPECT_EQ(std::memcmp(derived.data(), seq, sizeof(seq)), 0);

  image[5] = 1;  // a stray value
  EXPECT_FALSE(EveryRowFollows(Rule::kCountAtFirst, image, t, m));
  image[5] = 0;
  image[1] = 2;  // the wrong count
  EXPECT_FALSE(EveryRowFollows(Rule::kCountAtFirst, image, t, m));
  seq[17] = 0;
  EXPECT_FALSE(EveryRowFollows(Rule::kIndicator, seq, t, m));
}

// One pass packs the target mask and checks both rules: it must agree with the definitions
// for every row length (16-column blocks and tails), in rows that follow a rule, rows with
// one value broken anywhere, and rows without targets.
TEST(TensorPackingTest, TargetRowPassAgreesWithTheDefinitions) {
  std::mt19937 rng(5);
  int checked[3] = {0, 0, 0};  // rows where bits, indicator, count_at_first held
  for (int64_t cols = 1; cols <= 70; ++cols) {
    for (int trial = 0; trial < 60; ++trial) {
      std::vector<uint8_t> target(static_cast<size_t>(cols));
      const unsigned density = trial % 4 == 0 ? 0 : 1 + rng() % 6;  // 0: no targets
      for (uint8_t& v : target) v = density != 0 && rng() % density == 0 ? 0 : 1;
      std::vector<int32_t> attention(target.size(), 0);
      if (trial % 2 == 0) {
        for (size_t c = 0; c < target.size(); ++c) attention[c] = target[c] == 0;
      } else {
        const auto first = std::find(target.begin(), target.end(), 0);
        if (first != target.end()) {
          attention[static_cast<size_t>(first - target.begin())] =
              static_cast<int32_t>(std::count(target.begin(), target.end(), 0));
        }
      }
      const size_t at = rng() % target.size();
      switch (trial % 5) {
        case 1:
          attention[at] += 1;
          break;
        case 2:
          attention[at] = -1;
          break;
        case 3:
          target[at] = static_cast<uint8_t>(2 + rng() % 254);
          break;
        default:
          break;
      }
      std::vector<uint8_t> bits(static_cast<size_t>((cols + 7) / 8), 0xEE);
      const TargetRowFit fit = PackTargetRow(target.data(), attention.data(), cols, bits.data());
      const TargetRowFit want = ReferenceFit(target.data(), attention.data(), cols);
      ASSERT_EQ(fit.bits, want.bits) << "cols " << cols << " trial " << trial;
      ASSERT_EQ(fit.indicator, want.indicator) << "cols " << cols << " trial " << trial;
      ASSERT_EQ(fit.count_at_first, want.count_at_first) << "cols " << cols << " trial " << trial;
      checked[0] += fit.bits;
      checked[1] += fit.indicator;
      checked[2] += fit.count_at_first;
      if (!fit.bits) continue;
      std::vector<uint8_t> back(target.size(), 9);
      ASSERT_TRUE(
          UnpackBits(std::string_view(reinterpret_cast<const char*>(bits.data()), bits.size()),
                     {1, cols}, back.data())
              .ok());
      ASSERT_EQ(back, target) << "cols " << cols << " trial " << trial;
      // Without attention values only the bits are judged.
      const TargetRowFit alone = PackTargetRow(target.data(), nullptr, cols, bits.data());
      EXPECT_TRUE(alone.bits && !alone.indicator && !alone.count_at_first);
    }
  }
  // Every outcome was exercised, both ways.
  EXPECT_GT(checked[0], 1000);
  EXPECT_GT(checked[1], 500);
  EXPECT_GT(checked[2], 500);
}

// The expansions that write around the cache take their fast path only on 16-byte aligned
// output; every alignment and length must give the same values.
TEST(TensorPackingTest, UncachedWritesMatchAtEveryAlignmentAndLength) {
  std::mt19937 rng(9);
  alignas(16) uint8_t src[160], dst[200];
  for (uint8_t& v : src) v = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 32; ++offset) {
    for (size_t size = 0; size <= 128; ++size) {
      std::memset(dst, 0xAB, sizeof(dst));
      CopyUncached(dst + offset, src + 1, size);
      ASSERT_EQ(std::memcmp(dst + offset, src + 1, size), 0) << offset << " " << size;
      // Nothing around the copy changes.
      for (size_t i = 0; i < offset; ++i) ASSERT_EQ(dst[i], 0xAB) << offset << " " << size;
      for (size_t i = offset + size; i < sizeof(dst); ++i) ASSERT_EQ(dst[i], 0xAB);
    }
  }
  for (int64_t count = 1; count <= 40; ++count) {
    std::vector<uint16_t> ids(static_cast<size_t>(count));
    std::vector<uint8_t> target(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      ids[i] = static_cast<uint16_t>(rng());
      target[i] = rng() & 1;
    }
    const std::string_view packed(reinterpret_cast<const char*>(ids.data()), ids.size() * 2);
    for (int64_t shift : {0, 1}) {  // aligned, then not
      std::vector<int64_t> wide(ids.size() + 1, -1);
      std::vector<int32_t> narrow(ids.size() + 4, -1), indicator(ids.size() + 4, -1);
      ASSERT_TRUE(UnpackUint16(packed, {1, count}, true, wide.data() + shift).ok());
      ASSERT_TRUE(UnpackUint16(packed, {1, count}, false, narrow.data() + shift).ok());
      DeriveTargetIndicator(target.data(), {1, count}, indicator.data() + shift);
      for (size_t i = 0; i < ids.size(); ++i) {
        ASSERT_EQ(wide[i + shift], ids[i]) << count << " " << shift;
        ASSERT_EQ(narrow[i + shift], ids[i]) << count << " " << shift;
        ASSERT_EQ(indicator[i + shift], target[i] == 0 ? 1 : 0) << count << " " << shift;
      }
      EXPECT_EQ(narrow[ids.size() + shift], -1);  // nothing written past the end
      EXPECT_EQ(indicator[ids.size() + shift], -1);
    }
  }
}

}  // namespace
}  // namespace maskfeed
