// maskfeed-shard: create, convert, check and look into maskfeed datasets.
//
//   maskfeed-shard synth [--preset 4m-7|4m-7-tokens|4m-21] --samples N --shards K --out DIR
//   maskfeed-shard convert SRC DST
//   maskfeed-shard verify DIR
//   maskfeed-shard inspect FILE|DIR
//   maskfeed-shard manifest DIR
//   maskfeed-shard import-jsonl --in FILE.jsonl --out DIR
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "frontend/cli_args.h"
#include "frontend/progress_printer.h"
#include "google/protobuf/text_format.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/dataset.h"
#include "pipeline/shard/mfs_reader.h"
#include "pipeline/storage/object_store.h"
#include "pipeline/tools/convert_dataset.h"
#include "pipeline/tools/jsonl_import.h"
#include "pipeline/tools/synth_dataset.h"
#include "pipeline/tools/verify_dataset.h"

namespace maskfeed {
namespace {

constexpr char kSynthUsage[] =
    R"(  synth [--preset 4m-7|4m-7-tokens|4m-21] --samples N --shards K --out DIR [--format tar|mfs]
        [--seed S] [--crops C] [MFS OPTIONS] [--threads T]
      Writes a synthetic 4M dataset. 4m-7 (default): 4M's raw layout, as 4M stores it (rgb
      JPEGs of several sizes, caption/det/metadata JSON, crop_settings, five tok_* arrays) with
      its own tokenizer.json in DIR. 4m-7-tokens: the same samples pre-tokenized (caption and
      det ids as .npy, no images). 4m-21: 4M-21's raw layout (4m-7's members, color_palette and
      human_poses JSON, sam_instance pickles, t5_caption .npz of about 0.3 MB a sample, 13
      tok_* arrays).
)";
constexpr char kConvertUsage[] = R"(  convert SRC DST [MFS OPTIONS] [--threads T]
      Converts every modality of dataset SRC (tar or mfs shards) into .mfs shards under DST.
)";
constexpr char kVerifyUsage[] = R"(  verify DIR [--threads T]
      Checks the layout, alignment and every record of a dataset; exits 1 on any problem,
      naming file and record.
)";
constexpr char kInspectUsage[] = R"(  inspect FILE|DIR
      Describes one shard file, or a whole dataset root.
)";
constexpr char kManifestUsage[] = R"(  manifest DIR
      Writes DIR/maskfeed-manifest.json: every file under DIR with its size, which a dataset
      served from plain HTTP(S) needs (HTTP cannot list folders). Checks that DIR opens as a
      dataset first. Publish DIR with the manifest beside it.
)";
constexpr char kImportUsage[] =
    R"(  import-jsonl --in FILE.jsonl --out DIR [--field text] [--folder caption]
        [--samples-per-shard 10000] [--skip-bad-lines]
      Writes a text corpus published as JSON Lines (C4, ...) in 4M's tar layout: each line's
      text field becomes a KEY.txt member of DIR/FOLDER/shard-NNNNN.tar, a text-only dataset
      served like any other (serve it with a caption masking config, or as a dataset of 4M's
      YAML whose data_path is DIR/[caption]/shard-{00000..LAST}.tar). A bad line (not JSON,
      not an object, no string field) ends the import naming file and line, removing what it
      wrote; --skip-bad-lines reports each and goes on.
)";
constexpr char kFooter[] = R"(
MFS OPTIONS (for .mfs output):
  --codec none|zstd   raw records (default: fastest reads), or per-record zstd frames
  --level L           zstd level (default 3)
  --huffman           Huffman-code literals: smaller files, about 2x slower reads
  --dict-bytes B      train a per-shard zstd dictionary of B bytes (default 0 = none)
--threads defaults to the number of cores.
)";

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

absl::StatusOr<MfsWriterOptions> MfsOptionsFrom(const CliArgs& args) {
  MfsWriterOptions mfs;
  absl::StatusOr<int64_t> level = args.GetInt("level", MfsWriterOptions::kDefaultLevel, -7, 22);
  if (!level.ok()) return level.status();
  absl::StatusOr<int64_t> dict =
      args.GetInt("dict-bytes", MfsWriterOptions::kDefaultDictionaryBytes, 0, 1 << 24);
  if (!dict.ok()) return dict.status();
  const std::string codec = args.GetString("codec", "none");
  if (codec != "zstd" && codec != "none") {
    return absl::InvalidArgumentError("--codec: must be zstd or none");
  }
  mfs.compression = codec == "zstd" ? mfs::Compression::kZstd : mfs::Compression::kNone;
  mfs.compress_literals = args.Has("huffman");
  mfs.level = static_cast<int>(*level);
  mfs.dictionary_bytes = static_cast<uint32_t>(*dict);
  return mfs;
}

