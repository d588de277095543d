// Microbenchmarks (Google Benchmark) of the per-record costs behind maskfeed-bench-shard:
// CRC-32C, .npy header parsing, and reading one record from tar and .mfs shards.
//
//   build/bench/maskfeed-bench-shard-micro [--benchmark_format=json]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/base/crc32c.h"
#include "pipeline/shard/mfs_reader.h"
#include "pipeline/shard/npy.h"
#include "pipeline/shard/tar_reader.h"
#include "pipeline/tools/mfs_writer.h"
#include "pipeline/tools/tar_writer.h"

namespace maskfeed {
namespace {

namespace fs = std::filesystem;

constexpr int kRecords = 4096;
constexpr int kCrops = 4;
constexpr int kTokens = 196;

// A (4, 196) int16 token record like 4M-7's, with some spatial repetition.
std::vector<int16_t> TokenRecord(int i) {
  std::vector<int16_t> v(kCrops * kTokens);
  for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<int16_t>((i * 131 + j / 3 * 17) % 8192);
  return v;
}

// Shard files shared by the read benchmarks, written once per process.
struct Shards {
  fs::path dir = fs::temp_directory_path() / ("maskfeed-micro-" + std::to_string(::getpid()));
  std::string tar, mfs_none, mfs_zstd;

  Shards() {
    fs::create_directories(dir);
    tar = (dir / "shard-00000.tar").string();
    mfs_none = (dir / "none.mfs").string();
    mfs_zstd = (dir / "zstd.mfs").string();
    absl::StatusOr<TarWriter> t = TarWriter::Create(tar);
    MfsWriterOptions zstd;
    zstd.compression = mfs::Compression::kZstd;
    MfsWriter none_writer(mfs_none, MfsWriterOptions()), zstd_writer(mfs_zstd, zstd);
    for (int i = 0; i < kRecords; ++i) {
      const std::vector<int16_t> v = TokenRecord(i);
      const std::string key = std::to_string(1000000 + i);
      (void)t->Add(key + ".npy", EncodeNpy(DType::kInt16, {kCrops, kTokens}, v.data()));
      (void)none_writer.Add(key, DType::kInt16, {kCrops, kTokens}, v.data());
      (void)zstd_writer.Add(key, DType::kInt16, {kCrops, kTokens}, v.data());
    }
    if (!t->Finish().ok() || !none_writer.Finish().ok() || !zstd_writer.Finish().ok()) std::abort();
  }
  ~Shards() { fs::remove_all(dir); }
};

Shards& GetShards() {
  static Shards shards;
  return shards;
}

void BM_Crc32c(benchmark::State& state) {
  const std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(Crc32c(data.data(), data.size()));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(80)->Arg(1568)->Arg(1 << 16);

void BM_ParseNpy(benchmark::State& state) {
  const std::vector<int16_t> v = TokenRecord(0);
  const std::string file = EncodeNpy(DType::kInt16, {kCrops, kTokens}, v.data());
  for (auto _ : state) benchmark::DoNotOptimize(ParseNpy(file));
}
BENCHMARK(BM_ParseNpy);

// Reads records in a scattered order, as a shuffled epoch would.
void ReadScattered(benchmark::State& state, const ShardReader& reader) {
  Record record;
  size_t i = 0;
  for (auto _ : state) {
    i = (i + 2053) % kRecords;  // 2053 is coprime with kRecords
    if (!reader.Read(i, &record).ok()) state.SkipWithError("read failed");
    benchmark::DoNotOptimize(record.data.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kCrops * kTokens * 2);
}

void BM_ReadRecord(benchmark::State& state, const std::string& (*path)(Shards&)) {
  absl::StatusOr<std::unique_ptr<ShardReader>> reader = OpenShard(path(GetShards()));
  if (!reader.ok()) {
    state.SkipWithError("open failed");
    return;
  }
  ReadScattered(state, **reader);
}
BENCHMARK_CAPTURE(BM_ReadRecord, tar, [](Shards& s) -> const std::string& { return s.tar; });
BENCHMARK_CAPTURE(BM_ReadRecord, mfs_none,
                  [](Shards& s) -> const std::string& { return s.mfs_none; });
BENCHMARK_CAPTURE(BM_ReadRecord, mfs_zstd,
                  [](Shards& s) -> const std::string& { return s.mfs_zstd; });

}  // namespace
}  // namespace maskfeed

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::printf(
          "Per-record costs behind maskfeed-bench-shard: CRC-32C, .npy header parsing, one record "
          "read\nfrom tar and .mfs shards (Google Benchmark).\n\nusage: "
          "maskfeed-bench-shard-micro [Google Benchmark flags: --benchmark_format=json ...]\n");
      return 0;
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
