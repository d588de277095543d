#include "pipeline/image/byte_transpose.h"

#include <vector>

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

// Every shape class the blocked kernel meets: below, at and past 16 in each direction, with
// strides wider than the rows.
TEST(TransposeBytesTest, EqualsTheDefinitionForEveryShapeClass) {
  for (int rows : {1, 7, 15, 16, 17, 31, 32, 33, 100}) {
    for (int cols : {1, 5, 16, 18, 47, 64, 90}) {
      const size_t in_stride = static_cast<size_t>(cols) + 3;
      const size_t out_stride = static_cast<size_t>(rows) + 5;
      std::vector<uint8_t> in(rows * in_stride);
      for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 131 + 7);
      std::vector<uint8_t> out(cols * out_stride, 0xEE);
      TransposeBytes(in.data(), in_stride, rows, cols, out.data(), out_stride);
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
          ASSERT_EQ(out[c * out_stride + r], in[r * in_stride + c]) << rows << "x" << cols;
        }
      }
      for (int c = 0; c < cols; ++c) {  // the padding past each output row is untouched
        for (size_t r = rows; r < out_stride; ++r) ASSERT_EQ(out[c * out_stride + r], 0xEE);
      }
    }
  }
}

// The SIMD split against the plain loop: every length class around the 16-pixel blocks, from
// unaligned starts, and nothing written past n.
TEST(SplitRgbTest, EqualsThePlainLoopForEveryLength) {
  for (size_t n : {0, 1, 5, 15, 16, 17, 31, 32, 33, 100, 461}) {
    for (size_t offset : {0, 1, 7}) {
      std::vector<uint8_t> rgb(offset + 3 * n);
      for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 151 + 3);
      std::vector<uint8_t> want(3 * n + 3, 0xEE), got(3 * n + 3, 0xEE);
      SplitRgbScalar(rgb.data() + offset, n, want.data(), want.data() + n + 1,
                     want.data() + 2 * n + 2);
      SplitRgb(rgb.data() + offset, n, got.data(), got.data() + n + 1, got.data() + 2 * n + 2);
      ASSERT_EQ(got, want) << n << " pixels from offset " << offset;
      for (size_t x = 0; x < n; ++x) {
        ASSERT_EQ(want[x], rgb[offset + 3 * x]);
        ASSERT_EQ(want[n + 1 + x], rgb[offset + 3 * x + 1]);
        ASSERT_EQ(want[2 * n + 2 + x], rgb[offset + 3 * x + 2]);
      }
      for (size_t c = 0; c < 3; ++c) ASSERT_EQ(got[c * (n + 1) + n], 0xEE) << "past plane " << c;
    }
  }
}

}  // namespace
}  // namespace maskfeed
