#include "pipeline/collate/tensor_packing.h"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

bool NarrowIds(const int32_t* ids, int64_t count, uint16_t* out) {
  // Out-of-range values leave a mark in `bad` instead of a branch in the loop.
  int32_t bad = 0;
  int64_t i = 0;
#if defined(__SSE2__)
  // Eight at a time. SSE2 only packs with signed saturation, so values are shifted into the
  // int16 range and back: exact for 0..65535, and anything else is marked bad.
  const __m128i bias = _mm_set1_epi32(32768);
  const __m128i flip = _mm_set1_epi16(static_cast<int16_t>(0x8000));
  __m128i high = _mm_setzero_si128();
  for (; i + 8 <= count; i += 8) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ids + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ids + i + 4));
    high = _mm_or_si128(high, _mm_srli_epi32(_mm_or_si128(a, b), 16));
    const __m128i narrow = _mm_packs_epi32(_mm_sub_epi32(a, bias), _mm_sub_epi32(b, bias));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_xor_si128(narrow, flip));
  }
  bad |= _mm_movemask_epi8(_mm_cmpeq_epi32(high, _mm_setzero_si128())) != 0xFFFF;
#endif
  for (; i < count; ++i) {
    bad |= ids[i] & ~int32_t{0xFFFF};
    out[i] = static_cast<uint16_t>(ids[i]);
  }
  return bad == 0;
}

}  // namespace

bool PackUint16Row(const int32_t* row, int64_t cols, uint16_t* out) {
  return NarrowIds(row, cols, out);
}

TargetRowFit PackTargetRow(const uint8_t* target, const int32_t* attention, int64_t cols,
                           uint8_t* out) {
  // One pass, without branches on the values (targets fall at random, so branches on them
  // would mispredict): the ORs of all target and attention values, whether attention is
  // nonzero exactly where the target is 0, and how many targets and nonzero values there are.
  uint32_t target_or = 0, attention_or = 0, mismatch = 0;
  int64_t targets = 0, nonzero = 0;
  int64_t c = 0;
#if defined(__SSE2__)
  // Sixteen columns at a time: the target's bits (shifting each byte's low bit up to its top
  // bit lets movemask gather them, column c + i on bit i), and, for the rules, its zeros and
  // the attention's nonzeros as 16-bit masks and as 0/1 bytes that psadbw counts.
  const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi8(1);
  __m128i target_or16 = zero, attention_or16 = zero, targets16 = zero, nonzero16 = zero;
  for (; c + 16 <= cols; c += 16) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(target + c));
    target_or16 = _mm_or_si128(target_or16, t);
    const auto bits = static_cast<uint16_t>(_mm_movemask_epi8(_mm_slli_epi16(t, 7)));
    std::memcpy(out + (c >> 3), &bits, 2);  // little-endian: columns c..c+7 first
    if (attention == nullptr) continue;
    const __m128i t_zero = _mm_cmpeq_epi8(t, zero);
    targets16 = _mm_add_epi64(targets16, _mm_sad_epu8(_mm_and_si128(t_zero, one), zero));
    const auto* a = reinterpret_cast<const __m128i*>(attention + c);
    const __m128i a0 = _mm_loadu_si128(a), a1 = _mm_loadu_si128(a + 1), a2 = _mm_loadu_si128(a + 2),
                  a3 = _mm_loadu_si128(a + 3);
    attention_or16 =
        _mm_or_si128(attention_or16, _mm_or_si128(_mm_or_si128(a0, a1), _mm_or_si128(a2, a3)));
    // Zero lanes compare to -1, which the signed packs keep as -1 bytes.
    const __m128i a_zero =
        _mm_packs_epi16(_mm_packs_epi32(_mm_cmpeq_epi32(a0, zero), _mm_cmpeq_epi32(a1, zero)),
                        _mm_packs_epi32(_mm_cmpeq_epi32(a2, zero), _mm_cmpeq_epi32(a3, zero)));
    nonzero16 = _mm_add_epi64(nonzero16, _mm_sad_epu8(_mm_andnot_si128(a_zero, one), zero));
    // Where the target is 0, attention must be nonzero, and the reverse.
    mismatch |= static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(t_zero, a_zero)));
  }
  alignas(16) uint32_t lanes[2][4];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes[0]), target_or16);
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes[1]), attention_or16);
  for (int i = 0; i < 4; ++i) {
    // A target byte may only set its bit 0: any other bit marks the OR as not a mask.
    target_or |= (lanes[0][i] & ~0x01010101u) != 0 ? 2u : lanes[0][i] & 1u;
    attention_or |= lanes[1][i];
  }
  alignas(16) int64_t counts[2][2];
  _mm_store_si128(reinterpret_cast<__m128i*>(counts[0]), targets16);
  _mm_store_si128(reinterpret_cast<__m128i*>(counts[1]), nonzero16);
  targets = counts[0][0] + counts[0][1];
  nonzero = counts[1][0] + counts[1][1];
