// The masker: turns one sample (its decoded records) into its row of every batch tensor,
// following 4M's UnifiedMasking or TransferMasking (docs/masking.md).
//
// Masking a sample is two steps so that a caller can skip reading what is not needed:
//   SamplePlan plan;
//   masker.Plan(rng, num_crop_variants, &plan);   // component, totals, budgets, crop variant
//   ... read the records of modalities with plan.Needs(m) ...
//   masker.Apply(plan, records, rng, row, &scratch);
// Every random choice comes from `rng`, so a sample's row is a pure function of the generator
// it was given. The masker is immutable and shared by all threads; each thread owns a scratch.
#ifndef MASKFEED_PIPELINE_MASKING_MASKER_H_
#define MASKFEED_PIPELINE_MASKING_MASKER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "pipeline/base/random.h"
#include "pipeline/base/record.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/masking/span_masking.h"

namespace maskfeed {

// Where one modality of one sample goes in the batch: `length()` entries of each mask and of
// the tensor (tokens, or for SEQ_EMB length() rows of embedding_dim floats).
struct ModalityRow {
  int32_t* tokens = nullptr;
  float* embeddings = nullptr;
  uint8_t* input_mask = nullptr;
  uint8_t* target_mask = nullptr;
  int32_t* decoder_attention = nullptr;
  uint8_t* pixels = nullptr;  // pixel modalities: (3, S, S), written by the producer
};

struct SamplePlan {
  int component = 0;
  int input_total = 0;
  int target_total = 0;  // kAllRemaining when targets are unbounded
  int crop = 0;          // crop variant row used by every modality
  std::vector<int> input_budget;
  std::vector<int> target_budget;  // kAllRemaining entries when unbounded
  bool budget_met_minimums = true;

  // Whether modality m's record is needed (some input or target budget).
  bool Needs(size_t m) const { return input_budget[m] != 0 || target_budget[m] != 0; }
};

// Per-thread buffers.
struct MaskScratch {
  std::vector<double> dirichlet;
  std::vector<int> caps, mins;
  std::vector<uint16_t> order;
  SpanScratch spans;
};

class Masker {
 public:
  explicit Masker(MaskingSpec spec);

  const MaskingSpec& spec() const { return spec_; }

  // Draws the sample's component, totals, budgets and crop variant.
  // Requires: num_crop_variants >= 1.
  void Plan(Rng& rng, int64_t num_crop_variants, SamplePlan* plan, MaskScratch* scratch) const;

  // Masks the sample into `row` (one ModalityRow per modality of spec()). records[m] may be
  // null where !plan.Needs(m): that modality's row is then fully masked and its tensor zero.
  // DATA_LOSS naming the modality when a record does not fit the config (wrong token count,
  // rank, dtype, or too few crop variants).
  absl::Status Apply(const SamplePlan& plan, std::span<const Record* const> records, Rng& rng,
                     std::span<const ModalityRow> row, MaskScratch* scratch) const;

  // Writes a fully masked row for modality m: tensor zero, both masks 1, attention 0 (also
  // the placeholder for modalities a dataset does not have).
  void WriteMasked(size_t m, const ModalityRow& row) const;

 private:
  absl::Status ApplyImage(size_t m, const SamplePlan& plan, const Record& record, Rng& rng,
                          const ModalityRow& row, MaskScratch* scratch) const;
  absl::Status ApplySequence(size_t m, const SamplePlan& plan, const Record& record, Rng& rng,
                             const ModalityRow& row, MaskScratch* scratch) const;
  absl::Status ApplyEmbedding(size_t m, const SamplePlan& plan, const Record& record, Rng& rng,
                              const ModalityRow& row, MaskScratch* scratch) const;
  // Loads the record's ids (plus EOS for SEQ) into scratch->spans and splits the units.
  absl::Status PrepareIds(size_t m, const Record& record, MaskScratch* scratch) const;

  MaskingSpec spec_;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_MASKING_MASKER_H_
