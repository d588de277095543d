// Masking + collation benchmark for 4M-7 samples.
//
// First prints one JSON line: masking and collation of whole batches (default 128 samples)
// on one thread, from records already in memory — the per-core cost of the masking engine
// alone. Then runs Google Benchmark microbenchmarks of each policy (skip with --json-only).
//
//   maskfeed-bench-masking [--batches N] [--batch-size B] [--repeats R] [--json-only]
//                          [Google Benchmark flags]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/base/json_line.h"
#include "pipeline/base/strings.h"
#include "pipeline/collate/collator.h"
#include "pipeline/collate/tensor_packing.h"
#include "pipeline/masking/image_masking.h"
#include "pipeline/masking/masker.h"
#include "pipeline/shard/dataset.h"
#include "pipeline/tools/synth_dataset.h"

namespace maskfeed {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void Die(const absl::Status& s) {
  std::fprintf(stderr, "maskfeed-bench-masking: %s\n", std::string(ToStd(s.message())).c_str());
  std::exit(1);
}

// A few thousand synthetic 4M-7 samples, decoded into memory once, records ordered as the
// masking spec's modalities.
struct Corpus {
  MaskingSpec spec;
  std::vector<std::vector<Record>> samples;
  std::vector<int64_t> crops;

  explicit Corpus(const std::string& preset, size_t count = 2048) {
    absl::StatusOr<v1::MaskingConfig> config = PresetMaskingConfig(preset);
    if (!config.ok()) Die(config.status());
    absl::StatusOr<MaskingSpec> resolved = ResolveMaskingConfig(*config);
    if (!resolved.ok()) Die(resolved.status());
    spec = *resolved;
    const fs::path dir = fs::temp_directory_path() / StrCat("maskfeed-bench-masking-", ::getpid());
    SynthOptions synth;
    synth.preset = SynthOptions::kTokensPreset;
    synth.samples = count;
    synth.out = dir.string();
    synth.format = ShardFormat::kMfs;
    if (absl::Status s = SynthesizeDataset(synth); !s.ok()) Die(s);
    absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(dir.string());
    if (!dataset.ok()) Die(dataset.status());
    samples.resize(count);
    for (size_t i = 0; i < count; ++i) {
      crops.push_back((*dataset)->NumCropVariants(i));
      for (const ModalitySpec& mod : spec.modalities) {
        std::optional<size_t> m = (*dataset)->FindModality(mod.name);
        if (!m) Die(absl::NotFoundError(StrCat("synthetic data lacks ", mod.name)));
        samples[i].emplace_back();
        if (absl::Status s = (*dataset)->Read(*m, i, &samples[i].back()); !s.ok()) Die(s);
      }
    }
    fs::remove_all(dir);
  }
};

Corpus& Get4m7() {
  static Corpus corpus("4m-7-tokens");
  return corpus;
}

// Everything masking a batch needs, reused from batch to batch.
struct BatchMasker {
  explicit BatchMasker(const Corpus& c) : corpus(c), masker(c.spec), collator(masker.spec(), {}) {}

  // Masks rows at positions first_position.. into `batch`; false on error.
  bool Mask(int64_t batch_size, uint64_t first_position) {
    batch = collator.Allocate(batch_size);
    for (int64_t i = 0; i < batch_size; ++i) {
      const uint64_t position = first_position + static_cast<uint64_t>(i);
      const size_t s = position % corpus.samples.size();
      Rng rng = Rng::ForSample(7, 0, position, 0);
      masker.Plan(rng, corpus.crops[s], &plan, &scratch);
      records.resize(corpus.spec.modalities.size());
      for (size_t m = 0; m < records.size(); ++m) {
        records[m] = plan.Needs(m) ? &corpus.samples[s][m] : nullptr;
      }
      collator.RowOf(batch, i, &row);
      if (!masker.Apply(plan, records, rng, row, &scratch).ok()) return false;
    }
    collator.Finish(&batch);
    return true;
  }

