#include "pipeline/image/image_header.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/image/jpeg_reader.h"
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

// A segment: marker, big-endian length (itself included), payload.
std::string Segment(uint8_t marker, std::string_view payload) {
  const size_t length = payload.size() + 2;
  std::string out = {'\xFF', static_cast<char>(marker), static_cast<char>(length >> 8),
                     static_cast<char>(length & 0xFF)};
  return out.append(payload);
}

// The segment walk that finds a JPEG's frame header agrees with libjpeg's header reader on
// files with extra segments before the frame (EXIF, comments, restart intervals, APPn, fill
// bytes), and hands the unusual (junk between segments, lossless or arithmetic frames, a
// 12-bit frame) to libjpeg untouched. (The Pillow corpus test holds both to Pillow's size.)
TEST(ImageHeaderTest, JpegFrameScanAgreesWithLibjpeg) {
  const std::string jpeg = testing::EncodeTestJpeg(321, 123);
  const std::string body = jpeg.substr(2);  // after SOI
  const std::string soi = jpeg.substr(0, 2);
  const std::string exif = Segment(0xE1, std::string("Exif\0\0", 6) + std::string(3000, 'x'));
  const std::string comment = Segment(0xFE, "a comment");
  const std::string restart = Segment(0xDD, std::string("\x00\x10", 2));
  const std::vector<std::string> accepted = {
      jpeg,
      soi + exif + body,
      soi + comment + restart + body,
      soi + Segment(0xEE, "Adobe") + Segment(0xE2, "ICC_PROFILE") + body,
      soi + "\xFF\xFF\xFF" + body.substr(1),  // fill bytes before the first marker
  };
  for (size_t i = 0; i < accepted.size(); ++i) {
    absl::StatusOr<ImageDims> libjpeg = jpeg::ReadDims(accepted[i]);
    ASSERT_TRUE(libjpeg.ok()) << i << ": " << libjpeg.status();
    std::optional<ImageDims> scanned = ScanJpegFrameSize(accepted[i]);
    ASSERT_TRUE(scanned.has_value()) << i;
    EXPECT_EQ(scanned->width, libjpeg->width) << i;
    EXPECT_EQ(scanned->height, libjpeg->height) << i;
    EXPECT_EQ(scanned->width, 321u);
    EXPECT_EQ(scanned->height, 123u);
  }
  // Left to libjpeg: junk between segments (libjpeg warns and goes on), a frame type other
  // than SOF0-2, a 12-bit frame, a segment running past the end.
  const size_t sof = jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  std::string junk = soi + comment + "ab" + body;
  EXPECT_FALSE(ScanJpegFrameSize(junk).has_value());
  absl::StatusOr<ImageDims> junk_dims = ReadImageDims(junk);
  ASSERT_TRUE(junk_dims.ok()) << junk_dims.status();
  EXPECT_EQ(junk_dims->width, 321u);
  std::string lossless = jpeg;
  lossless[sof + 1] = '\xC3';
  EXPECT_FALSE(ScanJpegFrameSize(lossless).has_value());
  EXPECT_EQ(ReadImageDims(lossless).status().code(), absl::StatusCode::kDataLoss);
  std::string twelve_bit = jpeg;
  twelve_bit[sof + 4] = 12;
  EXPECT_FALSE(ScanJpegFrameSize(twelve_bit).has_value());
  EXPECT_EQ(ReadImageDims(twelve_bit).status().code(), absl::StatusCode::kDataLoss);
  for (size_t cut = 0; cut < sof + 12; ++cut) {
    EXPECT_FALSE(ScanJpegFrameSize(jpeg.substr(0, cut)).has_value()) << cut;
  }
}

}  // namespace
}  // namespace maskfeed
