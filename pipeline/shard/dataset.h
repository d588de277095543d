// A dataset root on disk: one folder per modality, each with numbered shards
// (`<root>/<modality>/shard-NNNNN.tar` or `.mfs`), aligned by position and sample key.
//
// Open() indexes every shard and checks the whole layout up front: every modality has every
// shard, shard k has the same number of records in every modality, keys agree record by record,
// all records of a modality share dtype and inner dims, and image-token crop variants agree with
// `crop_settings`. After that, Read() gives random access to sample i of any modality, from any
// thread.
#ifndef MASKFEED_PIPELINE_SHARD_DATASET_H_
#define MASKFEED_PIPELINE_SHARD_DATASET_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "maskfeed/v1/dataset.pb.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/base/record.h"
#include "pipeline/shard/shard_reader.h"

namespace maskfeed {

// Name of the folder holding 4M's per-sample crop parameters, (n_crops, 5) int arrays.
inline constexpr std::string_view kCropSettings = "crop_settings";
// A dataset root may hold its text tokenizer beside the modality folders (synth writes one);
// a dataset served without a named tokenizer uses it.
inline constexpr char kDatasetTokenizerFile[] = "tokenizer.json";

struct DatasetOptions {
  // Modality folders to open; empty = every folder under the root that holds shards.
  std::vector<std::string> modalities;
  // Opens shards in parallel on this arena when set; serially otherwise.
  tbb::task_arena* arena = nullptr;
  // Opens one shard by the path or URL a listing gave; OpenShard (a local file) when unset.
  // Remote roots (pipeline/storage/remote_dataset.h) open shards that are fetched on demand.
  std::function<absl::StatusOr<std::unique_ptr<ShardReader>>(const std::string& path)> open_shard;
  // Shards opened at once (threads of their own, not the arena) when open_shard is set.
  int parallel_opens = 16;
};

// One modality folder of a listing: its shards by number (path or URL of each) and format.
struct DatasetFolder {
  std::string name;
  std::vector<std::pair<size_t, std::string>> shards;  // shard number and path, in order
  ShardFormat format = ShardFormat::kTar;
};

// "shard-00012.tar" -> (12, kTar); anything else -> nullopt.
std::optional<std::pair<size_t, ShardFormat>> ParseShardName(std::string_view name);

class Dataset {
 public:
  // NOT_FOUND when the root or a requested modality is missing; DATA_LOSS naming file and
  // record for any corrupt or misaligned shard; FAILED_PRECONDITION for an empty dataset.
  static absl::StatusOr<std::unique_ptr<Dataset>> Open(const std::string& root,
                                                       const DatasetOptions& options = {});

  // Opens what a 4M data_path names: one [folder,folder,...] group and brace ranges over the
  // shard names ("/data/[rgb,caption]/shard-{00000..00099}.tar"); shard k of every folder is
  // the k-th name of the expansion. `folder_names` renames folders to the modality fields
  // they hold (4M's modality_name_map). Errors as Open; INVALID_ARGUMENT for a pattern
  // without a folder group or with too many names (url_pattern.h).
  static absl::StatusOr<std::unique_ptr<Dataset>> OpenPattern(
      const std::string& data_path, const std::map<std::string, std::string>& folder_names = {},
      const DatasetOptions& options = {});

  // Opens listed folders (at least one, each with shards): alignment of shard numbers, every
  // shard indexed (options.open_shard), layouts and keys checked. `root` names the dataset.
  static absl::StatusOr<std::unique_ptr<Dataset>> OpenListed(const std::string& root,
                                                             std::vector<DatasetFolder> folders,
                                                             const DatasetOptions& options);

  const std::string& root() const { return root_; }
  // Whether some shard is fetched on demand (a remote root): streams then Hold() the shards
  // they will read next (ShardReader::Hold).
  bool fetched_on_demand() const;
  // Bytes of shard s, all modalities together.
  uint64_t shard_bytes(size_t s) const;
  // ShardReader::Hold / Unhold of shard s in every modality.
  void HoldShard(size_t s) const;
  void UnholdShard(size_t s) const;
  uint64_t total_bytes() const;
  size_t num_samples() const { return shard_starts_.back(); }
  size_t num_shards() const { return shard_starts_.size() - 1; }
  // Samples in shard s.
  size_t shard_size(size_t s) const { return shard_starts_[s + 1] - shard_starts_[s]; }
  size_t num_modalities() const { return modalities_.size(); }
  const std::string& modality_name(size_t m) const { return modalities_[m].name; }
  std::optional<size_t> FindModality(std::string_view name) const;
  const RecordLayout& layout(size_t m) const { return modalities_[m].layout; }
  // The member kinds of a folder of raw members, sorted; empty for arrays.
  const std::vector<RecordKind>& record_kinds(size_t m) const { return modalities_[m].kinds; }
  ShardFormat format(size_t m) const { return modalities_[m].format; }
  const ShardReader& shard(size_t m, size_t s) const { return *modalities_[m].shards[s]; }

  struct Location {
    size_t shard;
    size_t record;
  };
  // Requires: sample < num_samples().
  Location Locate(size_t sample) const;
  std::string_view key(size_t sample) const;

  // Reads modality `m` of `sample` into `out`. Requires: m < num_modalities(),
  // sample < num_samples().
  absl::Status Read(size_t m, size_t sample, Record* out) const;
  // Reads every modality of `sample`; out is resized to num_modalities().
  absl::Status ReadSample(size_t sample, std::vector<Record>* out) const;

  // Number of crop variants (rows of crop_settings and of every (n_crops, n_tokens) token
  // array) of `sample`; 1 when the dataset has neither.
  int64_t NumCropVariants(size_t sample) const { return NumCropVariants(Locate(sample)); }
  int64_t NumCropVariants(const Location& location) const;

  v1::DatasetInfo Describe() const;

 private:
  struct Modality {
    std::string name;
    ShardFormat format = ShardFormat::kTar;
    RecordLayout layout;
    std::vector<std::unique_ptr<ShardReader>> shards;
    std::vector<RecordKind> kinds;  // raw members: the kinds present, sorted
  };

  Dataset() = default;
  // Checks counts, keys and crop variants across modalities and resolves each layout.
  absl::Status CheckAlignment();

  std::string root_;
  std::vector<Modality> modalities_;
  std::vector<size_t> shard_starts_{0};  // first sample of each shard, plus the total
  // Modality whose first dimension counts crop variants: crop_settings if present, else the
  // first rank-2 modality; nullopt when there is none.
  std::optional<size_t> crop_modality_;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_DATASET_H_
