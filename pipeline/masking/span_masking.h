// T5-style span masking of sequences (docs/masking.md#sequence-masking): drop units (tokens, or
// whole chunks) at random, replace each run of dropped units in the input by one sentinel [S_k],
// and make the target the dropped runs, each after its sentinel, closed by [S_{m+1}]. Then fit the
// input into its budget (the 0.9 decay loop), cut the target to its budget at a sentinel, and lay
// both out in the 2 * (M + 1) tensor.
#ifndef MASKFEED_PIPELINE_MASKING_SPAN_MASKING_H_
#define MASKFEED_PIPELINE_MASKING_SPAN_MASKING_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "pipeline/base/random.h"
#include "pipeline/masking/masking_config.h"

namespace maskfeed {

// A scratch array whose resize() never initialises: storage only grows, so in the steady
// state resizing costs nothing.
template <typename T>
class ScratchArray {
 public:
  void resize(size_t n) {
    if (n > storage_.size()) storage_.resize(n);
    size_ = n;
  }
  void clear() { size_ = 0; }
  void push_back(T v) {
    resize(size_ + 1);
    storage_[size_ - 1] = v;
  }
  void pop_back() { --size_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return storage_.data(); }
  const T* data() const { return storage_.data(); }
  T& operator[](size_t i) { return storage_[i]; }
  const T& operator[](size_t i) const { return storage_[i]; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  operator std::span<const T>() const { return {data(), size_}; }

 private:
  std::vector<T> storage_;
  size_t size_ = 0;
};

// Buffers reused from sample to sample (no allocation in the steady state).
struct SpanScratch {
  ScratchArray<int32_t> ids;     // the prepared sequence
  ScratchArray<uint32_t> units;  // unit boundaries: unit u is ids[units[u], units[u + 1])
  ScratchArray<uint8_t> keep;    // per unit
  ScratchArray<int32_t> input;   // ids; for SEQ_EMB, row indices with -1 for sentinels
  ScratchArray<int32_t> target;
};

// Fills scratch->units for `length` ids: single tokens, or chunks of `chunk_tokens` with the
// last `tail` ids (the EOS) as a chunk of their own.
void SplitUnits(size_t length, int chunk_tokens, size_t tail, SpanScratch* scratch);
// The same for chunks of varying length: chunk c is ids [bounds[c], bounds[c + 1]), then the
// last `tail` ids. Requires: bounds starts at 0 and increases, scratch->ids holds
// bounds.back() + tail ids.
void SplitChunkUnits(std::span<const uint32_t> bounds, size_t tail, SpanScratch* scratch);

// Draws keep decisions for every unit with probability `keep_prob` and returns the input
// length they give (kept tokens plus one sentinel per dropped run). Stops drawing as soon as
// that length exceeds `limit` (the round is then rejected anyway) and returns limit + 1.
size_t DrawKeeps(double keep_prob, Rng& rng, SpanScratch* scratch, size_t limit = SIZE_MAX);

// Builds scratch->input and scratch->target from the keep decisions. With `rows` set, the
// input holds unit indices and -1 for sentinels instead of ids (SEQ_EMB) and no target is
// built.
void BuildSpans(const ModalitySpec& spec, bool rows, SpanScratch* scratch);

// Masks the prepared sequence (scratch->ids, scratch->units) for input budget `input` and
// target budget `target` (kAllRemaining = no target budget), as docs/masking.md#sequence-masking
// describes.
void MaskSpans(const ModalitySpec& spec, KeepScheme scheme, int input, int target, bool rows,
               Rng& rng, SpanScratch* scratch);

// Cuts scratch->target to `budget` ids starting at a randomly chosen sentinel
// (docs/masking.md#sequence-masking).
void TruncateTarget(const ModalitySpec& spec, int budget, Rng& rng, SpanScratch* scratch);

// Writes the 2 * (M + 1) layout: input at [0, |input|), target at [target_offset, ...).
void LayoutSequence(const ModalitySpec& spec, std::span<const int32_t> input,
                    std::span<const int32_t> target, int target_offset, int32_t* tokens,
                    uint8_t* input_mask, uint8_t* target_mask, int32_t* decoder_attention);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_MASKING_SPAN_MASKING_H_