#endif
  // The rest, eight columns per packed byte.
  for (; c < cols; c += 8) {
    const int64_t n = std::min<int64_t>(8, cols - c);
    uint8_t bits = 0;
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t v = target[c + i];
      target_or |= v;
      bits |= static_cast<uint8_t>((v & 1) << i);
      targets += v == 0;
      if (attention == nullptr) continue;
      const int32_t a = attention[c + i];
      attention_or |= static_cast<uint32_t>(a);
      nonzero += a != 0;
      mismatch |= (v == 0) == (a == 0);
    }
    out[c >> 3] = bits;
  }
  TargetRowFit fit;
  fit.bits = (target_or & ~1u) == 0;
  if (attention == nullptr || !fit.bits) return fit;
  fit.indicator = mismatch == 0 && (attention_or & ~1u) == 0;
  // Every value 0 but the first target's, which holds the number of targets: then the one
  // nonzero value equals the count, and is at the first target.
  if (targets == 0) {
    fit.count_at_first = nonzero == 0;
  } else if (nonzero == 1) {
    const auto* first = static_cast<const uint8_t*>(std::memchr(target, 0, cols));
    fit.count_at_first = attention[first - target] == targets;
  }
  return fit;
}

bool PackBitsRow(const uint8_t* row, int64_t cols, uint8_t* out) {
  return PackTargetRow(row, nullptr, cols, out).bits;
}

// ---- Packing while a batch is built ----

namespace {

// PackingState::row_fits bits.
constexpr uint8_t kIdsFit = 1, kInputBitsFit = 2, kTargetBitsFit = 4, kIndicatorFits = 8,
                  kCountAtFirstFits = 16;

// Token ids are packable when they are integers laid out (batch, length); during production
// an int64 tensor still holds int32 values (the collator widens them at the end).
bool PackableIds(const HostTensor& t) {
  return (t.dtype == DType::kInt32 || t.dtype == DType::kInt64) && t.shape.size() == 2;
}

// Bytes of one row of a token, embedding or pixel tensor while the batch is built (ids are
// int32 until the collator widens them; pixels are bytes).
size_t TensorRowBytes(const HostTensor& t) {
  size_t elements = 1;
  for (size_t d = 1; d < t.shape.size(); ++d) elements *= static_cast<size_t>(t.shape[d]);
  return elements * (t.dtype == DType::kUInt8 ? 1 : 4);
}

}  // namespace

void BeginPacking(Batch* batch, BufferPool* pool, PackingState* state) {
  state->row_fits.assign(batch->modalities.size(),
                         std::vector<uint8_t>(static_cast<size_t>(batch->size), 0));
  for (ModalityBatch& m : batch->modalities) {
    const Matrix mask = AsMatrix(m.input_mask);
    if (PackableIds(m.tensor)) {
      m.packed[0].data = pool->Get(static_cast<size_t>(mask.rows * mask.cols) * 2);
    }
    m.packed[1].data = pool->Get(static_cast<size_t>(mask.rows * BitsRowBytes(mask.cols)));
    m.packed[2].data = pool->Get(static_cast<size_t>(mask.rows * BitsRowBytes(mask.cols)));
  }
}

