// Little-endian loads of integers from unaligned bytes (the hosts maskfeed builds for are
// little-endian; memcpy compiles to one load).
#ifndef MASKFEED_PIPELINE_BASE_UNALIGNED_H_
#define MASKFEED_PIPELINE_BASE_UNALIGNED_H_

#include <cstdint>
#include <cstring>

namespace maskfeed {

inline uint32_t LoadU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint64_t LoadU64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_UNALIGNED_H_
