#include "pipeline/tools/synth_dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>

#include "absl/strings/str_format.h"
#include "pipeline/base/output_file.h"
#include "pipeline/base/splitmix64.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/dataset.h"
#include "pipeline/shard/npy.h"
#include "pipeline/shard/parallel_jobs.h"
#include "pipeline/tools/synth_raw.h"
#include "pipeline/tools/tar_writer.h"

namespace maskfeed {
namespace {

constexpr int kImageTokens = 196;  // 14 x 14 grid of a 224 image with 16-pixel patches
constexpr int kPaletteSize = 24;

// Fixed ids of 4M's WordPiece tokenizer (docs/raw-modalities.md#tokenizing).
constexpr int32_t kFirstWordId = 4284;  // after specials, sentinels, coordinates, classes
constexpr int32_t kVocabSize = 30000;
constexpr int32_t kCoordBase[4] = {204, 1204, 2204, 3204};  // v0= .. v3=
constexpr int32_t kFirstClassId = 4204;
constexpr int kNumClasses = 80;

enum class Kind {
  kImageTokens,
  kCaption,
  kDetection,
  kCropSettings,
  // 4M's raw members (preset 4m-7)
  kCaptionJson,
  kDetJson,
  kMetadataJson,
  kJpeg,
  // and 4M-21's (preset 4m-21)
  kMetadata21Json,
  kPaletteJson,
  kPosesJson,
  kSamNpy,
  kT5Npz,
};

struct SynthModality {
  const char* name;
  Kind kind;
  int32_t vocab;              // image token vocabulary
  size_t seed_slot;           // which of the sample's generators it draws from
  int tokens = kImageTokens;  // image tokens per crop: a square grid
};

// 4M-7's tokenized modalities (docs/masking.md#modalities), sorted by name.
constexpr SynthModality k4m7[] = {
    {"caption", Kind::kCaption, 0, 0},
    {"crop_settings", Kind::kCropSettings, 0, 1},
    {"det", Kind::kDetection, 0, 2},
    {"tok_clip@224", Kind::kImageTokens, 8192, 3},
    {"tok_depth@224", Kind::kImageTokens, 8192, 4},
    {"tok_normal@224", Kind::kImageTokens, 8192, 5},
    {"tok_rgb@224", Kind::kImageTokens, 16384, 6},
    {"tok_semseg@224", Kind::kImageTokens, 4096, 7},
};
constexpr size_t kCropSlot = 1;

// The same samples in 4M's raw layout: caption and det as JSON, metadata JSON and the rgb
// image of the size crop_settings was drawn for; token arrays and crops identical.
constexpr SynthModality k4m7Raw[] = {
    {"caption", Kind::kCaptionJson, 0, 0},
    {"crop_settings", Kind::kCropSettings, 0, 1},
    {"det", Kind::kDetJson, 0, 2},
    {"metadata", Kind::kMetadataJson, 0, 8},
    {"rgb", Kind::kJpeg, 0, 9},
    {"tok_clip@224", Kind::kImageTokens, 8192, 3},
    {"tok_depth@224", Kind::kImageTokens, 8192, 4},
    {"tok_normal@224", Kind::kImageTokens, 8192, 5},
    {"tok_rgb@224", Kind::kImageTokens, 16384, 6},
    {"tok_semseg@224", Kind::kImageTokens, 4096, 7},
};

// 4M-21's modalities as 4M stores them (its cc12m data config's in_domains): 4M-7's raw
// members and token arrays, and color palettes, human poses, SAM instances, T5 caption
// embeddings, all 21 metadata keys and eight more token modalities (DINOv2 and ImageBind
// 16 x 16 grids and 16 global tokens).
constexpr SynthModality k4m21Raw[] = {
    {"caption", Kind::kCaptionJson, 0, 0},
    {"color_palette", Kind::kPaletteJson, 0, 10},
    {"crop_settings", Kind::kCropSettings, 0, 1},
    {"det", Kind::kDetJson, 0, 2},
    {"human_poses", Kind::kPosesJson, 0, 11},
    {"metadata", Kind::kMetadata21Json, 0, 8},
    {"rgb", Kind::kJpeg, 0, 9},
    {"sam_instance", Kind::kSamNpy, 0, 12},
    {"t5_caption", Kind::kT5Npz, 0, 13},
    {"tok_canny_edge@224", Kind::kImageTokens, 8192, 14},
    {"tok_clip@224", Kind::kImageTokens, 8192, 3},
    {"tok_depth@224", Kind::kImageTokens, 8192, 4},
    {"tok_dinov2@224", Kind::kImageTokens, 8192, 15, 256},
    {"tok_dinov2_global", Kind::kImageTokens, 8192, 16, 16},
    {"tok_imagebind@224", Kind::kImageTokens, 8192, 17, 256},
    {"tok_imagebind_global", Kind::kImageTokens, 8192, 18, 16},
    {"tok_normal@224", Kind::kImageTokens, 8192, 5},
    {"tok_rgb@224", Kind::kImageTokens, 16384, 6},
    {"tok_sam_edge@224", Kind::kImageTokens, 8192, 19},
    {"tok_semseg@224", Kind::kImageTokens, 4096, 7},
};

std::span<const SynthModality> ModalitiesOf(std::string_view preset) {
  if (preset == SynthOptions::k4m21Preset) return k4m21Raw;
  if (preset == SynthOptions::kRawPreset) return k4m7Raw;
  return k4m7;
}

// SplitMix64: tiny, fast, and plenty for synthetic content.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return SplitMix64(&state_); }
  // Uniform in [0, n).
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>((Next() >> 32) * n >> 32); }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

uint64_t SampleSeed(uint64_t seed, size_t sample, size_t modality) {
  Rng mix(seed ^ (0x5851F42D4C957F2Dull * (sample + 1)) ^ (0x14057B7EF767814Full * (modality + 1)));
  return mix.Next();
}

// (n_crops, 5) rows of (top, left, h, w, flip): row 0 the centre square, then random-resized
// crops with scale in [0.8, 1] and aspect ratio in [3/4, 4/3]
// (docs/raw-modalities.md#the-crop-variant). The original image's size: the first two draws of the
// crop_settings generator.
std::pair<int32_t, int32_t> ImageSize(Rng& rng) {
  const int32_t h_img = 256 + static_cast<int32_t>(rng.Below(769));
  const int32_t w_img = 256 + static_cast<int32_t>(rng.Below(769));
  return {h_img, w_img};
}

std::vector<int32_t> CropSettings(Rng& rng, int crops) {
  const auto [h_img, w_img] = ImageSize(rng);
  std::vector<int32_t> rows;
  const int32_t side = std::min(h_img, w_img);
  rows.insert(rows.end(), {(h_img - side) / 2, (w_img - side) / 2, side, side, 0});
  for (int c = 1; c < crops; ++c) {
    const double area = h_img * static_cast<double>(w_img) * (0.8 + 0.2 * rng.Uniform());
    const double ratio =
        std::exp(std::log(0.75) + rng.Uniform() * (std::log(4.0 / 3) - std::log(0.75)));
    const int32_t w =
        std::clamp<int32_t>(static_cast<int32_t>(std::lround(std::sqrt(area * ratio))), 1, w_img);
    const int32_t h =
        std::clamp<int32_t>(static_cast<int32_t>(std::lround(std::sqrt(area / ratio))), 1, h_img);
    const int32_t top = static_cast<int32_t>(rng.Below(static_cast<uint32_t>(h_img - h + 1)));
    const int32_t left = static_cast<int32_t>(rng.Below(static_cast<uint32_t>(w_img - w + 1)));
    rows.insert(rows.end(), {top, left, h, w, static_cast<int32_t>(rng.Below(2))});
  }
  return rows;
}

// Spatially correlated token grids: each token repeats a neighbour or comes from a small
// per-sample palette, like real VQ tokens of natural images (and so compresses like them).
std::vector<int16_t> ImageTokens(Rng& rng, int crops, int32_t vocab, int count) {
  int16_t palette[kPaletteSize];
  for (int16_t& p : palette) p = static_cast<int16_t>(rng.Below(static_cast<uint32_t>(vocab)));
  const int side = static_cast<int>(std::lround(std::sqrt(count)));
  std::vector<int16_t> tokens(static_cast<size_t>(crops) * count);
  for (int c = 0; c < crops; ++c) {
    int16_t* grid = tokens.data() + static_cast<ptrdiff_t>(c) * count;
    for (int i = 0; i < count; ++i) {
      const uint32_t roll = rng.Below(100);
      if (roll < 45 && i % side != 0) {
        grid[i] = grid[i - 1];
      } else if (roll < 70 && i >= side) {
        grid[i] = grid[i - side];
      } else {
        grid[i] = palette[rng.Below(kPaletteSize)];
      }
    }
  }
  return tokens;
}

// Word ids with a heavy head (log-uniform rank), lengths mostly short, occasionally longer
// than 4M's 256-token limit.
std::vector<int32_t> Caption(Rng& rng) {
  const uint32_t roll = rng.Below(100);
  const uint32_t length = roll < 70   ? 8 + rng.Below(33)
                          : roll < 95 ? 40 + rng.Below(81)
                                      : 120 + rng.Below(201);
  std::vector<int32_t> ids(length);
  const double span = std::log(static_cast<double>(kVocabSize - kFirstWordId));
  for (int32_t& id : ids) {
    id = kFirstWordId + static_cast<int32_t>(std::exp(rng.Uniform() * span)) - 1;
  }
  return ids;
}

// Boxes as 4M tokenizes them: v0=x0 v1=y0 v2=x1 v3=y1 <class>, ordered by distance of the
// top-left corner from the origin.
std::vector<int32_t> Detection(Rng& rng) {
  const uint32_t boxes = rng.Below(4) == 0 ? 0 : 1 + rng.Below(rng.Below(5) == 0 ? 50 : 12);
  struct Box {
    int32_t x0, y0, x1, y1, cls;
  };
  std::vector<Box> list(boxes);
  for (Box& b : list) {
    b.x0 = static_cast<int32_t>(rng.Below(1000));
    b.y0 = static_cast<int32_t>(rng.Below(1000));
    b.x1 = b.x0 + static_cast<int32_t>(rng.Below(static_cast<uint32_t>(1000 - b.x0)));
    b.y1 = b.y0 + static_cast<int32_t>(rng.Below(static_cast<uint32_t>(1000 - b.y0)));
    b.cls = kFirstClassId + static_cast<int32_t>(rng.Below(kNumClasses));
  }
  std::stable_sort(list.begin(), list.end(), [](const Box& a, const Box& b) {
    return a.x0 * a.x0 + a.y0 * a.y0 < b.x0 * b.x0 + b.y0 * b.y0;
  });
  std::vector<int32_t> ids;
  for (const Box& b : list) {
    ids.insert(ids.end(), {kCoordBase[0] + b.x0, kCoordBase[1] + b.y0, kCoordBase[2] + b.x1,
                           kCoordBase[3] + b.y1, b.cls});
  }
  return ids;
}

// One record of one modality: dtype, shape and bytes, or a raw member's kind and bytes.
struct Generated {
  DType dtype;
  Shape shape;
  std::string bytes;
  RecordKind kind = RecordKind::kArray;
};

template <typename T>
Generated Pack(DType dtype, Shape shape, const std::vector<T>& v) {
  return {dtype, shape, std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T))};
}

