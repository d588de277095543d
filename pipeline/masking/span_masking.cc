#include "pipeline/masking/span_masking.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace maskfeed {
namespace {

constexpr double kDecay = 0.9;
// The decay loop ends by itself (a tiny keep probability drops everything, leaving the input
// [S_1]); past this many rounds we drop everything outright rather than spin.
constexpr int kMaxDecayRounds = 400;

}  // namespace

void SplitUnits(size_t length, int chunk_tokens, size_t tail, SpanScratch* s) {
  s->units.clear();
  const size_t body = length - tail;
  const size_t step = chunk_tokens > 0 ? static_cast<size_t>(chunk_tokens) : 1;
  for (size_t start = 0; start < body; start += step)
    s->units.push_back(static_cast<uint32_t>(start));
  if (tail > 0) s->units.push_back(static_cast<uint32_t>(body));
  s->units.push_back(static_cast<uint32_t>(length));
}

void SplitChunkUnits(std::span<const uint32_t> bounds, size_t tail, SpanScratch* s) {
  s->units.clear();
  for (size_t c = 0; c + 1 < bounds.size(); ++c) s->units.push_back(bounds[c]);
  const uint32_t body = bounds.empty() ? 0 : bounds.back();
  if (tail > 0) s->units.push_back(body);
  s->units.push_back(body + static_cast<uint32_t>(tail));
}

size_t DrawKeeps(double keep_prob, Rng& rng, SpanScratch* s, size_t limit) {
  const size_t n = s->units.size() - 1;
  s->keep.resize(n);
  uint8_t* keep = s->keep.data();
  const uint32_t* units = s->units.data();
  const bool all = keep_prob >= 1, none = keep_prob <= 0;
  size_t length = 0;
  if (all || none) {  // certain outcomes need no draws
    std::memset(keep, all, n);
    if (all) return units[n] - units[0];
    return n > 0 ? 1 : 0;
  }
  // keep iff U[0,1) <= keep_prob, with 32-bit uniforms (resolution 2^-32, far below anything
  // a keep probability can show), two per 64-bit draw.
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(keep_prob, 32));
  // A kept unit adds its tokens; a dropped unit that starts a run adds its sentinel. The input
  // length only grows, so a round already over the limit is rejected whatever follows.
  bool previous_kept = true;
  size_t u = 0;
  if (units[n] == n) {  // single-token units: the common case, kept branch-free
    for (; u + 1 < n; u += 2) {
      const uint64_t x = rng.Next();
      const bool k0 = (x & 0xFFFFFFFFu) < threshold, k1 = (x >> 32) < threshold;
      keep[u] = k0;
      keep[u + 1] = k1;
      length += (k0 | previous_kept) + (k1 | k0);
      previous_kept = k1;
      if (length > limit) return limit + 1;
    }
  }
  for (; u < n; ++u) {
    const bool kept = rng.Next32() < threshold;
    keep[u] = kept;
    length += kept ? units[u + 1] - units[u] : previous_kept;
    if (length > limit) return limit + 1;
    previous_kept = kept;
  }
  return length;
}

void BuildSpans(const ModalitySpec& spec, bool rows, SpanScratch* s) {
  size_t n = s->units.size() - 1;
  const size_t tokens = s->ids.size();
  // Bounds: the input holds at most every token plus one sentinel per run; the target every
  // token plus one sentinel per run and the closing one.
  s->input.resize(tokens + n + 1);
  s->target.resize(rows ? 0 : tokens + n + 2);
  int32_t* in = s->input.data();
  int32_t* out = s->target.data();
  const int32_t* ids = s->ids.data();
  const uint32_t* units = s->units.data();
  const uint8_t* keep = s->keep.data();
  int span = 0;
  bool previous_kept = true;
  if (!rows && units[n] == n) {  // single-token units: the common case
    for (size_t u = 0; u < n; ++u) {
      const int32_t id = ids[u];
      if (keep[u]) {
        *in++ = id;
      } else {
        if (previous_kept) {
          const int32_t sentinel = spec.sentinel(++span);
          *in++ = sentinel;
          *out++ = sentinel;
        }
        *out++ = id;
      }
      previous_kept = keep[u];
    }
    n = 0;  // done; fall through to close the target
  }
  for (size_t u = 0; u < n; ++u) {
    const uint32_t begin = units[u], end = units[u + 1];
    if (keep[u]) {
      for (uint32_t i = begin; i < end; ++i) *in++ = rows ? static_cast<int32_t>(i) : ids[i];
    } else {
      if (previous_kept) {
        ++span;
        *in++ = rows ? -1 : spec.sentinel(span);
        if (!rows) *out++ = spec.sentinel(span);
      }
      if (!rows) out = std::copy(ids + begin, ids + end, out);
    }
    previous_kept = keep[u];
  }
  if (!rows) *out++ = spec.sentinel(span + 1);
  s->input.resize(static_cast<size_t>(in - s->input.data()));
  s->target.resize(static_cast<size_t>(out - s->target.data()));
}

