// JPEG encoding (libjpeg-turbo) of packed RGB pixels: for synthetic datasets and tests.
#ifndef MASKFEED_PIPELINE_IMAGE_JPEG_ENCODE_H_
#define MASKFEED_PIPELINE_IMAGE_JPEG_ENCODE_H_

#include <cstdint>
#include <string>

namespace maskfeed {

// A baseline 4:2:0 JPEG of `rgb` (height rows of width × 3 bytes). Requires: width and
// height in 1..65500, rgb holding width * height * 3 bytes, quality in 1..100.
std::string EncodeRgbJpeg(const uint8_t* rgb, int width, int height, int quality);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_IMAGE_JPEG_ENCODE_H_
