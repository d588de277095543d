// Writes the pickles NumPy's np.save(allow_pickle=True) writes for object arrays (protocol 3),
// for synthetic 4M datasets: sam_instance is such an array, one dict per crop variant. Only
// what those hold: object arrays, dicts, lists, str and numeric ndarrays. No memo is written
// (a pickle needs none); numpy.load reads the result as it reads its own.
//
//   NumpyPickleWriter w;
//   w.BeginObjectArray(2);             // np.empty(2, dtype=object)
//   w.BeginDict();
//   w.Str("token_ids");
//   w.Array("<i8", {3, 16}, bytes);    // an int64 (3, 16) ndarray
//   w.EndDict();
//   ...
//   w.EndObjectArray();
//   std::string npy = w.Npy();         // the .npy header for (2,) '|O' and the pickle
#ifndef MASKFEED_PIPELINE_TOOLS_NUMPY_PICKLE_WRITER_H_
#define MASKFEED_PIPELINE_TOOLS_NUMPY_PICKLE_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace maskfeed {

class NumpyPickleWriter {
 public:
  // A 1-D object array of `n` elements; its elements follow, then EndObjectArray(). Only one,
  // at the top.
  void BeginObjectArray(int64_t n);
  void EndObjectArray();
  // A dict: key, value, key, value, ... then EndDict().
  void BeginDict();
  void EndDict();
  void BeginList();
  void EndList();
  void Str(std::string_view text);
  // A numeric ndarray: `descr` is numpy's ("<i4", "<i8", "<f4", "<f2", "|u1", "|b1"),
  // `data` its C-order bytes.
  void Array(std::string_view descr, const std::vector<int64_t>& shape, std::string_view data);

  // The .npy file: header (descr '|O', the object array's shape) and the pickle.
  // Requires: the object array was ended.
  std::string Npy() const;

 private:
  // The ndarray reconstruction prefix up to the BUILD tuple's MARK, for this shape and dtype.
  void ArrayHead(const std::vector<int64_t>& shape, std::string_view type, char byte_order,
                 int flags);
  void Int(int64_t v);
  void Bytes(std::string_view data);

  std::string pickle_ = std::string("\x80\x03", 2);  // PROTO 3
  int64_t length_ = 0;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TOOLS_NUMPY_PICKLE_WRITER_H_
