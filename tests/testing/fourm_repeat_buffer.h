// A model of 4M's repeat stage and the shuffle buffer after it, to hold maskfeed's repeat
// spread against: ml-4m's loader (fourm/data/unified_datasets.py) yields each decoded sample
// wds_n_repeats times in a row (repeat_fn) into webdataset's shuffle with bufsize
// wds_shuffle_buffer_repeat and its default initial of 100. That shuffle appends the next
// input (two while the buffer is below bufsize), and once the buffer holds `initial` items,
// outputs one drawn uniformly from it (the last item moved into its place); at the end of the
// input it drains the buffer the same way. Written from webdataset's documented behaviour and
// source (filters.py: _shuffle, pick); the generator is ours, so the draws are not Python's.
#ifndef MASKFEED_TESTS_TESTING_FOURM_REPEAT_BUFFER_H_
#define MASKFEED_TESTS_TESTING_FOURM_REPEAT_BUFFER_H_

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

namespace maskfeed::testing {

// The sample sequence 4M's loader emits for `samples` samples (0, 1, ... in the order the
// first shuffle gave them), each repeated `repeats` times, through a buffer of `bufsize`.
inline std::vector<uint64_t> FourMRepeatBuffer(uint64_t samples, uint32_t repeats, uint32_t bufsize,
                                               uint64_t seed, uint32_t initial = 100) {
  initial = std::min(initial, bufsize);
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> buf, out;
  uint64_t next = 0;
  const uint64_t total = samples * repeats;
  auto input = [&](uint64_t* v) {
    if (next == total) return false;
    *v = next++ / repeats;
    return true;
  };
  auto pick = [&] {
    const size_t k = std::uniform_int_distribution<size_t>(0, buf.size() - 1)(rng);
    out.push_back(buf[k]);
    buf[k] = buf.back();
    buf.pop_back();
  };
  for (uint64_t v; input(&v);) {
    buf.push_back(v);
    if (buf.size() < bufsize && input(&v)) buf.push_back(v);
    if (buf.size() >= initial) pick();
  }
  while (!buf.empty()) pick();
  return out;
}

// Mean distinct samples per batch over the whole batches of `sequence` from `skip` on.
inline double DistinctPerBatch(const std::vector<uint64_t>& sequence, size_t batch,
                               size_t skip = 0) {
  const size_t batches = (sequence.size() - skip) / batch;
  double total = 0;
  for (size_t b = 0; b < batches; ++b) {
    const auto first = sequence.begin() + static_cast<ptrdiff_t>(skip + b * batch);
    total += static_cast<double>(
        std::set<uint64_t>(first, first + static_cast<ptrdiff_t>(batch)).size());
  }
  return batches == 0 ? 0 : total / static_cast<double>(batches);
}

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_FOURM_REPEAT_BUFFER_H_
