// SHA-256 digests, computed by OpenSSL (libcrypto, which gRPC already brings in). Used for
// identities that must be stable across builds: dataset fingerprints, 4M's modality ids.
#ifndef MASKFEED_PIPELINE_BASE_SHA256_H_
#define MASKFEED_PIPELINE_BASE_SHA256_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace maskfeed {

std::array<uint8_t, 32> Sha256(std::string_view data);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_SHA256_H_