void TruncateTarget(const ModalitySpec& spec, int budget, Rng& rng, SpanScratch* s) {
  ScratchArray<int32_t>& t = s->target;
  const size_t size = t.size(), want = static_cast<size_t>(budget);
  if (size <= want) return;
  // Number of sentinels q; the cut starts at sentinel c, uniform in [0, max(1, q - 1)).
  size_t q = 0;
  for (int32_t id : t) q += spec.is_sentinel(id);
  const size_t c = rng.Below(static_cast<uint32_t>(std::max<size_t>(1, q - 1)));
  size_t seen = 0, start = 0;
  for (size_t i = 0; i < size; ++i) {
    if (spec.is_sentinel(t[i]) && seen++ == c) {
      start = i;
      break;
    }
  }
  size_t keep = want;
  if (size - start < want) {
    // The longest suffix that fits and starts at a sentinel.
    for (size_t i = 0; i < size; ++i) {
      if (spec.is_sentinel(t[i]) && size - i <= want) {
        start = i;
        break;
      }
    }
    keep = size - start;
  }
  std::memmove(t.data(), t.data() + start, keep * sizeof(int32_t));
  t.resize(keep);
}

void MaskSpans(const ModalitySpec& spec, KeepScheme scheme, int input, int target, bool rows,
               Rng& rng, SpanScratch* s) {
  double keep_prob = 0;
  if (input > 0) {
    switch (scheme) {
      case KeepScheme::kRandom:
        keep_prob = rng.Uniform();
        break;
      case KeepScheme::kAll:
        keep_prob = 1;
        break;
      case KeepScheme::kBinary:
        keep_prob = rng.Below(2);
        break;
    }
    int rounds = 0;
    const size_t limit = static_cast<size_t>(input);
    while (DrawKeeps(keep_prob, rng, s, limit) > limit) {
      keep_prob = ++rounds < kMaxDecayRounds ? keep_prob * kDecay : 0;
    }
  } else {
    DrawKeeps(0, rng, s);  // everything dropped
  }
  BuildSpans(spec, rows, s);
  if (input == 0) s->input.clear();  // 4M: with no input budget the input is empty, not [S_1]
  if (!rows && target != kAllRemaining) TruncateTarget(spec, target, rng, s);
}

void LayoutSequence(const ModalitySpec& spec, std::span<const int32_t> input,
                    std::span<const int32_t> target, int target_offset, int32_t* tokens,
                    uint8_t* input_mask, uint8_t* target_mask, int32_t* decoder_attention) {
  const size_t length = static_cast<size_t>(spec.length());
  std::memset(tokens, 0, length * sizeof(int32_t));
  std::memset(input_mask, 1, length);
  std::memset(target_mask, 1, length);
  std::memset(decoder_attention, 0, length * sizeof(int32_t));
  std::copy(input.begin(), input.end(), tokens);
  std::memset(input_mask, 0, input.size());
  std::copy(target.begin(), target.end(), tokens + target_offset);
  std::memset(target_mask + target_offset, 0, target.size());
  std::fill_n(decoder_attention + target_offset, target.size(), 1);
}

}  // namespace maskfeed
