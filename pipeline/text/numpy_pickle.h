// A restricted reader of the pickles NumPy writes for object arrays (np.save with
// allow_pickle; 4M's sam_instance): it understands only the opcodes of protocols 2-4 that
// such pickles use and the globals NumPy names (ndarray reconstruction, dtype, and
// _codecs.encode for protocol-2 bytes), and it executes nothing: a REDUCE of any other global
// is an error. Values are plain data (none, bool, int, float, str, bytes, list, tuple, dict,
// ndarray). Nesting, object count and array sizes are bounded.
//
//   absl::StatusOr<PyObject> array = ReadNumpyPickle(bytes);  // bytes after the .npy header
#ifndef MASKFEED_PIPELINE_TEXT_NUMPY_PICKLE_H_
#define MASKFEED_PIPELINE_TEXT_NUMPY_PICKLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace maskfeed::text {

struct PyObject;
using PyRef = std::shared_ptr<const PyObject>;

struct PyObject {
  enum class Kind { kNone, kBool, kInt, kFloat, kStr, kBytes, kList, kTuple, kDict, kArray };
  Kind kind = Kind::kNone;
  int64_t integer = 0;       // kBool, kInt
  double real = 0;           // kFloat
  std::string text;          // kStr, kBytes; kArray: the numpy dtype ("<i4", "|O")
  std::vector<PyRef> items;  // kList, kTuple; kArray of objects: elements
  std::vector<std::pair<PyRef, PyRef>> entries;  // kDict, in insertion order
  std::vector<int64_t> shape;                    // kArray
  std::string data;                              // kArray of numbers: C-order bytes

  // The dict entry whose key is the str `key`, or null.
  const PyObject* Get(std::string_view key) const;
  // Elements of a numeric array as int64 / double (bool, ints, floats). Requires kArray.
  absl::StatusOr<std::vector<int64_t>> Ints() const;
  absl::StatusOr<std::vector<double>> Reals() const;
  int depth = 0;  // nesting depth of containers below this one
};

// Reads a pickle of the kind NumPy writes. DATA_LOSS saying which opcode or global at which
// byte was not understood or allowed, or what was malformed.
absl::StatusOr<PyRef> ReadNumpyPickle(std::string_view bytes);

}  // namespace maskfeed::text

#endif  // MASKFEED_PIPELINE_TEXT_NUMPY_PICKLE_H_
