// SplitMix64 (Steele, Lea and Flood, 2014): the 64-bit finalizer that scatters nearby inputs
// far apart, and the generator built on it. maskfeed derives every seed, permutation key and
// synthetic value from these two functions, so the bytes of a stream depend on them: changing
// either changes every golden output.
#ifndef MASKFEED_PIPELINE_BASE_SPLITMIX64_H_
#define MASKFEED_PIPELINE_BASE_SPLITMIX64_H_

#include <cstdint>

namespace maskfeed {

// The generator's increment, 2^64 / golden ratio.
inline constexpr uint64_t kSplitMixGamma = 0x9E3779B97F4A7C15ull;

// The finalizer: a bijection of 64-bit values with good avalanche.
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Advances `state` and returns the next value of its sequence.
constexpr uint64_t SplitMix64(uint64_t* state) { return Mix64(*state += kSplitMixGamma); }

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_SPLITMIX64_H_
