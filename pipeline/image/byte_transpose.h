// Byte-layout moves for the resize's planar, column-major passes — interleaved RGB into planes,
// byte matrices into columns: written here because no Debian library offers them and they sit
// on the pixel hot path (moving a crop's bytes into columns cost a third of a sample's time
// with a plain loop; splitting its pixels into planes a tenth of the fast path's).
#ifndef MASKFEED_PIPELINE_IMAGE_BYTE_TRANSPOSE_H_
#define MASKFEED_PIPELINE_IMAGE_BYTE_TRANSPOSE_H_

#include <cstddef>
#include <cstdint>

namespace maskfeed {

// `rows` rows of `cols` bytes (row i at in + i * in_stride) into `cols` rows of `rows` bytes
// (row j at out + j * out_stride).
void TransposeBytes(const uint8_t* in, size_t in_stride, int rows, int cols, uint8_t* out,
                    size_t out_stride);

// `n` interleaved RGB pixels (3n bytes) into three planes of n bytes. SSSE3 where the CPU has
// it (and MASKFEED_PORTABLE_PIXELS is unset), a plain loop otherwise; the same bytes either way.
void SplitRgb(const uint8_t* rgb, size_t n, uint8_t* r, uint8_t* g, uint8_t* b);
// The plain loop (for tests).
void SplitRgbScalar(const uint8_t* rgb, size_t n, uint8_t* r, uint8_t* g, uint8_t* b);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_IMAGE_BYTE_TRANSPOSE_H_
