#include "pipeline/tools/convert_dataset.h"

#include <atomic>
#include <filesystem>

#include "pipeline/base/strings.h"
#include "pipeline/shard/dataset.h"

namespace maskfeed {
namespace fs = std::filesystem;

absl::StatusOr<ConvertReport> ConvertDataset(const ConvertOptions& options) {
  if (absl::Status s = options.mfs.Validate(); !s.ok()) return s;
  if (options.dst.empty())
    return absl::InvalidArgumentError("dst: an output directory is required");
  std::error_code ec;
  if (fs::exists(options.dst, ec) && fs::equivalent(options.src, options.dst, ec)) {
    return absl::InvalidArgumentError("dst: must differ from the source directory");
  }
  DatasetOptions open_options;
  open_options.arena = options.arena;
  absl::StatusOr<std::unique_ptr<Dataset>> opened = Dataset::Open(options.src, open_options);
  if (!opened.ok()) return opened.status();
  const Dataset& dataset = **opened;

  for (size_t m = 0; m < dataset.num_modalities(); ++m) {
    const fs::path dir = fs::path(options.dst) / dataset.modality_name(m);
    fs::create_directories(dir, ec);
    if (ec) return absl::InternalError(StrCat("cannot create ", dir.string(), ": ", ec.message()));
  }

  const size_t shards = dataset.num_shards();
  std::atomic<uint64_t> raw_bytes{0}, output_bytes{0}, input_bytes{0};
  absl::Status status = RunJobs(
      dataset.num_modalities() * shards, options.arena,
      [&](size_t job) -> absl::Status {
        const size_t m = job / shards, s = job % shards;
        const ShardReader& reader = dataset.shard(m, s);
        const fs::path out = fs::path(options.dst) / dataset.modality_name(m) /
                             fs::path(reader.path()).filename().replace_extension(".mfs");
        MfsWriter writer(out.string(), options.mfs);
        Record record;
        uint64_t raw = 0;
        for (size_t r = 0; r < reader.num_records(); ++r) {
          if (absl::Status st = reader.Read(r, &record); !st.ok()) return st;
          if (absl::Status st = writer.Add(reader.key(r), record); !st.ok()) return st;
          raw += record.data.size();
        }
        if (reader.num_records() == 0) {
          return absl::FailedPreconditionError(
              StrCat(reader.path(), ": empty shards cannot be converted"));
        }
        if (absl::Status st = writer.Finish(); !st.ok()) return st;
        raw_bytes += raw;
        input_bytes += reader.file_bytes();
        output_bytes += fs::file_size(out, ec);
        return absl::OkStatus();
      },
      options.progress);
  if (!status.ok()) return status;
  ConvertReport report;
  report.samples = dataset.num_samples();
  report.records = dataset.num_samples() * dataset.num_modalities();
  report.input_bytes = input_bytes;
  report.raw_bytes = raw_bytes;
  report.output_bytes = output_bytes;
  return report;
}

}  // namespace maskfeed
