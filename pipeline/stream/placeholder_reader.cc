// An image folder that a modality without pixel_size names (4M-21's rgb@224 in a recipe that
// reads it as tokens): nothing can read it, so the modality is never given a budget and its
// row is always fully masked. A config that gives it a budget is refused.
#include <cmath>
#include <memory>

#include "pipeline/base/strings.h"
#include "pipeline/stream/modality_reader.h"

namespace maskfeed {
namespace {

class PlaceholderReader final : public ModalityReader {
 public:
  bool never_budgeted() const override { return true; }
  void PrefetchIndex(const RowState&) const override {}
  void Prefetch(const RowState&) const override {}
  absl::Status Read(RowState&, ModalitySlot*) const override {
    return absl::InternalError("a modality without a budget was read");
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModalityReader>> ClaimPlaceholderReader(const ReaderContext& c) {
  const ModalitySpec& mod = c.modality();
  if (!c.dataset.layout(c.folder).raw || !AllImages(c.dataset.record_kinds(c.folder)) ||
      mod.type != ModalityType::kImg || mod.is_pixels()) {
    return nullptr;
  }
  bool budget = mod.role != TransferRole::kNone;
  for (const MixtureComponentSpec& component : c.spec.mixture) {
    budget |= component.input_alpha[c.m] > kAlphaFloor || component.target_alpha[c.m] > kAlphaFloor;
  }
  if (budget) {
    const int side = 16 * static_cast<int>(std::lround(std::sqrt(mod.max_tokens)));
    return absl::FailedPreconditionError(
        StrCat(c.Where(), ": images are served as pixels by a modality with pixel_size (4M's rgb@",
               side, " has pixel_size ", side,
               "); without it give the modality input and target "
               "alpha 0"));
  }
  return std::make_unique<PlaceholderReader>();
}

}  // namespace maskfeed
