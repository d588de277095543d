// Reading and writing numpy `.npy` files (format versions 1.0, 2.0 and 3.0).
//
// maskfeed reads C-ordered, little-endian numeric arrays of the DType list. Parsing works on a
// byte view (a tar member mapped in memory); errors say what is wrong but not where the bytes
// came from, so callers prefix the file and record.
#ifndef MASKFEED_PIPELINE_SHARD_NPY_H_
#define MASKFEED_PIPELINE_SHARD_NPY_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "pipeline/base/dtype.h"
#include "pipeline/base/record.h"

namespace maskfeed {

struct NpyHeader {
  DType dtype = DType::kInt32;
  Shape shape;
  size_t data_offset = 0;  // where the array bytes start within the file
  size_t data_bytes = 0;   // NumElements() * ItemSize(dtype); for object arrays, what follows
  // An object array ('descr': '|O'): its data is a Python pickle (4M's sam_instance), read
  // by a restricted reader elsewhere; `dtype` is meaningless.
  bool object = false;
};

// Parses the header of a whole `.npy` file and checks that exactly `data_bytes` follow it
// (object arrays: any bytes).
// Errors are DATA_LOSS.
absl::StatusOr<NpyHeader> ParseNpy(std::string_view file);

// Serialises an array as a version 1.0 `.npy` file (header padded to 64 bytes, as numpy does).
// Requires: `data` holds shape.NumElements() * ItemSize(dtype) bytes.
std::string EncodeNpy(DType dtype, const Shape& shape, const void* data);
// The header alone (magic, version, dict): what precedes the data bytes in EncodeNpy's output.
std::string EncodeNpyHeader(DType dtype, const Shape& shape);
// The same with numpy's dtype string itself ("<U12": strings of 12 UTF-32 code points).
std::string EncodeNpyHeader(std::string_view descr, const Shape& shape);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_NPY_H_
