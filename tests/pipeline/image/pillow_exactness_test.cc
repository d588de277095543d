// The rgb@S pixel path against Pillow itself (docs/raw-modalities.md#rgbs): a corpus of JPEG and
// PNG files of every kind 4M's rgb members come in, written and decoded, cropped, resized and
// flipped by python3-pil (tests/data/images/make_pillow_corpus.py, run here), must give the
// same bytes through DecodeRgb, then CropRgb, ResizeBicubic and FlipRgb, and through the
// planar CropResizeFlip: the decoded image and the S×S result, by SHA-256.
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pipeline/base/sha256.h"
#include "pipeline/image/decode_rgb.h"
#include "pipeline/image/image_header.h"
#include "pipeline/image/jpeg_reader.h"
#include "pipeline/image/pillow_resample.h"
#include "pipeline/image/rgb_pixels.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : Sha256(bytes)) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

template <typename Bytes>
std::string_view View(const Bytes& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

// Under the sanitizers the corpus is smaller (the release run covers all 520 cases).
int CaseCount() {
  if (const char* n = std::getenv("MASKFEED_PILLOW_CASES")) return std::atoi(n);
#if defined(__SANITIZE_ADDRESS__)
  return 64;
#else
  return 520;
#endif
}

class PillowExactnessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::Subprocess python(
        {MASKFEED_PYTHON,
         std::string(MASKFEED_SOURCE_DIR) + "/tests/data/images/make_pillow_corpus.py",
         dir_->path().string(), "--count", std::to_string(CaseCount())},
        (dir_->path() / "generator.log").string());
    generator_exit_ = python.Wait(std::chrono::seconds(900)).value_or(-1);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // The corpus's cases, one per line of the generator's manifest.
  static std::vector<nlohmann::json> Cases() {
    std::vector<nlohmann::json> cases;
    const std::string manifest = testing::ReadFile(dir_->path() / "manifest.jsonl");
    for (size_t start = 0; start < manifest.size();) {
      size_t end = manifest.find('\n', start);
      if (end == std::string::npos) end = manifest.size();
      cases.push_back(nlohmann::json::parse(manifest.substr(start, end - start)));
      start = end + 1;
    }
    return cases;
  }

  static testing::TempDir* dir_;
  static int generator_exit_;
};

testing::TempDir* PillowExactnessTest::dir_ = nullptr;
int PillowExactnessTest::generator_exit_ = -1;

