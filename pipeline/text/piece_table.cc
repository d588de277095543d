#include "pipeline/text/piece_table.h"

#include <cstdint>

namespace maskfeed::text {

bool PieceTable::Insert(std::string_view key, int32_t id) {
  const Fingerprint f = FingerprintOf(key);
  if (!slots_.empty()) {
    for (size_t i = Hash(f, key.size()) & mask_; slots_[i].id >= 0; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.length == key.size() && s.lo == f.lo && s.hi == f.hi &&
          (key.size() <= 16 ||
           std::memcmp(long_keys_.data() + s.long_key, key.data(), key.size()) == 0)) {
        s.id = id;
        return true;
      }
    }
  }
  if (key.size() > 16 && key.size() > UINT32_MAX - long_keys_.size()) return false;
  // At most half full: probes stay short.
  if (2 * (size_ + 1) > slots_.size()) Grow();
  Slot slot{.lo = f.lo, .hi = f.hi, .length = static_cast<uint32_t>(key.size()), .id = id};
  if (key.size() > 16) {
    slot.long_key = static_cast<uint32_t>(long_keys_.size());
    long_keys_.append(key);
  }
  Place(slot);
  ++size_;
  return true;
}

void PieceTable::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 64 : 2 * old.size(), Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.id >= 0) Place(s);
  }
}

void PieceTable::Place(const Slot& slot) {
  size_t i = Hash(Fingerprint{slot.lo, slot.hi}, slot.length) & mask_;
  while (slots_[i].id >= 0) i = (i + 1) & mask_;
  slots_[i] = slot;
}

}  // namespace maskfeed::text
