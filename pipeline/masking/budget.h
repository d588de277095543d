// Token budget sampling (docs/masking.md#a-samples-plan): how many input (or target) tokens each
// modality of a sample gets, drawn from a Dirichlet over the modalities, floored, topped up by
// argmax draws, and clamped to each modality's cap.
#ifndef MASKFEED_PIPELINE_MASKING_BUDGET_H_
#define MASKFEED_PIPELINE_MASKING_BUDGET_H_

#include <span>
#include <vector>

#include "pipeline/base/random.h"

namespace maskfeed {

struct BudgetRequest {
  std::span<const double> alpha;  // per modality, already floored
  int total = 0;                  // N
  std::span<const int> caps;      // U_i
  std::span<const int> mins;      // min_tokens_i
  // Hand what clamping removed to modalities with room, largest share first (not 4M's
  // behaviour; off by default).
  bool redistribute = false;
};

// Writes the budget into `out` (same length as alpha) and returns true, or returns false if
// no draw met every minimum within kBudgetAttempts (out then holds the last draw, as 4M does).
// `scratch` is reused between calls.
bool SampleBudget(const BudgetRequest& request, Rng& rng, std::span<int> out,
                  std::vector<double>* scratch);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_MASKING_BUDGET_H_