  const Corpus& corpus;
  Masker masker;
  Collator collator;
  Batch batch;
  MaskScratch scratch;
  std::vector<ModalityRow> row;
  std::vector<const Record*> records;
  SamplePlan plan;
};

// Masks `batches` batches `repeats` times and reports the median and best pass: this machine
// shares its cores, so single passes vary by +-15%.
void ThroughputJson(const std::string& preset, int64_t batches, int64_t batch_size, int repeats) {
  BatchMasker masking(Get4m7());
  // Warm-up: allocator, caches.
  for (int i = 0; i < 5; ++i) masking.Mask(batch_size, 0);
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (int64_t b = 0; b < batches; ++b) {
      if (!masking.Mask(batch_size, static_cast<uint64_t>(b * batch_size))) {
        Die(absl::InternalError("masking failed"));
      }
      benchmark::DoNotOptimize(masking.batch.modalities[0].tensor.data.data());
    }
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  const double seconds = times[times.size() / 2];
  const double samples = static_cast<double>(batches * batch_size);
  auto rate = [](double amount, double s) { return s > 0 ? amount / s : 0.0; };
  const nlohmann::ordered_json line = {
      {"bench", "masking"},
      {"preset", preset},
      {"batch_size", batch_size},
      {"batches", batches},
      {"samples", std::llround(samples)},
      {"repeats", repeats},
      {"seconds", std::round(seconds * 1e4) / 1e4},
      {"samples_per_s", std::llround(rate(samples, seconds))},
      {"samples_per_s_best", std::llround(rate(samples, times.front()))},
      {"output_mb_per_s",
       std::round(rate(samples * masking.collator.RowBytes() / 1e6, seconds) * 10) / 10},
      {"output_bytes_per_sample", masking.collator.RowBytes()},
      {"threads", 1},
      {"cores", std::max(1u, std::thread::hardware_concurrency())}};
  std::printf("%s\n", JsonLine(line).c_str());
  std::fflush(stdout);
}

void BM_Plan(benchmark::State& state) {
  const Corpus& corpus = Get4m7();
  Masker masker(corpus.spec);
  SamplePlan plan;
  MaskScratch scratch;
  uint64_t position = 0;
  for (auto _ : state) {
    Rng rng = Rng::ForSample(7, 0, position++, 0);
    masker.Plan(rng, 4, &plan, &scratch);
    benchmark::DoNotOptimize(plan.input_budget.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Plan);

void BM_ImageMask(benchmark::State& state) {
  std::vector<uint8_t> in(196), tgt(196);
  std::vector<int32_t> att(196);
  std::vector<uint16_t> scratch;
  Rng rng(1);
  for (auto _ : state) {
    MaskImage(196, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), rng,
              in.data(), tgt.data(), att.data(), &scratch);
    benchmark::DoNotOptimize(in.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ImageMask)->Args({0, 0})->Args({64, 64})->Args({128, 68});

void BM_SpanMask(benchmark::State& state) {
  ModalitySpec spec;
  spec.name = "caption";
  spec.type = ModalityType::kSeq;
  spec.max_tokens = 256;
  SpanScratch s;
  std::vector<int32_t> tokens(spec.length());
  std::vector<uint8_t> in(spec.length()), tgt(spec.length());
  std::vector<int32_t> att(spec.length());
  Rng rng(1);
  const size_t length = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    s.ids.resize(length);
    std::fill_n(s.ids.data(), length, 5000);
    SplitUnits(length, 0, 0, &s);
    MaskSpans(spec, KeepScheme::kRandom, static_cast<int>(state.range(1)), 64, false, rng, &s);
    LayoutSequence(spec, s.input, s.target, static_cast<int>(state.range(1)), tokens.data(),
                   in.data(), tgt.data(), att.data());
    benchmark::DoNotOptimize(tokens.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpanMask)->Args({48, 32})->Args({48, 4})->Args({256, 64});

void BM_Batch(benchmark::State& state) {
  BatchMasker masking(Get4m7());
  uint64_t position = 0;
  for (auto _ : state) {
    masking.Mask(state.range(0), position);
    position += static_cast<uint64_t>(state.range(0));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Batch)->Arg(128);

// Packing a masked batch's rows for the wire (ENCODING_PACKED streams), per row. The rows
// come from 8 masked samples, which stay in cache as the producer's scratch row does.
void BM_PackRows(benchmark::State& state) {
  BatchMasker masking(Get4m7());
  masking.Mask(8, 0);
  std::shared_ptr<BufferPool> pool = BufferPool::Create(size_t{64} << 20);
  std::vector<ModalityRow> rows;
  for (auto _ : state) {
    Batch packed = masking.collator.Allocate(128, pool.get());
    PackingState packing;
    BeginPacking(&packed, pool.get(), &packing);
    for (int64_t r = 0; r < 128; ++r) {
      masking.collator.RowOf(masking.batch, r % 8, &rows);
      PackRow(&packed, r, rows, &packing);
    }
    FinishPacking(&packed, packing);
    benchmark::DoNotOptimize(packed.modalities[0].packed[1].data.data());
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(BM_PackRows);

// The client's side of BM_PackRows: a packed batch expanded back to plain tensors, as
// ExpandBatch does with a wire batch (buffers from a pool, as the client's readers keep).
void BM_UnpackRows(benchmark::State& state) {
  BatchMasker masking(Get4m7());
  masking.Mask(128, 0);
  std::shared_ptr<BufferPool> pool = BufferPool::Create(size_t{64} << 20);
  Batch packed = masking.collator.Allocate(128, pool.get());
  PackingState packing;
  BeginPacking(&packed, pool.get(), &packing);
  std::vector<ModalityRow> rows;
  for (int64_t r = 0; r < 128; ++r) {
    masking.collator.RowOf(masking.batch, r, &rows);
    PackRow(&packed, r, rows, &packing);
  }
  FinishPacking(&packed, packing);
  auto view = [](const PackedTensor& p) {
    return std::string_view(reinterpret_cast<const char*>(p.data.data()), p.data.size());
  };
  for (auto _ : state) {
    std::vector<Buffer> out;
    for (const ModalityBatch& m : masking.batch.modalities) {
      const ModalityBatch& p = packed.modalities[&m - masking.batch.modalities.data()];
      const Matrix shape = AsMatrix(m.input_mask);
      auto get = [&](const HostTensor& like) {
        out.push_back(pool->Get(like.data.size()));
        return reinterpret_cast<uint8_t*>(out.back().data());
      };
      uint8_t* target = get(m.target_mask);
      if (p.packed[2].packing != Packing::kBits) std::abort();
      (void)UnpackBits(view(p.packed[2]), shape, target);
      if (p.packed[0].packing == Packing::kUint16) {
        (void)UnpackUint16(view(p.packed[0]), shape, m.tensor.dtype == DType::kInt64,
                           get(m.tensor));
      }
      (void)UnpackBits(view(p.packed[1]), shape, get(m.input_mask));
      auto* attention = reinterpret_cast<int32_t*>(get(m.decoder_attention_mask));
      if (p.packed[3].packing == Packing::kTargetIndicator) {
        DeriveTargetIndicator(target, shape, attention);
      } else if (p.packed[3].packing == Packing::kTargetCountAtFirst) {
        DeriveTargetCountAtFirst(target, shape, attention);
      }
    }
    benchmark::DoNotOptimize(out.front().data());
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(BM_UnpackRows);

}  // namespace
}  // namespace maskfeed

int main(int argc, char** argv) {
  using namespace maskfeed;
  int64_t batches = 400, batch_size = 128;
  int repeats = 5;
  bool json_only = false;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "Masking + collation of whole 4M-7 batches on one thread (one JSON line), then Google "
          "Benchmark\nmicrobenchmarks of each policy.\n\nusage: maskfeed-bench-masking "
          "[--batches N] [--batch-size B] [--repeats R] [--json-only]\n"
          "                              [Google Benchmark flags: --benchmark_filter=...]\n");
      return 0;
    }
    if (arg == "--json-only") {
      json_only = true;
    } else if (arg == "--batches" && i + 1 < argc) {
      batches = std::stoll(argv[++i]);
    } else if (arg == "--repeats" && i + 1 < argc) {
      repeats = std::max(1, std::stoi(argv[++i]));
    } else if (arg == "--batch-size" && i + 1 < argc) {
      batch_size = std::stoll(argv[++i]);
    } else {
      rest.push_back(argv[i]);
    }
  }
  ThroughputJson("4m-7-tokens", batches, batch_size, repeats);
  if (json_only) return 0;
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
