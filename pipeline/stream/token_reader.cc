// Token arrays (.npy members, or .mfs records): read as they are stored; image tokens stored
// per crop variant, (n_crops, n), are read as the one row of the sample's crop variant.
#include <memory>

#include "pipeline/base/strings.h"
#include "pipeline/stream/modality_reader.h"

namespace maskfeed {
namespace {

// Whether a dataset layout can feed a modality; the reason when not.
std::string LayoutProblem(const ModalitySpec& mod, const RecordLayout& layout) {
  switch (mod.type) {
    case ModalityType::kImg: {
      const int64_t last = layout.rank == 1 ? -1 : layout.inner[layout.rank - 2];
      if (!IsInteger(layout.dtype)) return "image tokens must be integers";
      if (layout.rank == 2 && last != mod.max_tokens) {
        return StrCat("records have ", last, " tokens per crop, max_tokens is ", mod.max_tokens);
      }
      if (layout.rank > 2) return "image token records must be (n_crops, n) or (n,)";
      return "";
    }
    case ModalityType::kSeq:
    case ModalityType::kSeqToken:
      if (!IsInteger(layout.dtype) || layout.rank != 1) return "sequences must be 1-D integer ids";
      return "";
    case ModalityType::kSeqEmb:
      if (layout.rank != 2 || layout.inner[0] != mod.embedding_dim ||
          (layout.dtype != DType::kFloat32 && layout.dtype != DType::kFloat16)) {
        return StrCat("embeddings must be float16/float32 (rows, ", mod.embedding_dim, ")");
      }
      return "";
  }
  return "";
}

class TokenReader final : public ModalityReader {
 public:
  TokenReader(size_t folder, bool per_crop) : folder_(folder), per_crop_(per_crop) {}

  void PrefetchIndex(const RowState& row) const override {
    row.shard(folder_).PrefetchIndex(row.location().record);
  }
  void Prefetch(const RowState& row) const override {
    const ShardReader& shard = row.shard(folder_);
    if (ReadsCropRow(row, shard)) {
      shard.PrefetchRow(row.location().record, row.plan().crop);
    } else {
      shard.Prefetch(row.location().record);
    }
  }
  absl::Status Read(RowState& row, ModalitySlot* slot) const override {
    const ShardReader& shard = row.shard(folder_);
    slot->input = &slot->record;
    // Image tokens: only the drawn crop variant's row (the masker takes it as (n,)); a record
    // with too few rows is read whole, and the masker reports its misfit.
    return ReadsCropRow(row, shard)
               ? shard.ReadRow(row.location().record, row.plan().crop, &slot->record)
               : shard.Read(row.location().record, &slot->record);
  }

 private:
  bool ReadsCropRow(const RowState& row, const ShardReader& shard) const {
    return per_crop_ && row.plan().crop < shard.first_dim(row.location().record);
  }

  const size_t folder_;
  const bool per_crop_;  // image tokens stored (n_crops, n)
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModalityReader>> ClaimTokenReader(const ReaderContext& c) {
  const RecordLayout& layout = c.dataset.layout(c.folder);
  if (layout.raw) return nullptr;
  const ModalitySpec& mod = c.modality();
  const std::string problem = LayoutProblem(mod, layout);
  if (!problem.empty()) {
    return absl::InvalidArgumentError(StrCat("modality ", mod.name, ": dataset folder ",
                                             c.dataset.modality_name(c.folder), " holds ",
                                             layout.ToString(), ": ", problem));
  }
  return std::make_unique<TokenReader>(c.folder,
                                       mod.type == ModalityType::kImg && layout.rank == 2);
}

}  // namespace maskfeed
