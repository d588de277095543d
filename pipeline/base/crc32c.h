// CRC-32C (Castagnoli), the checksum of every stored unit of the native shard format.
// Uses the SSE4.2 instruction when the processor has it, a table otherwise.
#ifndef MASKFEED_PIPELINE_BASE_CRC32C_H_
#define MASKFEED_PIPELINE_BASE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace maskfeed {

// CRC-32C of `size` bytes, continuing from `crc` (0 to start).
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_CRC32C_H_
