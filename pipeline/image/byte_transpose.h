// Byte-matrix transposition for the resize's planar, column-major passes: written here
// because no Debian library offers it and it sits on the pixel hot path (moving a crop's
// bytes into columns cost a third of a sample's time with a plain loop).
#ifndef MASKFEED_PIPELINE_IMAGE_BYTE_TRANSPOSE_H_
#define MASKFEED_PIPELINE_IMAGE_BYTE_TRANSPOSE_H_

#include <cstddef>
#include <cstdint>

namespace maskfeed {

// `rows` rows of `cols` bytes (row i at in + i * in_stride) into `cols` rows of `rows` bytes
// (row j at out + j * out_stride).
void TransposeBytes(const uint8_t* in, size_t in_stride, int rows, int cols, uint8_t* out,
                    size_t out_stride);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_IMAGE_BYTE_TRANSPOSE_H_
