// Small real JPEG and PNG files for tests, encoded with libjpeg-turbo and libpng (link
// maskfeed_image and PNG::PNG): a horizontal gradient of the given size.
#ifndef MASKFEED_TESTS_TESTING_TEST_IMAGES_H_
#define MASKFEED_TESTS_TESTING_TEST_IMAGES_H_

#include <png.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "pipeline/image/jpeg_encode.h"
namespace maskfeed::testing {

inline std::vector<unsigned char> GradientRgb(int width, int height) {
  std::vector<unsigned char> rgb(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<unsigned char>((i / 3) % width);
  return rgb;
}

inline std::string EncodeTestJpeg(int width, int height) {
  const std::vector<unsigned char> rgb = GradientRgb(width, height);
  return EncodeRgbJpeg(rgb.data(), width, height, 75);
}

inline std::string EncodeTestPng(int width, int height) {
  std::vector<unsigned char> rgb = GradientRgb(width, height);
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  png_image_write_to_memory(&image, nullptr, &size, 0, rgb.data(), 0, nullptr);
  std::string bytes(size, '\0');
  png_image_write_to_memory(&image, bytes.data(), &size, 0, rgb.data(), 0, nullptr);
  bytes.resize(size);
  return bytes;
}

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_TEST_IMAGES_H_
