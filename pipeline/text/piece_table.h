// WordPiece's vocabulary lookup: string -> id, built once, read by every thread.
//
// Hand-made rather than a general hash map because it is the tokenizer's innermost step (one
// lookup per word piece tried, several per word): a key of up to 16 bytes is compared as two
// 64-bit words taken from its two ends (overlapping), which cover every byte, so most lookups
// are one hash of two words and one slot compared, with no string compare and no pointer to
// follow. Longer keys (rare: 4M's longest piece has 16 bytes) also compare their middle.
//
//   PieceTable table;
//   table.Insert("horse", 4241);
//   table.Find("horse");  // 4241; -1 when absent
#ifndef MASKFEED_PIPELINE_TEXT_PIECE_TABLE_H_
#define MASKFEED_PIPELINE_TEXT_PIECE_TABLE_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/base/unaligned.h"

namespace maskfeed::text {

class PieceTable {
 public:
  // Adds `key` (or gives it a new id); false when the keys over 16 bytes would pass 4 GiB.
  // Not thread-safe; call before any Find.
  bool Insert(std::string_view key, int32_t id);
  // The id of `key`, or -1.
  int32_t Find(std::string_view key) const {
    if (slots_.empty()) return -1;
    const Fingerprint f = FingerprintOf(key);
    for (size_t i = Hash(f, key.size()) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.length == key.size() && s.lo == f.lo && s.hi == f.hi &&
          (key.size() <= 16 ||
           std::memcmp(long_keys_.data() + s.long_key, key.data(), key.size()) == 0)) {
        return s.id;
      }
    }
  }
  size_t size() const { return size_; }

 private:
  struct Fingerprint {
    uint64_t lo = 0, hi = 0;
  };
  struct Slot {
    uint64_t lo = 0, hi = 0;
    uint32_t length = 0;
    int32_t id = -1;        // -1: empty
    uint32_t long_key = 0;  // offset of a key over 16 bytes in long_keys_
  };

  // Two words that, with the length, determine a key of up to 16 bytes.
  static Fingerprint FingerprintOf(std::string_view key) {
    const char* p = key.data();
    const size_t n = key.size();
    if (n >= 8) return {LoadU64(p), LoadU64(p + n - 8)};
    if (n >= 4) return {uint64_t{LoadU32(p)} | uint64_t{LoadU32(p + n - 4)} << 32, 0};
    if (n == 0) return {};
    return {uint64_t{static_cast<uint8_t>(p[0])} | uint64_t{static_cast<uint8_t>(p[n / 2])} << 8 |
                uint64_t{static_cast<uint8_t>(p[n - 1])} << 16,
            0};
  }
  static size_t Hash(const Fingerprint& f, size_t length) {
    uint64_t h = (f.lo ^ length) * 0x9E3779B97F4A7C15ull;
    h ^= (f.hi + (h >> 29)) * 0xC2B2AE3D27D4EB4Full;
    return static_cast<size_t>(h ^ (h >> 32));
  }
  void Grow();
  void Place(const Slot& slot);

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
  std::string long_keys_;
};

}  // namespace maskfeed::text

#endif  // MASKFEED_PIPELINE_TEXT_PIECE_TABLE_H_
