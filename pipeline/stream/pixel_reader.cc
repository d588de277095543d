// rgb pixel modalities (ModalitySpec::pixel_size S): the sample's JPEG or PNG decoded, cropped
// to its crop_settings row, resized to S x S and flipped as 4M's loader does with Pillow
// (pipeline/image/rgb_pixels.h), written into the batch row before the masker writes the
// patch masks. Decoded only when the plan gives the modality a budget.
#include <memory>

#include "pipeline/base/strings.h"
#include "pipeline/stream/modality_reader.h"

namespace maskfeed {
namespace {

class PixelReader final : public ModalityReader {
 public:
  PixelReader(size_t folder, std::string name, int pixel_size, PixelOptions options)
      : folder_(folder), name_(std::move(name)), pixel_size_(pixel_size), options_(options) {}

  // The fast path gives other bytes than the exact one (the pixel limit only errors).
  std::string identity() const override { return options_.fast ? "|pixels:fast" : ""; }
  bool fills() const override { return true; }

  void PrefetchIndex(const RowState& row) const override {
    row.shard(folder_).PrefetchIndex(row.location().record);
  }
  void Prefetch(const RowState& row) const override {
    row.shard(folder_).Prefetch(row.location().record);
  }
  absl::Status Read(RowState& row, ModalitySlot* slot) const override {
    slot->input = &slot->record;  // the masker writes the patch masks; the pixels are Fill's
    return row.shard(folder_).Read(row.location().record, &slot->record);
  }
  absl::Status Fill(RowState& row, const ModalitySlot& slot,
                    const ModalityRow& out) const override {
    absl::StatusOr<const Record*> crop_row = row.CropRow();
    if (!crop_row.ok()) return crop_row.status();
    const Record& c = **crop_row;
    const CropBox box{
        .top = c.IntAt(0), .left = c.IntAt(1), .height = c.IntAt(2), .width = c.IntAt(3)};
    absl::Status st =
        RgbPixels(slot.record.bytes(), box, c.IntAt(4) != 0, pixel_size_, options_, out.pixels);
    if (st.ok() || st.code() != absl::StatusCode::kDataLoss) return st;
    const ShardReader& images = row.shard(folder_);
    const size_t record = row.location().record;
    return RecordError(images.path(), record, images.key(record),
                       StrCat(name_, ": ", ToStd(st.message())));
  }

 private:
  const size_t folder_;
  const std::string name_;
  const int pixel_size_;
  const PixelOptions options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModalityReader>> ClaimPixelReader(const ReaderContext& c) {
  const ModalitySpec& mod = c.modality();
  if (!c.dataset.layout(c.folder).raw || !AllImages(c.dataset.record_kinds(c.folder)) ||
      mod.type != ModalityType::kImg || !mod.is_pixels()) {
    return nullptr;
  }
  if (absl::Status s = c.NeedCropSettings(); !s.ok()) return s;
  return std::make_unique<PixelReader>(c.folder, mod.name, mod.pixel_size, c.raw.pixels);
}

}  // namespace maskfeed