absl::StatusOr<int> ThreadsFrom(const CliArgs& args) {
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  absl::StatusOr<int64_t> threads = args.GetInt("threads", cores, 1, 1024);
  if (!threads.ok()) return threads.status();
  return static_cast<int>(*threads);
}

int Fail(const absl::Status& status, int code = kExitFailed) {
  std::cerr << "maskfeed-shard: " << status.message() << "\n";
  if (code == kExitUsage) std::cerr << "run 'maskfeed-shard --help' for usage\n";
  return code;
}

int Synth(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args =
      CliArgs::Parse(argv,
                     {"preset", "samples", "shards", "out", "format", "seed", "crops", "codec",
                      "level", "dict-bytes", "threads"},
                     {"huffman", "raw"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  if (!args->positional().empty()) {
    return Fail(absl::InvalidArgumentError("synth takes no positional arguments"), kExitUsage);
  }
  SynthOptions options;
  options.preset = args->GetString("preset", "4m-7");
  options.out = args->GetString("out");
  const std::string format = args->GetString("format", "tar");
  if (format != "tar" && format != "mfs") {
    return Fail(absl::InvalidArgumentError("--format: must be tar or mfs"), kExitUsage);
  }
  options.format = format == "tar" ? ShardFormat::kTar : ShardFormat::kMfs;
  absl::StatusOr<int64_t> samples = args->GetInt("samples", 0, 1, int64_t{1} << 40);
  absl::StatusOr<int64_t> shards = args->GetInt("shards", 1, 1, 99999);
  absl::StatusOr<int64_t> seed = args->GetInt("seed", 0, 0, INT64_MAX);
  absl::StatusOr<int64_t> crops = args->GetInt("crops", SynthOptions::kDefaultCrops, 1, 64);
  absl::StatusOr<MfsWriterOptions> mfs = MfsOptionsFrom(*args);
  absl::StatusOr<int> threads = ThreadsFrom(*args);
  for (const absl::Status& s : {samples.status(), shards.status(), seed.status(), crops.status(),
                                mfs.status(), threads.status()}) {
    if (!s.ok()) return Fail(s, kExitUsage);
  }
  if (!args->Has("samples"))
    return Fail(absl::InvalidArgumentError("--samples is required"), kExitUsage);
  options.samples = static_cast<size_t>(*samples);
  options.shards = static_cast<size_t>(*shards);
  options.seed = static_cast<uint64_t>(*seed);
  options.crops = static_cast<int>(*crops);
  if (args->Has("raw")) {
    return Fail(
        absl::InvalidArgumentError("--raw: 4M's raw layout is now the default (--preset 4m-7); "
                                   "--preset 4m-7-tokens writes pre-tokenized data"),
        kExitUsage);
  }
  options.mfs = *mfs;
  if (absl::Status s = options.Validate(); !s.ok()) return Fail(s, kExitUsage);
  tbb::task_arena arena(*threads);
  options.arena = &arena;
  options.progress = ProgressPrinter("synth: shards written");
  const Clock::time_point start = Clock::now();
  if (absl::Status s = SynthesizeDataset(options); !s.ok()) return Fail(s);
  std::printf("synth: %zu samples of preset %s in %zu %s shards under %s%s (%.2f s)\n",
              options.samples, options.preset.c_str(), options.shards, format.c_str(),
              options.out.c_str(), options.raw() ? ", raw layout with tokenizer.json" : "",
              SecondsSince(start));
  return kExitOk;
}

int ImportJsonl(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(
      argv, {"in", "out", "field", "folder", "samples-per-shard"}, {"skip-bad-lines"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  if (!args->positional().empty()) {
    return Fail(absl::InvalidArgumentError("import-jsonl takes no positional arguments"),
                kExitUsage);
  }
  JsonlImportOptions o;
  o.in = args->GetString("in");
  o.out = args->GetString("out");
  if (o.in.empty() || o.out.empty()) {
    return Fail(absl::InvalidArgumentError("--in FILE and --out DIR are required"), kExitUsage);
  }
  o.field = args->GetString("field", o.field);
  o.folder = args->GetString("folder", o.folder);
  absl::StatusOr<int64_t> per_shard = args->GetInt("samples-per-shard", 10000, 1, int64_t{1} << 32);
  if (!per_shard.ok()) return Fail(per_shard.status(), kExitUsage);
  o.samples_per_shard = static_cast<uint64_t>(*per_shard);
  o.skip_bad_lines = args->Has("skip-bad-lines");
  o.on_bad_line = [](const std::string& m) {
    std::cerr << "maskfeed-shard: skipped " << m << "\n";
  };
  o.progress = ProgressPrinter("import-jsonl: bytes read");
  const Clock::time_point start = Clock::now();
  absl::StatusOr<JsonlImportResult> r = ImportJsonLines(o);
  if (!r.ok()) return Fail(r.status());
  std::printf("import-jsonl: %llu samples in %llu shards under %s/%s%s (%.2f s)\n",
              static_cast<unsigned long long>(r->samples),
              static_cast<unsigned long long>(r->shards), o.out.c_str(), o.folder.c_str(),
              r->bad_lines == 0 ? "" : StrCat(", ", r->bad_lines, " bad lines skipped").c_str(),
              SecondsSince(start));
  return kExitOk;
}

int Convert(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args =
      CliArgs::Parse(argv, {"codec", "level", "dict-bytes", "threads"}, {"huffman"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  if (args->positional().size() != 2) {
    return Fail(absl::InvalidArgumentError("convert needs SRC and DST directories"), kExitUsage);
  }
  absl::StatusOr<MfsWriterOptions> mfs = MfsOptionsFrom(*args);
  if (!mfs.ok()) return Fail(mfs.status(), kExitUsage);
  absl::StatusOr<int> threads = ThreadsFrom(*args);
  if (!threads.ok()) return Fail(threads.status(), kExitUsage);
  tbb::task_arena arena(*threads);
  ConvertOptions options;
  options.src = args->positional()[0];
  options.dst = args->positional()[1];
  options.mfs = *mfs;
  options.arena = &arena;
  options.progress = ProgressPrinter("convert: shard files written");
  const Clock::time_point start = Clock::now();
  absl::StatusOr<ConvertReport> report = ConvertDataset(options);
  if (!report.ok()) return Fail(report.status());
  const double seconds = SecondsSince(start);
  std::printf(
      "convert: %llu samples (%llu records) from %s to %s in %.2f s: %.1f MB in, %.1f MB raw, "
      "%.1f MB out (ratio %.2fx of raw)\n",
      static_cast<unsigned long long>(report->samples),
      static_cast<unsigned long long>(report->records), options.src.c_str(), options.dst.c_str(),
      seconds, report->input_bytes / 1e6, report->raw_bytes / 1e6, report->output_bytes / 1e6,
      report->output_bytes ? static_cast<double>(report->raw_bytes) / report->output_bytes : 0.0);
  return kExitOk;
}

int Verify(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, {"threads"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  if (args->positional().size() != 1) {
    return Fail(absl::InvalidArgumentError("verify needs one dataset directory"), kExitUsage);
  }
  absl::StatusOr<int> threads = ThreadsFrom(*args);
  if (!threads.ok()) return Fail(threads.status(), kExitUsage);
  tbb::task_arena arena(*threads);
  VerifyOptions options;
  options.arena = &arena;
  options.progress = ProgressPrinter("verify: shard files checked");
  const std::string& root = args->positional()[0];
  const Clock::time_point start = Clock::now();
  absl::StatusOr<VerifyReport> report = VerifyDataset(root, options);
  if (!report.ok()) return Fail(report.status());
  for (const absl::Status& e : report->errors)
    std::cerr << "maskfeed-shard: " << e.message() << "\n";
  std::printf(
      "verify: %s: %llu samples, %llu modalities, %llu shards, %llu records checked, "
      "%.1f MB, %.2f s: %s\n",
      root.c_str(), static_cast<unsigned long long>(report->samples),
      static_cast<unsigned long long>(report->modalities),
      static_cast<unsigned long long>(report->shards),
      static_cast<unsigned long long>(report->records_checked), report->bytes_on_disk / 1e6,
      SecondsSince(start),
      report->errors.empty()
          ? "OK"
          : absl::StrFormat("%zu CORRUPT RECORDS", report->errors.size()).c_str());
  return report->errors.empty() ? kExitOk : kExitFailed;
}

int InspectShard(const std::string& path) {
  absl::StatusOr<std::unique_ptr<ShardReader>> reader = OpenShard(path);
  if (!reader.ok()) return Fail(reader.status());
  const ShardReader& r = **reader;
  std::printf("file:     %s\nformat:   %s\nbytes:    %llu\nrecords:  %zu\n", path.c_str(),
              std::string(ShardFormatName(r.format())).c_str(),
              static_cast<unsigned long long>(r.file_bytes()), r.num_records());
  if (r.num_records() == 0) return kExitOk;
  std::printf("layout:   %s\n", r.layout().ToString().c_str());
  int64_t lo = INT64_MAX, hi = 0, sum = 0;
  for (size_t i = 0; i < r.num_records(); ++i) {
    lo = std::min(lo, r.first_dim(i));
    hi = std::max(hi, r.first_dim(i));
    sum += r.first_dim(i);
  }
  std::printf("%s min %lld, mean %.1f, max %lld\n",
              r.layout().raw ? "bytes:   " : "dim 0:   ", static_cast<long long>(lo),
              static_cast<double>(sum) / r.num_records(), static_cast<long long>(hi));
  if (r.layout().raw) {
    std::map<std::string_view, size_t> kinds;
    for (size_t i = 0; i < r.num_records(); ++i) ++kinds[RecordKindName(r.kind(i))];
    std::string line;
    for (const auto& [kind, n] : kinds) StrAppend(&line, line.empty() ? "" : ", ", n, " ", kind);
    std::printf("members:  %s\n", line.c_str());
  }
  std::printf("keys:     %s .. %s\n", std::string(r.key(0)).c_str(),
              std::string(r.key(r.num_records() - 1)).c_str());
  if (const auto* mfs = dynamic_cast<const MfsShardReader*>(&r)) {
    const mfs::Header& h = mfs->header();
    std::printf("codec:    %s (level %d), dictionary %u bytes\n",
                h.compression == mfs::Compression::kZstd ? "zstd" : "none", h.level, h.dict_bytes);
    std::printf("ratio:    %.2fx (%llu raw bytes stored in %llu)\n",
                static_cast<double>(mfs->raw_bytes()) / std::max<uint64_t>(1, mfs->stored_bytes()),
                static_cast<unsigned long long>(mfs->raw_bytes()),
                static_cast<unsigned long long>(mfs->stored_bytes()));
  }
  return kExitOk;
}

int Inspect(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, {});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  if (args->positional().size() != 1) {
    return Fail(absl::InvalidArgumentError("inspect needs one shard file or dataset directory"),
                kExitUsage);
  }
  const std::string& path = args->positional()[0];
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return InspectShard(path);
  absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(path);
  if (!dataset.ok()) return Fail(dataset.status());
  std::string text;
  google::protobuf::TextFormat::PrintToString((*dataset)->Describe(), &text);
  std::fputs(text.c_str(), stdout);
  return kExitOk;
}

int Manifest(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, {});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  if (args->positional().size() != 1) {
    return Fail(absl::InvalidArgumentError("manifest needs one dataset directory"), kExitUsage);
  }
  const std::filesystem::path root = args->positional()[0];
  absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(root.string());
  if (!dataset.ok()) return Fail(dataset.status());
  absl::StatusOr<std::vector<StoredObject>> objects = WriteManifest(root.string());
  if (!objects.ok()) return Fail(objects.status());
  const std::filesystem::path out = root / std::string(kManifestName);
  uint64_t bytes = 0;
  for (const StoredObject& o : *objects) bytes += o.size;
  std::printf("manifest: %s: %zu files, %.1f MB (%zu samples, %zu shards per modality)\n",
              out.c_str(), objects->size(), bytes / 1e6, (*dataset)->num_samples(),
              (*dataset)->num_shards());
  return kExitOk;
}

}  // namespace
}  // namespace maskfeed

int main(int argc, char** argv) {
  using namespace maskfeed;
  return DispatchCommand(argc, argv, "maskfeed-shard",
                         "Creates, converts, checks and describes maskfeed datasets.\n",
                         {{"synth", kSynthUsage, Synth},
                          {"convert", kConvertUsage, Convert},
                          {"verify", kVerifyUsage, Verify},
                          {"inspect", kInspectUsage, Inspect},
                          {"manifest", kManifestUsage, Manifest},
                          {"import-jsonl", kImportUsage, ImportJsonl}},
                         kFooter);
}
