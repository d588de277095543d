// Writes numpy `.npz` archives: a zip of `.npy` members stored uncompressed, as numpy.savez
// writes them, so `numpy.load(path)["caption/tensor"]` reads a member. Write() goes through
// OutputFile (a temporary, renamed when complete), so a reader never sees half an archive and
// a failed write leaves nothing behind; Encode() gives the archive's bytes (a tar member of a
// synthetic dataset, as 4M stores t5_caption).
#ifndef MASKFEED_PIPELINE_TOOLS_NPZ_WRITER_H_
#define MASKFEED_PIPELINE_TOOLS_NPZ_WRITER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/base/dtype.h"

namespace maskfeed {

class NpzWriter {
 public:
  // Members are plain zip (no zip64): each member and every offset below 4 GiB, and at most
  // 65,535 members.
  static constexpr uint64_t kMaxZipBytes = 0xFFFFFFFFull;
  static constexpr size_t kMaxMembers = 0xFFFF;

  // Adds member `name`.npy. The data is not copied: it must stay valid until Write returns.
  // Requires: `data` holds product(shape) * ItemSize(dtype) bytes.
  void Add(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
           const void* data);
  // Adds member `name`.npy: a 1-D array of numpy strings (dtype '<Un') holding `values`
  // (UTF-8; an invalid byte reads as U+FFFD). The writer keeps its own copy.
  void AddStrings(const std::string& name, const std::vector<std::string>& values);
  // Adds member `name`.npy of numpy type `descr` ("<f2", "|b1", ...) holding `bytes`, which
  // the writer keeps. Requires: `bytes` is the C-order data of that type and shape.
  void AddBytes(const std::string& name, std::string_view descr, const std::vector<int64_t>& shape,
                std::string bytes);
  // INVALID_ARGUMENT (before anything is written) when the archive would pass the zip limits
  // above; INTERNAL naming the path when it cannot be written.
  absl::Status Write(const std::string& path) const;
  // The archive's bytes; INVALID_ARGUMENT past the zip limits, as Write.
  absl::StatusOr<std::string> Encode() const;

 private:
  struct Member {
    std::string name;
    std::string header;  // the .npy header
    const void* data;
    uint64_t data_bytes;
  };
  // Checks the limits, then hands the archive to `sink` part by part; `what` names it in
  // errors.
  absl::Status Emit(const std::string& what,
                    const std::function<absl::Status(std::string_view)>& sink) const;

  std::vector<Member> members_;
  std::deque<std::u32string> owned_;     // AddStrings' data (a deque: members point into it)
  std::deque<std::string> owned_bytes_;  // AddBytes' data
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TOOLS_NPZ_WRITER_H_