Generated Member(RecordKind kind, std::string bytes) {
  const auto n = static_cast<int64_t>(bytes.size());
  return {DType::kUInt8, Shape{n}, std::move(bytes), kind};
}

Generated Generate(const SynthModality& mod, size_t sample, const SynthOptions& options) {
  const uint64_t seed = SampleSeed(options.seed, sample, mod.seed_slot);
  Rng rng(seed);
  const int crops = options.crops;
  auto image_size = [&] {
    Rng crop_rng(SampleSeed(options.seed, sample, kCropSlot));
    return ImageSize(crop_rng);
  };
  switch (mod.kind) {
    case Kind::kCaptionJson:
      return Member(RecordKind::kJson, SynthCaptionJson(seed, crops));
    case Kind::kDetJson:
      return Member(RecordKind::kJson, SynthDetJson(seed));
    case Kind::kMetadataJson: {
      const auto [h, w] = image_size();
      return Member(RecordKind::kJson, SynthMetadataJson(seed, h, w));
    }
    case Kind::kJpeg: {
      const auto [h, w] = image_size();
      return Member(RecordKind::kJpeg, SynthJpeg(seed, h, w));
    }
    case Kind::kImageTokens:
      return Pack(DType::kInt16, {crops, mod.tokens},
                  ImageTokens(rng, crops, mod.vocab, mod.tokens));
    case Kind::kMetadata21Json: {
      const auto [h, w] = image_size();
      return Member(RecordKind::kJson, SynthMetadata21Json(seed, h, w));
    }
    case Kind::kPaletteJson:
      return Member(RecordKind::kJson, SynthPaletteJson(seed));
    case Kind::kPosesJson: {
      const auto [h, w] = image_size();
      return Member(RecordKind::kJson, SynthPosesJson(seed, h, w));
    }
    case Kind::kSamNpy:
      return Member(RecordKind::kPickle, SynthSamNpy(seed, crops));
    case Kind::kT5Npz:
      return Member(RecordKind::kNpz, SynthT5Npz(seed, crops));
    case Kind::kCropSettings:
      return Pack(DType::kInt32, {crops, 5}, CropSettings(rng, crops));
    case Kind::kCaption: {
      std::vector<int32_t> ids = Caption(rng);
      return Pack(DType::kInt32, {static_cast<int64_t>(ids.size())}, ids);
    }
    case Kind::kDetection: {
      std::vector<int32_t> ids = Detection(rng);
      return Pack(DType::kInt32, {static_cast<int64_t>(ids.size())}, ids);
    }
  }
  return {};
}

