// Writes numpy `.npz` archives: a zip of `.npy` members stored uncompressed, as numpy.savez
// writes them, so `numpy.load(path)["caption/tensor"]` reads a member. Written to a temporary
// file and renamed, so a reader never sees half an archive.
#ifndef MASKFEED_CLIENT_CPP_NPZ_WRITER_H_
#define MASKFEED_CLIENT_CPP_NPZ_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "pipeline/shard/dtype.h"

namespace maskfeed {

class NpzWriter {
 public:
  // Adds member `name`.npy. Requires: `data` holds product(shape) * ItemSize(dtype) bytes.
  void Add(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
           const void* data);
  // INTERNAL naming the path when it cannot be written; INVALID_ARGUMENT past 4 GiB (no zip64).
  absl::Status Write(const std::string& path) const;

 private:
  struct Member {
    std::string name;
    std::string bytes;  // the .npy file
  };
  std::vector<Member> members_;
};

// CRC-32 (IEEE 802.3, as zip uses).
uint32_t Crc32Ieee(const void* data, size_t size);

}  // namespace maskfeed

#endif  // MASKFEED_CLIENT_CPP_NPZ_WRITER_H_
