// Reads 4M's WebDataset shards as they are: a tar with one member per sample, `<key>.<ext>`,
// either numeric `.npy` arrays or raw members (`.txt`, `.json`, `.json.gz`, `.npz`, `.jpg`,
// `.jpeg`, `.png`, object-array `.npy`), one kind of the two per shard.
//
// Opening maps the file and indexes it once: tar headers (ustar, GNU long names, pax extended
// headers) and every `.npy` member's header are parsed and checked, so Read() is a copy out of
// the mapping. Raw members are checked where they are decoded.
#ifndef MASKFEED_PIPELINE_SHARD_TAR_READER_H_
#define MASKFEED_PIPELINE_SHARD_TAR_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/shard/mapped_file.h"
#include "pipeline/shard/shard_reader.h"

namespace maskfeed {

// One regular file inside a tar.
struct TarMember {
  std::string name;
  uint64_t data_offset = 0;
  uint64_t size = 0;
};

// Lists the regular files of a tar image. DATA_LOSS errors name `path` and the byte offset or
// member at fault (bad header checksum, truncation, missing end-of-archive marker).
absl::StatusOr<std::vector<TarMember>> IndexTar(std::string_view bytes, std::string_view path);

class TarShardReader final : public ShardReader {
 public:
  static absl::StatusOr<std::unique_ptr<TarShardReader>> Open(const std::string& path);

  ShardFormat format() const override { return ShardFormat::kTar; }
  const std::string& path() const override { return file_.path(); }
  uint64_t file_bytes() const override { return file_.size(); }
  size_t num_records() const override { return records_.size(); }
  std::string_view key(size_t i) const override { return records_[i].key; }
  const RecordLayout& layout() const override { return layout_; }
  int64_t first_dim(size_t i) const override { return records_[i].first_dim; }
  RecordKind kind(size_t i) const override { return records_[i].kind; }
  std::optional<std::string_view> PeekUnchecked(size_t i) const override {
    return file_.bytes().substr(records_[i].payload_offset,
                                static_cast<size_t>(records_[i].first_dim) * layout_.RowBytes());
  }
  absl::Status Read(size_t i, Record* out) const override;
  absl::Status ReadRow(size_t i, int64_t row, Record* out) const override;
  void PrefetchRow(size_t i, int64_t row) const override {
    PrefetchBytes(file_.bytes().data() + records_[i].payload_offset + row * layout_.RowBytes(),
                  layout_.RowBytes());
  }
  void Prefetch(size_t i) const override {
    PrefetchBytes(file_.bytes().data() + records_[i].payload_offset,
                  static_cast<size_t>(records_[i].first_dim) * layout_.RowBytes());
  }
  void PrefetchIndex(size_t i) const override { __builtin_prefetch(&records_[i].payload_offset); }

 private:
  struct Entry {
    std::string key;
    uint64_t payload_offset;
    int64_t first_dim;  // raw members: their size in bytes
    RecordKind kind;
  };

  explicit TarShardReader(MappedFile file) : file_(std::move(file)) {}

  MappedFile file_;
  RecordLayout layout_;
  std::vector<Entry> records_;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_TAR_READER_H_