void PackRow(Batch* batch, int64_t row, const std::vector<ModalityRow>& src, PackingState* state) {
  for (size_t i = 0; i < batch->modalities.size(); ++i) {
    ModalityBatch& m = batch->modalities[i];
    const ModalityRow& s = src[i];
    const int64_t cols = AsMatrix(m.input_mask).cols;
    const int64_t bytes = BitsRowBytes(cols);
    uint8_t fits = 0;
    if (PackableIds(m.tensor) &&
        PackUint16Row(s.tokens, cols,
                      reinterpret_cast<uint16_t*>(m.packed[0].data.data()) + row * cols)) {
      fits |= kIdsFit;
    }
    if (PackBitsRow(s.input_mask, cols,
                    reinterpret_cast<uint8_t*>(m.packed[1].data.data()) + row * bytes)) {
      fits |= kInputBitsFit;
    }
    const bool rules = m.decoder_attention_mask.dtype == DType::kInt32;
    const TargetRowFit target =
        PackTargetRow(s.target_mask, rules ? s.decoder_attention : nullptr, cols,
                      reinterpret_cast<uint8_t*>(m.packed[2].data.data()) + row * bytes);
    if (target.bits) fits |= kTargetBitsFit;
    if (target.indicator) fits |= kIndicatorFits;
    if (target.count_at_first) fits |= kCountAtFirstFits;
    // Values that no form fits go to the batch's plain tensors (the rest are rebuilt from
    // their packed form by FinishPacking, should another row leave the tensor plain).
    const size_t r = static_cast<size_t>(row), n = static_cast<size_t>(cols);
    if (!(fits & kIdsFit)) {
      const size_t row_bytes = TensorRowBytes(m.tensor);
      const void* values = s.tokens != nullptr       ? static_cast<const void*>(s.tokens)
                           : s.embeddings != nullptr ? static_cast<const void*>(s.embeddings)
                                                     : static_cast<const void*>(s.pixels);
      std::memcpy(m.tensor.data.data() + r * row_bytes, values, row_bytes);
    }
    if (!(fits & kInputBitsFit)) std::memcpy(m.input_mask.as<uint8_t>() + r * n, s.input_mask, n);
    if (!(fits & kTargetBitsFit))
      std::memcpy(m.target_mask.as<uint8_t>() + r * n, s.target_mask, n);
    if (!(fits & (kIndicatorFits | kCountAtFirstFits))) {
      std::memcpy(m.decoder_attention_mask.as<int32_t>() + r * n, s.decoder_attention,
                  n * sizeof(int32_t));
    }
    state->row_fits[i][r] = fits;
  }
}

void FinishPacking(Batch* batch, const PackingState& state) {
  std::vector<uint8_t> target;
  for (size_t i = 0; i < batch->modalities.size(); ++i) {
    ModalityBatch& m = batch->modalities[i];
    const std::vector<uint8_t>& row_fits = state.row_fits[i];
    uint8_t all = 0xFF;
    for (uint8_t f : row_fits) all &= f;
    std::array<PackedTensor, 4>& p = m.packed;
    p[0].packing = (all & kIdsFit) ? Packing::kUint16 : Packing::kNone;
    p[1].packing = (all & kInputBitsFit) ? Packing::kBits : Packing::kNone;
    p[2].packing = (all & kTargetBitsFit) ? Packing::kBits : Packing::kNone;
    p[3].packing = (all & kIndicatorFits)      ? Packing::kTargetIndicator
                   : (all & kCountAtFirstFits) ? Packing::kTargetCountAtFirst
                                               : Packing::kNone;
    // A tensor that travels plain needs the rows that were only packed back in the batch.
    const int64_t cols = AsMatrix(m.input_mask).cols;
    const int64_t bytes = BitsRowBytes(cols);
    const Matrix one_row{1, cols};
    target.resize(static_cast<size_t>(cols));
    for (int64_t r = 0; r < static_cast<int64_t>(row_fits.size()); ++r) {
      const uint8_t fits = row_fits[static_cast<size_t>(r)];
      auto packed_row = [&](int k, int64_t row_bytes) {
        return std::string_view(reinterpret_cast<const char*>(p[k].data.data()) + r * row_bytes,
                                static_cast<size_t>(row_bytes));
      };
      if (p[0].packing == Packing::kNone && (fits & kIdsFit)) {
        (void)UnpackUint16(packed_row(0, cols * 2), one_row, false,
                           m.tensor.as<int32_t>() + r * cols);
      }
      if (p[1].packing == Packing::kNone && (fits & kInputBitsFit)) {
        (void)UnpackBits(packed_row(1, bytes), one_row, m.input_mask.as<uint8_t>() + r * cols);
      }
      if (p[2].packing == Packing::kNone && (fits & kTargetBitsFit)) {
        (void)UnpackBits(packed_row(2, bytes), one_row, m.target_mask.as<uint8_t>() + r * cols);
      }
      if (p[3].packing == Packing::kNone && (fits & (kIndicatorFits | kCountAtFirstFits))) {
        (void)UnpackBits(packed_row(2, bytes), one_row, target.data());  // rules need bits
        int32_t* out = m.decoder_attention_mask.as<int32_t>() + r * cols;
        if (fits & kIndicatorFits) {
          DeriveTargetIndicator(target.data(), one_row, out);
        } else {
          DeriveTargetCountAtFirst(target.data(), one_row, out);
        }
      }
    }
    // Each tensor now lives in one form: plain buffers of packed tensors are given back.
    HostTensor* plain[4] = {&m.tensor, &m.input_mask, &m.target_mask, &m.decoder_attention_mask};
    for (int k = 0; k < 4; ++k) {
      if (p[k].packing == Packing::kNone) {
        p[k].data = Buffer();
      } else {
        plain[k]->data = Buffer();
      }
    }
  }
}

}  // namespace maskfeed
