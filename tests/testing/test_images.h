// Small real JPEG and PNG files for tests, encoded with libjpeg-turbo and libpng (link
// JPEG::JPEG and PNG::PNG): a horizontal gradient of the given size.
#ifndef MASKFEED_TESTS_TESTING_TEST_IMAGES_H_
#define MASKFEED_TESTS_TESTING_TEST_IMAGES_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

// clang-format off
#include <jpeglib.h>  // needs <cstdio> first
#include <png.h>
// clang-format on

namespace maskfeed::testing {

inline std::vector<unsigned char> GradientRgb(int width, int height) {
  std::vector<unsigned char> rgb(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<unsigned char>((i / 3) % width);
  return rgb;
}

inline std::string EncodeTestJpeg(int width, int height) {
  std::vector<unsigned char> rgb = GradientRgb(width, height);
  jpeg_compress_struct info;
  jpeg_error_mgr error;
  info.err = jpeg_std_error(&error);
  jpeg_create_compress(&info);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &out, &size);
  info.image_width = static_cast<JDIMENSION>(width);
  info.image_height = static_cast<JDIMENSION>(height);
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = rgb.data() + static_cast<size_t>(info.next_scanline) * width * 3;
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::string bytes(reinterpret_cast<char*>(out), size);
  std::free(out);
  return bytes;
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
