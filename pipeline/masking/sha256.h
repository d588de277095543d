// SHA-256 (FIPS 180-4), used to derive 4M's modality ids: SHA-256(name) mod 2^15.
#ifndef MASKFEED_PIPELINE_MASKING_SHA256_H_
#define MASKFEED_PIPELINE_MASKING_SHA256_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace maskfeed {

std::array<uint8_t, 32> Sha256(std::string_view data);

// 4M's modality id: the digest read as a big-endian integer, mod 2^15.
uint32_t ModalityIdFromName(std::string_view name);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_MASKING_SHA256_H_