TEST_F(PillowExactnessTest, DecodeCropResizeFlipEqualPillowBitForBit) {
  ASSERT_EQ(generator_exit_, 0) << testing::ReadFile(dir_->path() / "generator.log");
  std::map<std::string, int> cases_by_kind, decode_mismatches, output_mismatches;
  std::set<int> sizes;
  int cases = 0, outside = 0, flipped = 0, jpegs = 0, scanned_jpegs = 0;
  for (const nlohmann::json& c : Cases()) {
    ++cases;
    const std::string kind = c["kind"];
    ++cases_by_kind[kind];
    const std::string file = c["file"];
    const std::string bytes = testing::ReadFile(dir_->path() / file);
    // The header alone gives Pillow's size (a JPEG's by the frame-header walk).
    absl::StatusOr<ImageDims> dims = ReadImageDims(bytes);
    ASSERT_TRUE(dims.ok()) << file << " (" << kind << "): " << dims.status();
    EXPECT_EQ(dims->height, c["height"].get<uint32_t>()) << file;
    EXPECT_EQ(dims->width, c["width"].get<uint32_t>()) << file;
    if (SniffImage(bytes) == ImageFormat::kJpeg) {
      scanned_jpegs += ScanJpegFrameSize(bytes).has_value();
      ++jpegs;
    }
    absl::StatusOr<RgbImage> image = DecodeRgb(bytes);
    ASSERT_TRUE(image.ok()) << file << " (" << kind << "): " << image.status();
    ASSERT_EQ(image->height, c["height"].get<int>()) << file;
    ASSERT_EQ(image->width, c["width"].get<int>()) << file;
    if (Hex(View(image->pixels)) != c["decoded_sha256"]) {
      ++decode_mismatches[kind];
      ADD_FAILURE() << file << " (" << kind << "): decoded pixels differ from Pillow's";
      continue;
    }
    const CropBox box{c["top"], c["left"], c["crop_height"], c["crop_width"]};
    outside += box.top < 0 || box.left < 0 || box.top + box.height > image->height ||
               box.left + box.width > image->width;
    const int size = c["size"];
    sizes.insert(size);
    const RgbImage crop = CropRgb(*image, box);
    std::vector<uint8_t> out(static_cast<size_t>(size) * size * 3);
    ResizeBicubic(crop.pixels.data(), crop.width, crop.height, out.data(), size, size);
    if (c["flip"].get<bool>()) {
      FlipRgb(out.data(), size, size);
      ++flipped;
    }
    // The planar path the stream uses, channel-first, back to Pillow's row order.
    std::vector<uint8_t> chw(out.size()), hwc(out.size());
    CropResizeFlip(*image, box, c["flip"].get<bool>(), size, chw.data());
    const size_t plane = static_cast<size_t>(size) * size;
    for (size_t p = 0; p < plane; ++p) {
      for (size_t ch = 0; ch < 3; ++ch) hwc[3 * p + ch] = chw[ch * plane + p];
    }
    const bool planar_equal = Hex(View(hwc)) == c["out_sha256"];
    // And RgbPixels, which decodes a JPEG only around the crop.
    std::vector<uint8_t> direct(out.size());
    ASSERT_TRUE(RgbPixels(bytes, box, c["flip"].get<bool>(), size, {}, direct.data()).ok()) << file;
    for (size_t p = 0; p < plane; ++p) {
      for (size_t ch = 0; ch < 3; ++ch) hwc[3 * p + ch] = direct[ch * plane + p];
    }
    if (Hex(View(out)) != c["out_sha256"] || !planar_equal || Hex(View(hwc)) != c["out_sha256"]) {
      ++output_mismatches[kind];
      ADD_FAILURE() << file << " (" << kind << ", " << c["width"] << "x" << c["height"] << ", crop "
                    << box.left << "," << box.top << " " << box.width << "x" << box.height << ", S "
                    << size << "): the result differs from Pillow's "
                    << "(make_pillow_corpus.py --pixels writes Pillow's bytes)";
    }
  }
  EXPECT_EQ(cases, CaseCount());
  EXPECT_GT(jpegs, 0);
  EXPECT_EQ(scanned_jpegs, jpegs) << "every Pillow JPEG's size read without libjpeg";
  EXPECT_GE(cases_by_kind.size(), 24u) << "every kind of image is in the corpus";
  EXPECT_THAT(decode_mismatches, ::testing::IsEmpty());
  EXPECT_THAT(output_mismatches, ::testing::IsEmpty());
  EXPECT_EQ(sizes, (std::set<int>{224, 448}));
  EXPECT_GT(outside, cases / 10) << "crops reaching outside the image";
  EXPECT_GT(flipped, cases / 4);
}

// A JPEG decoded only around a rectangle (jpeg_reader.h) has the whole decode's pixels
// there, at every DCT scale, for every kind of JPEG in the corpus (progressive, every
// subsampling, grey, CMYK, restart markers) and rectangles anywhere, also reaching outside.
TEST_F(PillowExactnessTest, JpegRegionsEqualTheWholeDecode) {
  ASSERT_EQ(generator_exit_, 0) << testing::ReadFile(dir_->path() / "generator.log");
  uint64_t state = 12345;
  const auto next = [&state](int64_t n) {  // a small LCG: the same rectangles every run
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(n));
  };
  int regions = 0, skipped = 0, cropped = 0;
  for (const nlohmann::json& c : Cases()) {
    const std::string file = c["file"];
    if (!file.ends_with(".jpg")) continue;
    const std::string bytes = testing::ReadFile(dir_->path() / file);
    for (int denom : {1, 2, 4, 8}) {
      absl::StatusOr<RgbImage> whole = jpeg::DecodeRgb(bytes, 0, denom);
      ASSERT_TRUE(whole.ok()) << file << ": " << whole.status();
      const int64_t h = whole->height, w = whole->width;
      for (int k = 0; k < 3; ++k) {
        const CropBox want{.top = next(h + 20) - 10,
                           .left = next(w + 20) - 10,
                           .height = 1 + next(h),
                           .width = 1 + next(w)};
        absl::StatusOr<jpeg::RgbRegion> region = jpeg::DecodeRgbRegion(bytes, 0, denom, want);
        ASSERT_TRUE(region.ok()) << file << ": " << region.status();
        const RgbImage& part = region->image;
        ASSERT_EQ(region->full.height, static_cast<uint32_t>(h));
        ASSERT_EQ(region->full.width, static_cast<uint32_t>(w));
        ASSERT_GE(region->top, 0);
        ASSERT_GE(region->left, 0);
        ASSERT_LE(region->top + part.height, h);
        ASSERT_LE(region->left + part.width, w);
        // It covers the wanted rectangle's part of the image.
        EXPECT_LE(region->top, std::max<int64_t>(want.top, 0)) << file;
        EXPECT_LE(region->left, std::max<int64_t>(want.left, 0)) << file;
        EXPECT_GE(region->top + part.height, std::min(want.top + want.height, h)) << file;
        EXPECT_GE(region->left + part.width, std::min(want.left + want.width, w)) << file;
        skipped += region->top > 0 || region->top + part.height < h;
        cropped += part.width < w;
        ++regions;
        // The wanted rows and columns inside the image are the whole decode's (the region's
        // margin, an iMCU beyond them, may be upsampled differently and is never used).
        const int64_t y0 = std::max<int64_t>(want.top, 0), y1 = std::min(want.top + want.height, h);
        const int64_t x0 = std::max<int64_t>(want.left, 0),
                      x1 = std::min(want.left + want.width, w);
        int64_t differ = 0;
        for (int64_t y = y0; y < y1 && x0 < x1; ++y) {
          const uint8_t* got =
              part.pixels.data() + ((y - region->top) * part.width + (x0 - region->left)) * 3;
          const uint8_t* expected = whole->pixels.data() + (y * w + x0) * 3;
          differ += std::memcmp(got, expected, static_cast<size_t>(x1 - x0) * 3) != 0;
        }
        EXPECT_EQ(differ, 0) << file << " (" << c["kind"] << ") at 1/" << denom << ": rows "
                             << region->top << "+" << part.height << ", columns " << region->left
                             << "+" << part.width << " of " << w << "x" << h;
      }
    }
  }
  std::printf("%d JPEG regions (%d with rows left out, %d with columns left out)\n", regions,
              skipped, cropped);
  EXPECT_GT(skipped, regions / 2);
  EXPECT_GT(cropped, regions / 2);
}

