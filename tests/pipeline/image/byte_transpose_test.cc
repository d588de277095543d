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

}  // namespace
}  // namespace maskfeed
