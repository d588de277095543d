#include "pipeline/masking/masker.h"

#include <algorithm>
#include <cstring>

#include "pipeline/base/strings.h"
#include "pipeline/masking/budget.h"
#include "pipeline/masking/image_masking.h"

namespace maskfeed {
namespace {

absl::Status Unfit(const ModalitySpec& spec, std::string_view what) {
  return absl::DataLossError(StrCat("modality ", spec.name, ": ", what));
}

// Copies `count` integers starting at element `first` of `r` into `out` as int32.
template <typename T>
void Widen(const Record& r, size_t first, size_t count, int32_t offset, int32_t* out) {
  const T* in = reinterpret_cast<const T*>(r.data.data()) + first;
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<int32_t>(in[i]) + offset;
}

absl::Status CopyIds(const ModalitySpec& spec, const Record& r, size_t first, size_t count,
                     int32_t offset, int32_t* out) {
  switch (r.dtype) {
    case DType::kInt8:
      Widen<int8_t>(r, first, count, offset, out);
      break;
    case DType::kInt16:
      Widen<int16_t>(r, first, count, offset, out);
      break;
    case DType::kInt32:
      Widen<int32_t>(r, first, count, offset, out);
      break;
    case DType::kInt64:
      Widen<int64_t>(r, first, count, offset, out);
      break;
    case DType::kUInt8:
      Widen<uint8_t>(r, first, count, offset, out);
      break;
    case DType::kUInt16:
      Widen<uint16_t>(r, first, count, offset, out);
      break;
    case DType::kUInt32:
      Widen<uint32_t>(r, first, count, offset, out);
      break;
    default:
      return Unfit(spec, StrCat("token records must be integers, got ", DTypeName(r.dtype)));
  }
  return absl::OkStatus();
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    exponent = 113;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

}  // namespace

Masker::Masker(MaskingSpec spec) : spec_(std::move(spec)) {}

void Masker::Plan(Rng& rng, int64_t num_crop_variants, SamplePlan* plan,
                  MaskScratch* scratch) const {
  const size_t k = spec_.modalities.size();
  plan->input_budget.assign(k, 0);
  plan->target_budget.assign(k, 0);
  plan->budget_met_minimums = true;
  if (spec_.transfer) {
    plan->component = 0;
    plan->input_total = plan->target_total = 0;
    for (size_t m = 0; m < k; ++m) {
      const ModalitySpec& mod = spec_.modalities[m];
      (mod.role == TransferRole::kInput ? plan->input_budget : plan->target_budget)[m] =
          mod.max_tokens;
    }
  } else {
    const double u = rng.Uniform();
    plan->component = static_cast<int>(
        std::upper_bound(spec_.cumulative_weights.begin(), spec_.cumulative_weights.end() - 1, u) -
        spec_.cumulative_weights.begin());
    const MixtureComponentSpec& comp = spec_.mixture[plan->component];
    plan->input_total = static_cast<int>(rng.Between(spec_.input_min, spec_.input_max));
    plan->target_total = spec_.unbounded_targets
                             ? kAllRemaining
                             : static_cast<int>(rng.Between(spec_.target_min, spec_.target_max));
    scratch->caps.resize(k);
    scratch->mins.resize(k);
    for (size_t m = 0; m < k; ++m) {
      scratch->caps[m] = spec_.modalities[m].max_tokens;
      scratch->mins[m] = spec_.modalities[m].min_tokens;
    }
    BudgetRequest request{comp.input_alpha, plan->input_total, scratch->caps, scratch->mins,
                          spec_.redistribute_clamped_budget};
    plan->budget_met_minimums = SampleBudget(request, rng, plan->input_budget, &scratch->dirichlet);
    if (spec_.unbounded_targets) {
      std::fill(plan->target_budget.begin(), plan->target_budget.end(), kAllRemaining);
    } else {
      for (size_t m = 0; m < k; ++m) {
        const ModalitySpec& mod = spec_.modalities[m];
        // An image's targets come from the positions its inputs left; a sequence's do not.
        scratch->caps[m] = std::max(mod.min_tokens, mod.type == ModalityType::kImg
                                                        ? mod.max_tokens - plan->input_budget[m]
                                                        : mod.max_tokens);
      }
      request.alpha = comp.target_alpha;
      request.total = plan->target_total;
      plan->budget_met_minimums &=
          SampleBudget(request, rng, plan->target_budget, &scratch->dirichlet);
    }
  }
  plan->crop = spec_.no_crop_augmentation || num_crop_variants <= 1
                   ? 0
                   : static_cast<int>(rng.Below(static_cast<uint32_t>(num_crop_variants)));
}

void Masker::WriteMasked(size_t m, const ModalityRow& row) const {
  const ModalitySpec& mod = spec_.modalities[m];
  const size_t length = static_cast<size_t>(mod.length());
  if (mod.type == ModalityType::kSeqEmb) {
    std::memset(row.embeddings, 0, length * static_cast<size_t>(mod.embedding_dim) * sizeof(float));
  } else if (mod.is_pixels()) {
    std::memset(row.pixels, 0, 3 * static_cast<size_t>(mod.pixel_size) * mod.pixel_size);
  } else {
    std::memset(row.tokens, 0, length * sizeof(int32_t));
  }
  std::memset(row.input_mask, 1, length);
  std::memset(row.target_mask, 1, length);
  std::memset(row.decoder_attention, 0, length * sizeof(int32_t));
}

absl::Status Masker::Apply(const SamplePlan& plan, std::span<const Record* const> records, Rng& rng,
                           std::span<const ModalityRow> row, MaskScratch* scratch) const {
  for (size_t m = 0; m < spec_.modalities.size(); ++m) {
    const ModalitySpec& mod = spec_.modalities[m];
    if (!plan.Needs(m)) {
      WriteMasked(m, row[m]);
      continue;
    }
    if (records[m] == nullptr) {
      return absl::FailedPreconditionError(
          StrCat("modality ", mod.name, ": the sample's plan needs its record but none was read"));
    }
    absl::Status status;
    switch (mod.type) {
      case ModalityType::kImg:
        status = ApplyImage(m, plan, *records[m], rng, row[m], scratch);
        break;
      case ModalityType::kSeq:
      case ModalityType::kSeqToken:
        status = ApplySequence(m, plan, *records[m], rng, row[m], scratch);
        break;
      case ModalityType::kSeqEmb:
        status = ApplyEmbedding(m, plan, *records[m], rng, row[m], scratch);
        break;
    }
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status Masker::ApplyImage(size_t m, const SamplePlan& plan, const Record& record, Rng& rng,
                                const ModalityRow& row, MaskScratch* scratch) const {
  const ModalitySpec& mod = spec_.modalities[m];
  const int64_t n = mod.max_tokens;
  // A pixel modality's record is its image, which the producer already wrote into the row:
  // only the patch masks remain.
  if (!mod.is_pixels()) {
    if (record.shape.rank < 1 || record.shape.rank > 2 ||
        record.shape[record.shape.rank - 1] != n) {
      return Unfit(mod, StrCat("record is ", record.shape.ToString(), "; expected (n_crops, ", n,
                               ") or (", n, ",) for max_tokens ", n));
    }
    int64_t crop = 0;
    if (record.shape.rank == 2) {
      crop = plan.crop;
      if (crop >= record.shape[0]) {
        return Unfit(mod, StrCat("record has ", record.shape[0], " crop variants; variant ", crop,
                                 " was drawn"));
      }
    }
    if (absl::Status s = CopyIds(mod, record, static_cast<size_t>(crop * n), static_cast<size_t>(n),
                                 0, row.tokens);
        !s.ok()) {
      return s;
    }
  }
  if (mod.role == TransferRole::kInput || mod.role == TransferRole::kTarget) {
    const bool input = mod.role == TransferRole::kInput;
    std::memset(row.input_mask, input ? 0 : 1, static_cast<size_t>(n));
    std::memset(row.target_mask, input ? 1 : 0, static_cast<size_t>(n));
    std::memset(row.decoder_attention, 0, static_cast<size_t>(n) * sizeof(int32_t));
    if (!input) row.decoder_attention[0] = static_cast<int32_t>(n);
    return absl::OkStatus();
  }
  MaskImage(static_cast<int>(n), plan.input_budget[m], plan.target_budget[m], rng, row.input_mask,
            row.target_mask, row.decoder_attention, &scratch->order);
  return absl::OkStatus();
}

absl::Status Masker::PrepareIds(size_t m, const Record& record, MaskScratch* scratch) const {
  const ModalitySpec& mod = spec_.modalities[m];
  if (record.shape.rank != 1) {
    return Unfit(mod, StrCat("record is ", record.shape.ToString(), "; sequences are 1-D ids"));
  }
  SpanScratch& s = scratch->spans;
  const size_t max = static_cast<size_t>(mod.max_tokens);
  const size_t length = static_cast<size_t>(record.shape[0]);
  const bool eos = mod.type == ModalityType::kSeq;
  // SEQ: ids + EOS, cut to M (whole chunks when chunked). SEQ_TOKEN: ids + vocab_offset; 4M
  // does not cut these, but the 2 * (M + 1) tensor and the sentinel count need it, so we do.
  size_t keep = std::min(length, max);
  // Chunks of varying length (built from raw metadata, record.chunks): the longest prefix of
  // whole chunks that fits. Fixed-size chunks otherwise.
  const bool varying = mod.chunk_tokens > 0 && !record.chunks.empty();
  size_t chunks = 0;
  if (varying) {
    keep = 0;
    while (chunks + 1 < record.chunks.size() && record.chunks[chunks + 1] <= max) {
      keep = record.chunks[++chunks];
    }
  } else if (mod.chunk_tokens > 0) {
    keep = std::min(length, max / mod.chunk_tokens * mod.chunk_tokens);
  }
  s.ids.resize(keep + (eos ? 1 : 0));
  if (absl::Status st =
          CopyIds(mod, record, 0, keep, mod.type == ModalityType::kSeqToken ? mod.vocab_offset : 0,
                  s.ids.data());
      !st.ok()) {
    return st;
  }
  size_t tail = 0;
  if (eos) {
    s.ids[keep] = mod.eos_id;
    tail = 1;
    if (s.ids.size() > max) {  // the EOS does not fit: 4M drops it
      s.ids.pop_back();
      tail = 0;
    }
  }
  if (varying) {
    SplitChunkUnits(std::span<const uint32_t>(record.chunks).first(chunks + 1), tail, &s);
  } else {
    SplitUnits(s.ids.size(), mod.chunk_tokens, tail, &s);
  }
  return absl::OkStatus();
}

absl::Status Masker::ApplySequence(size_t m, const SamplePlan& plan, const Record& record, Rng& rng,
                                   const ModalityRow& row, MaskScratch* scratch) const {
  const ModalitySpec& mod = spec_.modalities[m];
  if (absl::Status s = PrepareIds(m, record, scratch); !s.ok()) return s;
  SpanScratch& s = scratch->spans;
  if (mod.role == TransferRole::kInput || mod.role == TransferRole::kTarget) {
    // Fixed roles write targets at offset M (docs/masking.md#fixed-roles-fine-tuning).
    const bool input = mod.role == TransferRole::kInput;
    DrawKeeps(input ? 1 : 0, rng, &s);
    BuildSpans(mod, /*rows=*/false, &s);
    if (!input) s.input.clear();
    LayoutSequence(mod, s.input, s.target, mod.max_tokens, row.tokens, row.input_mask,
                   row.target_mask, row.decoder_attention);
    return absl::OkStatus();
  }
  MaskSpans(mod, spec_.mixture[plan.component].keep[m], plan.input_budget[m], plan.target_budget[m],
            /*rows=*/false, rng, &s);
  LayoutSequence(mod, s.input, s.target, plan.input_budget[m], row.tokens, row.input_mask,
                 row.target_mask, row.decoder_attention);
  return absl::OkStatus();
}

absl::Status Masker::ApplyEmbedding(size_t m, const SamplePlan& plan, const Record& record,
                                    Rng& rng, const ModalityRow& row, MaskScratch* scratch) const {
  const ModalitySpec& mod = spec_.modalities[m];
  const int64_t dim = mod.embedding_dim;
  if (record.shape.rank != 2 || record.shape[1] != dim ||
      (record.dtype != DType::kFloat32 && record.dtype != DType::kFloat16)) {
    return Unfit(mod, StrCat("record is ", DTypeName(record.dtype), " ", record.shape.ToString(),
                             "; expected float16/float32 (rows, ", dim, ")"));
  }
  SpanScratch& s = scratch->spans;
  const size_t rows = static_cast<size_t>(std::min<int64_t>(record.shape[0], mod.max_tokens));
  SplitUnits(rows, 0, 0, &s);
  MaskSpans(mod, spec_.mixture[plan.component].keep[m], plan.input_budget[m], kAllRemaining,
            /*rows=*/true, rng, &s);
  const size_t length = static_cast<size_t>(mod.length());
  const size_t width = static_cast<size_t>(dim);
  std::memset(row.embeddings, 0, length * width * sizeof(float));
  for (size_t i = 0; i < s.input.size(); ++i) {
    if (s.input[i] < 0) continue;  // a sentinel: a zero row
    float* out = row.embeddings + i * width;
    const size_t src = static_cast<size_t>(s.input[i]) * width;
    if (record.dtype == DType::kFloat32) {
      std::memcpy(out, reinterpret_cast<const float*>(record.data.data()) + src,
                  width * sizeof(float));
    } else {
      const uint16_t* in = reinterpret_cast<const uint16_t*>(record.data.data()) + src;
      for (size_t j = 0; j < width; ++j) out[j] = HalfToFloat(in[j]);
    }
  }
  std::memset(row.input_mask, 1, length);
  std::memset(row.input_mask, 0, s.input.size());
  std::memset(row.target_mask, 1, length);  // embeddings are never targets
  std::memset(row.decoder_attention, 0, length * sizeof(int32_t));
  return absl::OkStatus();
}

}  // namespace maskfeed
