#include "pipeline/base/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace maskfeed {

std::array<uint8_t, 32> Sha256(std::string_view data) {
  std::array<uint8_t, 32> digest{};
  unsigned int size = 0;
  // EVP_Digest fails only when OpenSSL cannot allocate its context; there is no digest to
  // return then, and no caller could go on without one.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    std::abort();
  }
  return digest;
}

}  // namespace maskfeed
