// Damaged, hostile and edge-case images through the pixel path (decode_rgb.h,
// pillow_resample.h): DATA_LOSS saying what is wrong, never a crash or a padded image.
// Exactness against Pillow is pillow_exactness_test.cc.
#include "pipeline/image/decode_rgb.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/image/pillow_resample.h"
#include "pipeline/image/rgb_pixels.h"
#include "tests/testing/test_images.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::testing::HasSubstr;

TEST(DecodeRgbTest, DecodesJpegAndPngToTheirSize) {
  for (const std::string& file :
       {testing::EncodeTestJpeg(70, 33), testing::EncodeTestPng(70, 33)}) {
    absl::StatusOr<RgbImage> image = DecodeRgb(file);
    ASSERT_TRUE(image.ok()) << image.status();
    EXPECT_EQ(image->width, 70);
    EXPECT_EQ(image->height, 33);
    EXPECT_EQ(image->pixels.size(), 70u * 33 * 3);
  }
  // The PNG is lossless: the gradient comes back exactly.
  absl::StatusOr<RgbImage> png = DecodeRgb(testing::EncodeTestPng(70, 33));
  const std::vector<unsigned char> gradient = testing::GradientRgb(70, 33);
  EXPECT_TRUE(std::equal(gradient.begin(), gradient.end(), png->pixels.begin()));
}

TEST(DecodeRgbTest, TruncatedOrCorruptFilesAreDataLoss) {
  const std::string jpeg = testing::EncodeTestJpeg(300, 200);
  const std::string png = testing::EncodeTestPng(300, 200);
  // A JPEG cut in its entropy-coded data: libjpeg would pad it with grey, Pillow refuses it.
  absl::Status cut = DecodeRgb(jpeg.substr(0, jpeg.size() * 2 / 3)).status();
  EXPECT_EQ(cut.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(cut), HasSubstr("truncated"));
  EXPECT_THAT(Message(DecodeRgb(jpeg.substr(0, 40)).status()), HasSubstr("JPEG header: "));
  absl::Status png_cut = DecodeRgb(png.substr(0, png.size() - 40)).status();
  EXPECT_EQ(png_cut.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(png_cut), HasSubstr("PNG data: "));
  EXPECT_THAT(Message(DecodeRgb("BM\x01\x02").status()), HasSubstr("not a JPEG or PNG"));
  // Every single-byte corruption of the headers and the first data: an image or DATA_LOSS.
  for (const std::string* file : {&jpeg, &png}) {
    for (size_t at = 0; at < std::min<size_t>(file->size(), 700); at += 3) {
      std::string bad = *file;
      bad[at] = static_cast<char>(bad[at] ^ 0x5a);
      absl::StatusOr<RgbImage> image = DecodeRgb(bad);
      if (image.ok()) {
        EXPECT_EQ(image->pixels.size(), size_t{3} * image->width * image->height);
      } else {
        EXPECT_EQ(image.status().code(), absl::StatusCode::kDataLoss) << at;
      }
    }
  }
}

// The pixel path decodes a JPEG only down to its crop's last row (jpeg_reader.h), yet a file
// cut below the crop is still refused, as Pillow's whole decode refuses it; one with bytes
// after its end marker is not.
TEST(DecodeRgbTest, CropAboveWhereAJpegIsCutIsStillDataLoss) {
  const std::string jpeg = testing::EncodeTestJpeg(320, 480);
  const CropBox top{.top = 0, .left = 0, .height = 64, .width = 64};
  std::vector<uint8_t> chw(3 * 32 * 32);
  for (bool fast : {false, true}) {
    for (size_t keep : {jpeg.size() * 2 / 3, jpeg.size() - 2}) {
      absl::Status cut =
          RgbPixels(jpeg.substr(0, keep), top, false, 32, {.fast = fast}, chw.data());
      EXPECT_EQ(cut.code(), absl::StatusCode::kDataLoss) << keep;
      EXPECT_THAT(Message(cut), HasSubstr("truncated")) << keep;
      EXPECT_EQ(DecodeRgb(jpeg.substr(0, keep)).status().code(), absl::StatusCode::kDataLoss);
    }
    EXPECT_TRUE(
        RgbPixels(jpeg + "trailing bytes", top, false, 32, {.fast = fast}, chw.data()).ok());
  }
}

