#include "pipeline/masking/budget.h"

#include <algorithm>

#include "pipeline/masking/masking_config.h"

namespace maskfeed {
namespace {

// Gives the clamped-away tokens to modalities with room, in order of decreasing share. Only
// modalities whose alpha is above the floor take part: a zero-alpha modality stays at zero.
void Redistribute(const BudgetRequest& r, std::span<double> p, std::span<int> out) {
  int excess = r.total;
  for (int b : out) excess -= b;
  while (excess > 0) {
    int best = -1;
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] < r.caps[i] && r.alpha[i] > kAlphaFloor && (best < 0 || p[i] > p[best])) {
        best = static_cast<int>(i);
      }
    }
    if (best < 0) return;
    const int give = std::min(excess, r.caps[best] - out[best]);
    out[best] += give;
    excess -= give;
    // Mark as served so the next round picks the next-largest share.
    p[best] = -1;
  }
}

}  // namespace

bool SampleBudget(const BudgetRequest& r, Rng& rng, std::span<int> out,
                  std::vector<double>* scratch) {
  const size_t k = r.alpha.size();
  scratch->resize(k);
  std::span<double> p(*scratch);
  for (int attempt = 0; attempt < kBudgetAttempts; ++attempt) {
    rng.Dirichlet(r.alpha, p);
    int assigned = 0;
    for (size_t i = 0; i < k; ++i) {
      // 4M computes p * N in float32 and truncates.
      out[i] = static_cast<int>(static_cast<float>(p[i]) * static_cast<float>(r.total));
      assigned += out[i];
    }
    // Float rounding can overshoot by a token in rare cases; take it from the largest.
    while (assigned > r.total) {
      --*std::max_element(out.begin(), out.end());
      --assigned;
    }
    for (int left = r.total - assigned; left > 0; --left) ++out[rng.DirichletArgmax(r.alpha)];
    bool meets_mins = true;
    for (size_t i = 0; i < k; ++i) {
      out[i] = std::min(out[i], r.caps[i]);
      meets_mins = meets_mins && out[i] >= r.mins[i];
    }
    if (r.redistribute) Redistribute(r, p, out);
    if (meets_mins) return true;
  }
  return false;
}

}  // namespace maskfeed
