// Reading NumPy `.npz` members (4M's t5_caption): a zip archive of `.npy` arrays, stored or
// deflated, as np.savez / np.savez_compressed write them (zip64 headers included). libzip
// reads the archive from memory and checks every member's CRC-32; the arrays are parsed by
// npy.h. Sizes are bounded before anything is inflated.
//
//   absl::StatusOr<NpzArrays> arrays = ReadNpz(bytes, {"emb", "mask_valid"});
//   const NpzArray& emb = arrays->at("emb");   // header (dtype, shape) and data bytes
#ifndef MASKFEED_PIPELINE_TEXT_NPZ_H_
#define MASKFEED_PIPELINE_TEXT_NPZ_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/shard/npy.h"

namespace maskfeed {

// The most an archive's wanted members may inflate to, together (a 4M t5_caption of 4 crops ×
// 77 rows × 4096 floats is 5 MB).
inline constexpr size_t kMaxNpzBytes = 256 << 20;

struct NpzArray {
  NpyHeader header;  // data_offset is 0: `data` holds the array's bytes alone
  std::string data;
};
using NpzArrays = std::map<std::string, NpzArray>;

// Reads the arrays named `names` ("emb" for member "emb.npy"). DATA_LOSS saying what is wrong:
// not a zip, a missing member, a CRC or inflate error, a member over `max_bytes`, an array that
// is not a numeric .npy.
absl::StatusOr<NpzArrays> ReadNpz(std::string_view bytes, const std::vector<std::string>& names,
                                  size_t max_bytes = kMaxNpzBytes);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TEXT_NPZ_H_
