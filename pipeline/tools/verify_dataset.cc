#include "pipeline/tools/verify_dataset.h"

#include <atomic>

#include "pipeline/shard/dataset.h"

namespace maskfeed {

absl::StatusOr<VerifyReport> VerifyDataset(const std::string& root, const VerifyOptions& options) {
  DatasetOptions open_options;
  open_options.arena = options.arena;
  absl::StatusOr<std::unique_ptr<Dataset>> opened = Dataset::Open(root, open_options);
  if (!opened.ok()) return opened.status();
  const Dataset& dataset = **opened;
  const size_t shards = dataset.num_shards();
  const size_t jobs = dataset.num_modalities() * shards;

  std::vector<std::vector<absl::Status>> errors(jobs);
  std::atomic<uint64_t> checked{0}, bytes{0};
  absl::Status status = RunJobs(
      jobs, options.arena,
      [&](size_t job) {
        const ShardReader& reader = dataset.shard(job / shards, job % shards);
        Record record;
        // .mfs records of rank >= 2 also carry a CRC per row, which is what streams check when
        // they read one crop variant: verify them too, or verify could pass a shard that
        // fails when served.
        const bool row_crcs = reader.format() == ShardFormat::kMfs && reader.layout().rank >= 2;
        for (size_t r = 0; r < reader.num_records(); ++r) {
          absl::Status s = reader.Read(r, &record);
          for (int64_t row = 0; s.ok() && row_crcs && row < reader.first_dim(r); ++row) {
            s = reader.ReadRow(r, row, &record);
          }
          if (!s.ok()) {
            errors[job].push_back(s);
            if (errors[job].size() >= options.max_errors_per_shard) break;
          }
        }
        checked += reader.num_records();
        bytes += reader.file_bytes();
        return absl::OkStatus();
      },
      options.progress);
  if (!status.ok()) return status;

  VerifyReport report;
  report.samples = dataset.num_samples();
  report.modalities = dataset.num_modalities();
  report.shards = shards;
  report.records_checked = checked;
  report.bytes_on_disk = bytes;
  for (std::vector<absl::Status>& e : errors) {
    for (absl::Status& s : e) report.errors.push_back(std::move(s));
  }
  return report;
}

}  // namespace maskfeed
