#include "pipeline/masking/image_masking.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>

namespace maskfeed {
namespace {

// 0, 1, 2, ...: copied rather than regenerated for every sample.
const std::array<uint16_t, 65536>& Identity() {
  static const std::array<uint16_t, 65536> identity = [] {
    std::array<uint16_t, 65536> a;
    std::iota(a.begin(), a.end(), uint16_t{0});
    return a;
  }();
  return identity;
}

}  // namespace

void MaskImage(int n, int input, int target, Rng& rng, uint8_t* input_mask, uint8_t* target_mask,
               int32_t* decoder_attention, std::vector<uint16_t>* scratch) {
  const int targets = target == kAllRemaining ? n - input : target;
  const int chosen = input + targets;
  std::memset(input_mask, 1, static_cast<size_t>(n));
  std::memset(target_mask, 1, static_cast<size_t>(n));
  std::memset(decoder_attention, 0, static_cast<size_t>(n) * sizeof(int32_t));
  // The first `chosen` steps of a Fisher-Yates shuffle give the first `chosen` entries of a
  // uniformly random permutation, which is all that 4M's argsort of uniforms decides.
  std::vector<uint16_t>& order = *scratch;
  order.resize(static_cast<size_t>(n));
  std::memcpy(order.data(), Identity().data(), static_cast<size_t>(n) * sizeof(uint16_t));
  int i = 0;
  // Two steps per 64-bit draw (Lemire's multiply; the rare biased value falls back to Below).
  for (; i + 1 < chosen; i += 2) {
    const uint64_t x = rng.Next();
    const uint32_t span0 = static_cast<uint32_t>(n - i), span1 = span0 - 1;
    const uint64_t m0 = (x & 0xFFFFFFFFu) * span0, m1 = (x >> 32) * span1;
    const uint32_t j0 =
        static_cast<uint32_t>(m0) < span0 ? rng.Below(span0) : static_cast<uint32_t>(m0 >> 32);
    std::swap(order[i], order[i + j0]);
    const uint32_t j1 =
        static_cast<uint32_t>(m1) < span1 ? rng.Below(span1) : static_cast<uint32_t>(m1 >> 32);
    std::swap(order[i + 1], order[i + 1 + j1]);
  }
  for (; i < chosen; ++i) {
    const int j = i + static_cast<int>(rng.Below(static_cast<uint32_t>(n - i)));
    std::swap(order[i], order[j]);
  }
  for (int i = 0; i < input; ++i) input_mask[order[i]] = 0;
  int first_target = n;
  for (int i = input; i < chosen; ++i) {
    target_mask[order[i]] = 0;
    first_target = std::min<int>(first_target, order[i]);
  }
  decoder_attention[targets > 0 ? first_target : 0] = targets;
}

}  // namespace maskfeed
