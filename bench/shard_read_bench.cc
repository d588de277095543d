// Shard store benchmark: read + decode of whole 4M-7 samples (every modality) from a warm page
// cache, sequential and random order, for tar and .mfs shards; .mfs write speed and
// compression ratio per codec setting. One JSON object per line on stdout.
//
//   maskfeed-bench-shard [--samples N] [--shards K] [--dir DIR] [--repeat R]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "frontend/cli_args.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/base/json_line.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/dataset.h"
#include "pipeline/tools/convert_dataset.h"
#include "pipeline/tools/synth_dataset.h"

namespace maskfeed {
namespace {

constexpr char kUsage[] =
    R"(Shard store benchmark: read + decode of whole 4M-7 samples from a warm page cache,
sequential and random order, tar and .mfs; .mfs write speed and compression per codec.
One JSON object per line.

usage: maskfeed-bench-shard [--samples N] [--shards K] [--dir DIR] [--repeat R]
)";

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// a / b, or 0 when nothing was measured (JSON has no infinity).
double Ratio(double a, double b) { return b > 0 ? a / b : 0; }
double Round(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}
void PrintLine(const nlohmann::ordered_json& line) {
  std::printf("%s\n", JsonLine(line).c_str());
  std::fflush(stdout);
}

struct Variant {
  std::string name;   // folder and label
  std::string codec;  // "tar", "none", "zstd"
  int level = 0;
  uint32_t dict_bytes = 0;
  bool literals = false;
};

[[noreturn]] void Die(const absl::Status& s) {
  std::fprintf(stderr, "maskfeed-bench-shard: %s\n", std::string(ToStd(s.message())).c_str());
  std::exit(1);
}

struct ReadResult {
  double seconds = 0;
  uint64_t bytes = 0;
};

// Reads every sample (all modalities) in `order` on this thread; best of `repeat` runs.
ReadResult ReadAll(const Dataset& dataset, const std::vector<size_t>& order, int repeat) {
  std::vector<Record> records;
  ReadResult best;
  best.seconds = 1e30;
  for (int r = 0; r < repeat; ++r) {
    uint64_t bytes = 0;
    const Clock::time_point start = Clock::now();
    for (size_t i : order) {
      if (absl::Status s = dataset.ReadSample(i, &records); !s.ok()) Die(s);
      for (const Record& rec : records) bytes += rec.data.size();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (seconds < best.seconds) best = {seconds, bytes};
  }
  return best;
}

uint64_t DirBytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

}  // namespace
}  // namespace maskfeed

int main(int argc, char** argv) {
  using namespace maskfeed;
  absl::StatusOr<CliArgs> args =
      CliArgs::Parse({argv + 1, argv + argc}, {"samples", "shards", "dir", "repeat"});
  if (!args.ok()) Die(args.status());
  if (args->help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  absl::StatusOr<int64_t> samples = args->GetInt("samples", 20000, 100, 100000000);
  absl::StatusOr<int64_t> shards = args->GetInt("shards", 8, 1, 10000);
  absl::StatusOr<int64_t> repeat = args->GetInt("repeat", 3, 1, 100);
  for (const absl::Status& s : {samples.status(), shards.status(), repeat.status()}) {
    if (!s.ok()) Die(s);
  }
  const bool own_dir = !args->Has("dir");
  const fs::path dir = own_dir
                           ? fs::temp_directory_path() / StrCat("maskfeed-bench-shard-", ::getpid())
                           : fs::path(args->GetString("dir"));
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  tbb::task_arena arena(static_cast<int>(cores));
  tbb::task_arena one_thread(1);

  SynthOptions synth;
  synth.preset = SynthOptions::kTokensPreset;
  synth.samples = static_cast<size_t>(*samples);
  synth.shards = static_cast<size_t>(*shards);
  synth.out = (dir / "tar").string();
  synth.arena = &arena;
  if (absl::Status s = SynthesizeDataset(synth); !s.ok()) Die(s);

  const std::vector<Variant> variants = {
      {"tar", "tar", 0, 0},
      {"mfs-none", "none", 0, 0},  // the default
      {"mfs-zstd3", "zstd", 3, 0},
      {"mfs-zstd3-huffman", "zstd", 3, 0, true},
      {"mfs-zstd3-dict4k", "zstd", 3, 4096},
      {"mfs-zstd9-huffman", "zstd", 9, 0, true},
  };

  std::vector<size_t> sequential(synth.samples);
  std::iota(sequential.begin(), sequential.end(), 0);
  std::vector<size_t> random = sequential;
  std::shuffle(random.begin(), random.end(), std::mt19937_64(42));

  for (const Variant& v : variants) {
    const fs::path root = dir / v.name;
    if (v.codec != "tar") {
      ConvertOptions convert;
      convert.src = synth.out;
      convert.dst = root.string();
      convert.mfs.compression =
          v.codec == "none" ? mfs::Compression::kNone : mfs::Compression::kZstd;
      convert.mfs.level = v.codec == "none" ? 1 : v.level;
      convert.mfs.dictionary_bytes = v.dict_bytes;
      convert.mfs.compress_literals = v.literals;
      convert.arena = &one_thread;  // write speed per core
      const Clock::time_point start = Clock::now();
      absl::StatusOr<ConvertReport> report = ConvertDataset(convert);
      if (!report.ok()) Die(report.status());
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      const double raw_mb = report->raw_bytes / 1e6;
      PrintLine({{"bench", "mfs_write"},
                 {"variant", v.name},
                 {"codec", v.codec},
                 {"level", v.level},
                 {"dict_bytes", v.dict_bytes},
                 {"huffman_literals", v.literals},
                 {"samples", report->samples},
                 {"raw_mb", Round(raw_mb, 2)},
                 {"file_mb", Round(report->output_bytes / 1e6, 2)},
                 {"ratio", Round(Ratio(report->raw_bytes, report->output_bytes), 3)},
                 {"seconds", Round(seconds, 3)},
                 {"write_raw_mb_per_s", Round(Ratio(raw_mb, seconds), 1)},
                 {"threads", 1},
                 {"cores", cores}});
    }
    absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(root.string());
    if (!dataset.ok()) Die(dataset.status());
    for (const auto& [access, order] :
         {std::pair<const char*, const std::vector<size_t>*>{"sequential", &sequential},
          {"random", &random}}) {
      ReadAll(**dataset, *order, 1);  // warm the page cache
      const ReadResult r = ReadAll(**dataset, *order, static_cast<int>(*repeat));
      PrintLine({{"bench", "shard_read"},
                 {"variant", v.name},
                 {"access", access},
                 {"samples", order->size()},
                 {"modalities", (*dataset)->num_modalities()},
                 {"seconds", Round(r.seconds, 4)},
                 {"samples_per_s", std::llround(Ratio(order->size(), r.seconds))},
                 {"decoded_mb_per_s", Round(Ratio(r.bytes / 1e6, r.seconds), 1)},
                 {"file_mb", Round(DirBytes(root) / 1e6, 2)},
                 {"threads", 1},
                 {"cores", cores}});
    }
  }
  if (own_dir) fs::remove_all(dir);
  return 0;
}
