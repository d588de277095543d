#include "pipeline/base/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

// Bit-at-a-time CRC-32C, the definition the fast paths must match.
uint32_t Reference(const std::string& s) {
  uint32_t crc = ~0u;
  for (unsigned char c : s) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
  }
  return ~crc;
}

TEST(Crc32cTest, KnownCheckValue) { EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u); }

TEST(Crc32cTest, MatchesReferenceForEveryLengthAndAlignment) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 31 + 7));
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t len = 0; len + offset <= data.size(); len += 13) {
      const std::string piece = data.substr(offset, len);
      EXPECT_EQ(Crc32c(piece.data(), piece.size()), Reference(piece)) << offset << "+" << len;
    }
  }
}

TEST(Crc32cTest, ContinuesAcrossCalls) {
  const std::string a = "multimodal ", b = "masked modeling";
  EXPECT_EQ(Crc32c(b.data(), b.size(), Crc32c(a.data(), a.size())), Reference(a + b));
}

}  // namespace
}  // namespace maskfeed
