// Pillow's conversions to "RGB" of the modes 4M's images decode to (its Convert.c rules,
// written from their arithmetic): grey is replicated; CMYK JPEG samples, stored inverted
// (Adobe's convention, which Pillow assumes for every CMYK JPEG), become
// r = nk − nk·c/255 with nk = 255 − k and Pillow's rounded division by 255.
#ifndef MASKFEED_PIPELINE_IMAGE_PILLOW_CONVERT_H_
#define MASKFEED_PIPELINE_IMAGE_PILLOW_CONVERT_H_

#include <cstddef>
#include <cstdint>

namespace maskfeed {

// `n` grey samples into n RGB pixels.
void GreyToRgb(const uint8_t* grey, size_t n, uint8_t* rgb);
// `n` inverted CMYK pixels (4 bytes each, as libjpeg reads an Adobe CMYK JPEG) into RGB.
void InvertedCmykToRgb(const uint8_t* cmyk, size_t n, uint8_t* rgb);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_IMAGE_PILLOW_CONVERT_H_
