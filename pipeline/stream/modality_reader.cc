#include "pipeline/stream/modality_reader.h"

#include <algorithm>

#include "pipeline/base/splitmix64.h"
#include "pipeline/base/strings.h"
#include "pipeline/image/image_header.h"

namespace maskfeed {
namespace {

std::string KindList(const std::vector<RecordKind>& kinds) {
  std::string out;
  for (RecordKind k : kinds) StrAppend(&out, out.empty() ? "" : ", ", RecordKindName(k));
  return out;
}

}  // namespace

bool AllImages(const std::vector<RecordKind>& kinds) {
  return !kinds.empty() && std::all_of(kinds.begin(), kinds.end(), [](RecordKind k) {
    return k == RecordKind::kJpeg || k == RecordKind::kPng;
  });
}

std::string ReaderContext::Where() const {
  return StrCat("modality ", modality().name, ": dataset folder ", dataset.modality_name(folder),
                " holds ", KindList(dataset.record_kinds(folder)), " members");
}

absl::Status ReaderContext::NeedCrop() const {
  if (crops->crop_settings || crops->mode != CropSources::Mode::kSettings) {
    return absl::OkStatus();
  }
  crops->crop_settings = dataset.FindModality(kCropSettings);
  if (crops->crop_settings) return absl::OkStatus();
  if (pretokenized) {
    return absl::FailedPreconditionError(
        StrCat(Where(), ": ", modality().name,
               " is cropped with the image, and the dataset serves "
               "pre-tokenized modalities (tok_*, sam_instance) whose crops its ",
               kCropSettings, " folder holds; it has none"));
  }
  crops->mode = raw.center_crop ? CropSources::Mode::kCenter : CropSources::Mode::kRandom;
  crops->random = raw.random_crop;
  return absl::OkStatus();
}

void RowState::Reset(const Dataset* dataset, const CropSources* crops, Dataset::Location location,
                     uint64_t reader_seed, uint64_t epoch, uint64_t slot, uint32_t repeat) {
  dataset_ = dataset;
  crops_ = crops;
  location_ = location;
  reader_seed_ = reader_seed;
  epoch_ = epoch;
  slot_ = slot;
  repeat_ = repeat;
  modality_base_.reset();
  have_crop_row_ = false;
  crop_ = text::SampleCrop{};
}

absl::StatusOr<const Record*> RowState::CropRow() {
  if (have_crop_row_) return &crop_row_;
  const ShardReader& crops = shard(*crops_->crop_settings);
  if (plan_.crop >= crops.first_dim(location_.record)) {
    return RecordError(crops.path(), location_.record, crops.key(location_.record),
                       StrCat("crop variant ", plan_.crop, " drawn but the record has ",
                              crops.first_dim(location_.record), " rows"));
  }
  if (absl::Status s = crops.ReadRow(location_.record, plan_.crop, &crop_row_); !s.ok()) return s;
  have_crop_row_ = true;
  return &crop_row_;
}

absl::Status RowState::ReadGeometry(ReaderScratch* scratch) {
  if (crops_->mode == CropSources::Mode::kSettings) {
    absl::StatusOr<const Record*> row = CropRow();
    if (!row.ok()) return row.status();
    const Record& r = **row;
    crop_.window = text::CropWindow{.top = static_cast<double>(r.IntAt(0)),
                                    .left = static_cast<double>(r.IntAt(1)),
                                    .height = static_cast<double>(r.IntAt(2)),
                                    .width = static_cast<double>(r.IntAt(3)),
                                    .flip = r.IntAt(4) != 0};
    crop_.has_window = true;
  }
  // The image's header only: straight from the mapping when the record is stored
  // uncompressed (the decoder reports a damaged header; pixels, when read, are checked).
  const ShardReader& images = shard(*crops_->image_size);
  std::optional<std::string_view> image = images.PeekUnchecked(location_.record);
  if (!image) {
    if (absl::Status s = images.Read(location_.record, &scratch->image); !s.ok()) return s;
    image = scratch->image.bytes();
  }
  absl::StatusOr<ImageDims> dims = ReadImageDims(*image);
  if (!dims.ok()) {
    return RecordError(images.path(), location_.record, images.key(location_.record),
                       ToStd(dims.status().message()));
  }
  crop_.orig = text::ImageSize{.height = static_cast<double>(dims->height),
                               .width = static_cast<double>(dims->width)};
  if (crops_->mode != CropSources::Mode::kSettings) {
    // Drawn from a generator of the row's own, apart from every modality's.
    Rng rng(ReaderBase());
    const CropDraw draw =
        crops_->mode == CropSources::Mode::kCenter
            ? CenterSquareCrop(dims->height, dims->width)
            : DrawRandomResizedCrop(dims->height, dims->width, crops_->random, rng);
    crop_.window = text::CropWindow{.top = static_cast<double>(draw.box.top),
                                    .left = static_cast<double>(draw.box.left),
                                    .height = static_cast<double>(draw.box.height),
                                    .width = static_cast<double>(draw.box.width),
                                    .flip = draw.flip};
    crop_.has_window = true;
  }
  return absl::OkStatus();
}

uint64_t RowState::ReaderBase() {
  if (!modality_base_) modality_base_ = Rng::ForSample(reader_seed_, epoch_, slot_, repeat_).Next();
  return *modality_base_;
}

Rng RowState::ModalityRng(size_t m) { return Rng(ReaderBase() + (m + 1) * kSplitMixGamma); }

}  // namespace maskfeed