TEST(DecodeRgbTest, PixelLimitRefusesDecompressionBombsBeforeDecoding) {
  const std::string jpeg = testing::EncodeTestJpeg(100, 80);
  absl::Status s = DecodeRgb(jpeg, {.max_pixels = 7999}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(s), HasSubstr("100x80 pixels, over the limit of 7999"));
  EXPECT_TRUE(DecodeRgb(jpeg, {.max_pixels = 8000}).ok());
  EXPECT_THAT(Message(DecodeRgb(testing::EncodeTestPng(100, 80), {.max_pixels = 10}).status()),
              HasSubstr("over the limit"));
  // A 60000 × 60000 JPEG header on a tiny file: refused by the default limit (Pillow's),
  // without allocating its 10 GB.
  std::string bomb = jpeg;
  const size_t sof = bomb.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  for (size_t at : {sof + 5, sof + 7}) {
    bomb[at] = static_cast<char>(0xea);  // 0xea60 = 60000
    bomb[at + 1] = static_cast<char>(0x60);
  }
  EXPECT_THAT(Message(DecodeRgb(bomb).status()), HasSubstr("60000x60000 pixels, over the limit"));
}

// `jpeg` without its segments of marker `marker` (0xDB: quantization tables, 0xC4: Huffman
// tables) before its first scan.
std::string WithoutTables(std::string jpeg, unsigned char marker) {
  for (size_t at = 2; at + 4 <= jpeg.size() && static_cast<unsigned char>(jpeg[at + 1]) != 0xDA;) {
    const size_t length =
        (static_cast<unsigned char>(jpeg[at + 2]) << 8) | static_cast<unsigned char>(jpeg[at + 3]);
    if (static_cast<unsigned char>(jpeg[at + 1]) == marker) {
      jpeg.erase(at, 2 + length);
    } else {
      at += 2 + length;
    }
  }
  return jpeg;
}

// Every image is decoded as if by a new decoder (as Pillow opens one per image): tables a
// JPEG does not define are not the last image's. Found by the image fuzzer, whose region
// decode of a progressive file redefining its Huffman tables between scans differed from its
// whole decode, each having started from the tables the decode before left.
TEST(DecodeRgbTest, AJpegNeverDecodesWithTheTablesOfTheImageBefore) {
  const std::string whole = testing::EncodeTestJpeg(48, 32);
  for (unsigned char marker : {0xDB, 0xC4}) {
    const std::string missing = WithoutTables(whole, marker);
    ASSERT_LT(missing.size(), whole.size());
    absl::StatusOr<RgbImage> fresh = DecodeRgb(missing, {});
    ASSERT_TRUE(DecodeRgb(whole, {}).ok());  // leaves its tables in this thread's decoder
    absl::StatusOr<RgbImage> after = DecodeRgb(missing, {});
    ASSERT_EQ(after.ok(), fresh.ok())
        << "marker " << int{marker} << ": " << (after.ok() ? fresh.status() : after.status());
    if (fresh.ok()) {
      EXPECT_TRUE(after->pixels == fresh->pixels) << "marker " << int{marker};
    } else {
      EXPECT_EQ(after.status().code(), absl::StatusCode::kDataLoss);
    }
  }
  // Missing quantization tables: an error, as in a new decoder (Pillow's too).
  absl::StatusOr<RgbImage> no_dqt = DecodeRgb(WithoutTables(whole, 0xDB), {});
  EXPECT_EQ(no_dqt.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(no_dqt.status().message()), HasSubstr("not defined"));
}

TEST(PillowResampleTest, CropsOutsideAreZeroAndFlipMirrors) {
  RgbImage image{.height = 2, .width = 3, .pixels = {}};
  for (int i = 0; i < 18; ++i) image.pixels.push_back(static_cast<uint8_t>(i + 1));
  const RgbImage crop = CropRgb(image, {.top = -1, .left = 1, .height = 2, .width = 3});
  EXPECT_EQ(crop.pixels, (PixelBuffer{0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                      4, 5, 6, 7, 8, 9, 0, 0, 0}));
  const RgbImage away = CropRgb(image, {.top = 5, .left = -9, .height = 1, .width = 2});
  EXPECT_EQ(away.pixels, PixelBuffer(6, 0));
  std::vector<uint8_t> row = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  FlipRgb(row.data(), 3, 1);
  EXPECT_EQ(row, (std::vector<uint8_t>{7, 8, 9, 4, 5, 6, 1, 2, 3}));
  // Same size: a copy. A flat image stays flat through any resize (weights sum to one).
  std::vector<uint8_t> out(18);
  ResizeBicubic(image.pixels.data(), 3, 2, out.data(), 3, 2);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), image.pixels.begin(), image.pixels.end()));
  const std::vector<uint8_t> flat(40 * 30 * 3, 77);
  std::vector<uint8_t> big(224 * 224 * 3), small(5 * 7 * 3);
  ResizeBicubic(flat.data(), 40, 30, big.data(), 224, 224);
  ResizeBicubic(flat.data(), 40, 30, small.data(), 5, 7);
  EXPECT_EQ(big, std::vector<uint8_t>(big.size(), 77));
  EXPECT_EQ(small, std::vector<uint8_t>(small.size(), 77));
}

}  // namespace
}  // namespace maskfeed
