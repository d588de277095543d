// The rgb@S pixel path against Pillow itself (4m-raw-data §3.3): a corpus of JPEG and PNG
// files of every kind 4M's rgb members come in, written and decoded, cropped, resized and
// flipped by python3-pil (tests/data/images/make_pillow_corpus.py, run here), must give the
// same bytes through DecodeRgb, then CropRgb, ResizeBicubic and FlipRgb, and through the
// planar CropResizeFlip: the decoded image and the S×S result, by SHA-256.
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pipeline/base/sha256.h"
#include "pipeline/image/decode_rgb.h"
#include "pipeline/image/image_header.h"
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

  static testing::TempDir* dir_;
  static int generator_exit_;
};

testing::TempDir* PillowExactnessTest::dir_ = nullptr;
int PillowExactnessTest::generator_exit_ = -1;

TEST_F(PillowExactnessTest, DecodeCropResizeFlipEqualPillowBitForBit) {
  ASSERT_EQ(generator_exit_, 0) << testing::ReadFile(dir_->path() / "generator.log");
  const std::string manifest = testing::ReadFile(dir_->path() / "manifest.jsonl");
  std::map<std::string, int> cases_by_kind, decode_mismatches, output_mismatches;
  std::set<int> sizes;
  int cases = 0, outside = 0, flipped = 0, jpegs = 0, scanned_jpegs = 0;
  for (size_t start = 0; start < manifest.size();) {
    size_t end = manifest.find('\n', start);
    if (end == std::string::npos) end = manifest.size();
    const nlohmann::json c = nlohmann::json::parse(manifest.substr(start, end - start));
    start = end + 1;
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
    if (Hex(View(out)) != c["out_sha256"] || Hex(View(hwc)) != c["out_sha256"]) {
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

// The fast path (rgb_pixels.h: JPEGs whose crop is at least 2·S decoded at a reduced DCT
// scale) against the exact path, which the test above holds equal to Pillow's: close, not
// equal. Prints the PSNR and the largest difference (docs/pixels.md quotes them).
TEST_F(PillowExactnessTest, FastPathStaysCloseToTheExactPath) {
  ASSERT_EQ(generator_exit_, 0) << testing::ReadFile(dir_->path() / "generator.log");
  const std::string manifest = testing::ReadFile(dir_->path() / "manifest.jsonl");
  int cases = 0, worst_abs = 0;
  double squared = 0, values = 0, worst_psnr = 1e9;
  std::map<int, int> by_denom;
  for (size_t start = 0; start < manifest.size();) {
    size_t end = manifest.find('\n', start);
    if (end == std::string::npos) end = manifest.size();
    const nlohmann::json c = nlohmann::json::parse(manifest.substr(start, end - start));
    start = end + 1;
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
      case_squared += double{d} * d;
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