std::string SampleKey(size_t sample) { return absl::StrFormat("%09d", sample); }

absl::Status WriteShard(const SynthOptions& options, size_t shard) {
  const size_t begin = shard * options.samples / options.shards;
  const size_t end = (shard + 1) * options.samples / options.shards;
  const std::string file = absl::StrFormat("shard-%05d%s", shard, ShardExtension(options.format));
  for (const SynthModality& mod : ModalitiesOf(options.preset)) {
    const std::string path = (std::filesystem::path(options.out) / mod.name / file).string();
    if (options.format == ShardFormat::kTar) {
      absl::StatusOr<TarWriter> tar = TarWriter::Create(path);
      if (!tar.ok()) return tar.status();
      for (size_t i = begin; i < end; ++i) {
        Generated g = Generate(mod, i, options);
        const absl::Status s =
            g.kind == RecordKind::kArray
                ? tar->Add(SampleKey(i) + ".npy", EncodeNpy(g.dtype, g.shape, g.bytes.data()))
                : tar->Add(StrCat(SampleKey(i), ".",
                                  g.kind == RecordKind::kPickle ? "npy" : RecordKindName(g.kind)),
                           g.bytes);
        if (!s.ok()) return s;
      }
      if (absl::Status s = tar->Finish(); !s.ok()) return s;
    } else {
      MfsWriter writer(path, options.mfs);
      Record record;
      for (size_t i = begin; i < end; ++i) {
        Generated g = Generate(mod, i, options);
        record.kind = g.kind;
        record.dtype = g.dtype;
        record.shape = g.shape;
        record.data.resize(g.bytes.size());
        if (!g.bytes.empty()) std::memcpy(record.data.data(), g.bytes.data(), g.bytes.size());
        if (absl::Status s = writer.Add(SampleKey(i), record); !s.ok()) return s;
      }
      if (absl::Status s = writer.Finish(); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SynthOptions::Validate() const {
  if (preset != kRawPreset && preset != kTokensPreset && preset != k4m21Preset) {
    return absl::InvalidArgumentError(
        StrCat("preset: unknown preset '", preset, "' (synth knows: 4m-7, 4m-7-tokens, 4m-21)"));
  }
  if (samples == 0) return absl::InvalidArgumentError("samples: must be > 0");
  if (shards == 0) return absl::InvalidArgumentError("shards: must be > 0");
  if (shards > samples) {
    return absl::InvalidArgumentError(
        StrCat("shards: ", shards, " shards for ", samples, " samples leaves some empty"));
  }
  if (out.empty()) return absl::InvalidArgumentError("out: an output directory is required");
  if (crops < 1 || crops > 64) return absl::InvalidArgumentError("crops: must be in 1..64");
  return mfs.Validate();
}

std::vector<std::string> SynthModalities(const std::string& preset) {
  std::vector<std::string> names;
  if (preset == SynthOptions::kRawPreset || preset == SynthOptions::kTokensPreset ||
      preset == SynthOptions::k4m21Preset) {
    for (const SynthModality& m : ModalitiesOf(preset)) names.emplace_back(m.name);
  }
  return names;
}

absl::Status SynthesizeDataset(const SynthOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  for (const SynthModality& m : ModalitiesOf(options.preset)) {
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::path(options.out) / m.name;
    std::filesystem::create_directories(dir, ec);
    if (ec) return absl::InternalError(StrCat("cannot create ", dir.string(), ": ", ec.message()));
  }
  if (options.raw()) {
    absl::StatusOr<OutputFile> tokenizer =
        OutputFile::Create((std::filesystem::path(options.out) / kDatasetTokenizerFile).string());
    if (!tokenizer.ok()) return tokenizer.status();
    const bool fourm21 = options.preset == SynthOptions::k4m21Preset;
    if (absl::Status s = tokenizer->Write(SynthTokenizerJson(fourm21)); !s.ok()) return s;
    if (absl::Status s = tokenizer->Commit(); !s.ok()) return s;
  }
  return RunJobs(
      options.shards, options.arena, [&](size_t shard) { return WriteShard(options, shard); },
      options.progress);
}

}  // namespace maskfeed