// The fast path (rgb_pixels.h: JPEGs whose crop is at least 2·S decoded at a reduced DCT
// scale) against the exact path, which the test above holds equal to Pillow's: close, not
// equal. Prints the PSNR and the largest difference (docs/pixels.md quotes them).
TEST_F(PillowExactnessTest, FastPathStaysCloseToTheExactPath) {
  ASSERT_EQ(generator_exit_, 0) << testing::ReadFile(dir_->path() / "generator.log");
  int cases = 0, worst_abs = 0;
  double squared = 0, values = 0, worst_psnr = 1e9;
  std::map<int, int> by_denom;
  for (const nlohmann::json& c : Cases()) {
    const std::string file = c["file"];
    const CropBox box{c["top"], c["left"], c["crop_height"], c["crop_width"]};
    const int size = c["size"];
    const std::string bytes = testing::ReadFile(dir_->path() / file);
    const bool jpeg = file.ends_with(".jpg");
    std::vector<uint8_t> exact(static_cast<size_t>(size) * size * 3), fast(exact.size());
    ASSERT_TRUE(RgbPixels(bytes, box, c["flip"], size, {}, exact.data()).ok()) << file;
    ASSERT_TRUE(RgbPixels(bytes, box, c["flip"], size, {.fast = true}, fast.data()).ok()) << file;
    const int denom = FastScaleDenom(box, size);
    if (!jpeg || denom == 1) {
      EXPECT_EQ(fast, exact) << file << ": the fast path applies only to large JPEG crops";
      continue;
    }
    ++cases;
    ++by_denom[denom];
    double case_squared = 0;
    for (size_t i = 0; i < exact.size(); ++i) {
      const int d = std::abs(int{fast[i]} - int{exact[i]});
      worst_abs = std::max(worst_abs, d);
      case_squared += static_cast<double>(d) * d;
    }
    squared += case_squared;
    values += static_cast<double>(exact.size());
    const double psnr = 10 * std::log10(255.0 * 255.0 * exact.size() / std::max(case_squared, 1.0));
    worst_psnr = std::min(worst_psnr, psnr);
    EXPECT_GT(psnr, 25) << file << " (1/" << denom << " scale)";
  }
  const double psnr = 10 * std::log10(255.0 * 255.0 * values / std::max(squared, 1.0));
  std::printf(
      "fast path: %d JPEG cases (1/2: %d, 1/4: %d, 1/8: %d), PSNR %.1f dB over all, "
      "worst case %.1f dB, max abs difference %d\n",
      cases, by_denom[2], by_denom[4], by_denom[8], psnr, worst_psnr, worst_abs);
  EXPECT_GE(cases, CaseCount() / 40) << "the corpus has large JPEG crops";
  EXPECT_GT(psnr, 35);
}

}  // namespace
}  // namespace maskfeed
