// rgb pixel modalities (ModalitySpec::pixel_size S): the sample's JPEG or PNG decoded, cropped
// to its crop_settings row (or, without crop_settings, to the crop drawn for the row:
// RowState::ReadGeometry), resized to S x S and flipped as 4M's loader does with Pillow
// (pipeline/image/rgb_pixels.h), written into the batch row before the masker writes the
// patch masks. Decoded only when the plan gives the modality a budget.
#include <memory>

#include "pipeline/base/strings.h"
#include "pipeline/stream/modality_reader.h"

namespace maskfeed {
namespace {

class PixelReader final : public ModalityReader {
 public:
  PixelReader(size_t folder, std::string name, int pixel_size, PixelOptions options,
              bool drawn_crops)
      : folder_(folder),
        name_(std::move(name)),
        pixel_size_(pixel_size),
        options_(options),
        drawn_crops_(drawn_crops) {}

  // The fast path gives other bytes than the exact one (the pixel limit only errors).
  std::string identity() const override { return options_.fast ? "|pixels:fast" : ""; }
  bool fills() const override { return true; }
  // A drawn crop needs the image's size first.
  bool needs_geometry() const override { return drawn_crops_; }

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
    CropBox box;
    bool flip = false;
    if (drawn_crops_) {
      const text::CropWindow& w = row.crop().window;
      box = {.top = static_cast<int64_t>(w.top),
             .left = static_cast<int64_t>(w.left),
             .height = static_cast<int64_t>(w.height),
             .width = static_cast<int64_t>(w.width)};
      flip = w.flip;
    } else {
      absl::StatusOr<const Record*> crop_row = row.CropRow();
      if (!crop_row.ok()) return crop_row.status();
      const Record& c = **crop_row;
      box = {.top = c.IntAt(0), .left = c.IntAt(1), .height = c.IntAt(2), .width = c.IntAt(3)};
      flip = c.IntAt(4) != 0;
    }
    absl::Status st = RgbPixels(slot.record.bytes(), box, flip, pixel_size_, options_, out.pixels);
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
  const bool drawn_crops_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModalityReader>> ClaimPixelReader(const ReaderContext& c) {
  const ModalitySpec& mod = c.modality();
  if (!c.dataset.layout(c.folder).raw || !AllImages(c.dataset.record_kinds(c.folder)) ||
      mod.type != ModalityType::kImg || !mod.is_pixels()) {
    return nullptr;
  }
  if (absl::Status s = c.NeedCrop(); !s.ok()) return s;
  const bool drawn = c.crops->mode != CropSources::Mode::kSettings;
  // A drawn crop is drawn for main_augment_domain's image (det and human_poses set it), else
  // for this modality's own.
  if (drawn && !c.crops->image_size) c.crops->image_size = c.folder;
  return std::make_unique<PixelReader>(c.folder, mod.name, mod.pixel_size, c.raw.pixels, drawn);
}

}  // namespace maskfeed
