#include "pipeline/image/image_header.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_images.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::testing::HasSubstr;

TEST(ImageHeaderTest, ReadsJpegAndPngSizes) {
  for (auto [w, h] : {std::pair{640, 480}, {17, 2000}, {1, 1}}) {
    absl::StatusOr<ImageDims> jpeg = ReadImageDims(testing::EncodeTestJpeg(w, h));
    ASSERT_TRUE(jpeg.ok()) << jpeg.status();
    EXPECT_EQ(jpeg->width, static_cast<uint32_t>(w));
    EXPECT_EQ(jpeg->height, static_cast<uint32_t>(h));
    absl::StatusOr<ImageDims> png = ReadImageDims(testing::EncodeTestPng(w, h));
    ASSERT_TRUE(png.ok()) << png.status();
    EXPECT_EQ(png->width, static_cast<uint32_t>(w));
    EXPECT_EQ(png->height, static_cast<uint32_t>(h));
  }
}

TEST(ImageHeaderTest, DamagedHeadersAreDataLossNeverACrash) {
  const std::string jpeg = testing::EncodeTestJpeg(64, 48);
  const std::string png = testing::EncodeTestPng(64, 48);
  EXPECT_THAT(Message(ReadImageDims("GIF89a").status()), HasSubstr("not a JPEG or PNG image"));
  EXPECT_THAT(Message(ReadImageDims("").status()), HasSubstr("not a JPEG or PNG image"));
  for (size_t cut : {size_t{3}, size_t{20}, size_t{100}}) {
    absl::Status s = ReadImageDims(jpeg.substr(0, cut)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << cut;
    EXPECT_THAT(Message(s), HasSubstr("JPEG header: "));
  }
  for (size_t cut : {size_t{8}, size_t{20}, size_t{30}}) {
    absl::Status s = ReadImageDims(png.substr(0, cut)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << cut;
    EXPECT_THAT(Message(s), HasSubstr("PNG header: "));
  }
  // A PNG whose IHDR says width 0 (libpng refuses it); its CRC no longer matches either.
  std::string zero = png;
  zero[16] = zero[17] = zero[18] = zero[19] = '\0';
  EXPECT_EQ(ReadImageDims(zero).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace maskfeed
