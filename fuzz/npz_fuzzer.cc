// 4M's t5_caption members: a .npz (zip of .npy, stored or deflated) read by libzip within a
// size bound, then the crop's valid rows selected. Hostile archives (lying sizes, bad CRCs,
// zip bombs, truncated members) must give DATA_LOSS, never a crash or unbounded memory.
#include "fuzz_util.h"
#include "pipeline/text/npz.h"
#include "pipeline/text/text_modality.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  const std::string_view bytes = fuzz::AsView(data, size);
  absl::StatusOr<NpzArrays> arrays = ReadNpz(bytes, {"emb", "mask_valid"}, 1 << 22);
  if (arrays.ok()) {
    size_t total = 0;
    for (const auto& [name, array] : *arrays) total += array.data.size();
    fuzz::Check(total <= (1 << 22), "npz past its limit");
  }
  Record raw;
  raw.kind = RecordKind::kNpz;
  raw.dtype = DType::kUInt8;
  raw.shape = Shape{static_cast<int64_t>(size)};
  raw.data.assign(reinterpret_cast<const std::byte*>(data),
                  reinterpret_cast<const std::byte*>(data) + size);
  const text::TextModality t5(text::TextBuilder::kT5Caption, nullptr, {});
  Rng rng(1);
  text::TextScratch scratch;
  Record out;
  text::SampleCrop crop;
  crop.rand_aug_idx = 1;
  crop.n_crops = 2;
  (void)t5.Build(raw, crop, rng, &scratch, &out);
  return 0;
}
