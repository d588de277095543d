// The kinds of modality readers, in the order they claim a modality (their claims do not
// overlap) and their identities enter a source's fingerprint. A new kind: its file, and a
// declaration and a line here.
#include "pipeline/stream/modality_reader.h"

namespace maskfeed {

absl::StatusOr<std::unique_ptr<ModalityReader>> ClaimTokenReader(const ReaderContext& context);
absl::StatusOr<std::unique_ptr<ModalityReader>> ClaimTextReader(const ReaderContext& context);
absl::StatusOr<std::unique_ptr<ModalityReader>> ClaimPixelReader(const ReaderContext& context);
absl::StatusOr<std::unique_ptr<ModalityReader>> ClaimPlaceholderReader(
    const ReaderContext& context);

std::span<const ReaderKind> ReaderKinds() {
  static constexpr ReaderKind kKinds[] = {
      {"tokens", &ClaimTokenReader},             // arrays: .npy members, .mfs records
      {"text", &ClaimTextReader},                // raw members built into ids (or T5 rows)
      {"pixels", &ClaimPixelReader},             // images of a pixel_size modality
      {"placeholder", &ClaimPlaceholderReader},  // images nothing reads: never budgeted
  };
  return kKinds;
}

}  // namespace maskfeed
