// Reads native `.mfs` shards (see mfs_format.h): the header, trailer and index are checked on
// open; every Read() verifies the record's CRC-32C before decompressing it.
#ifndef MASKFEED_PIPELINE_SHARD_MFS_READER_H_
#define MASKFEED_PIPELINE_SHARD_MFS_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/shard/mapped_file.h"
#include "pipeline/shard/mfs_format.h"
#include "pipeline/shard/shard_reader.h"
#include "pipeline/shard/zstd_handles.h"

namespace maskfeed {

class MfsShardReader final : public ShardReader {
 public:
  static absl::StatusOr<std::unique_ptr<MfsShardReader>> Open(const std::string& path);

  ShardFormat format() const override { return ShardFormat::kMfs; }
  const std::string& path() const override { return file_.path(); }
  uint64_t file_bytes() const override { return file_.size(); }
  size_t num_records() const override { return slots_.size(); }
  std::string_view key(size_t i) const override;
  const RecordLayout& layout() const override { return header_.layout; }
  int64_t first_dim(size_t i) const override { return slots_[i].first_dim; }
  RecordKind kind(size_t i) const override { return mfs::EntryKind(slots_[i].entry.flags); }
  std::optional<std::string_view> PeekUnchecked(size_t i) const override {
    const mfs::Entry& e = slots_[i].entry;
    if (!(e.flags & mfs::kEntryRaw)) return std::nullopt;
    return file_.bytes().substr(e.offset, e.raw_bytes);
  }
  absl::Status Read(size_t i, Record* out) const override;
  void Prefetch(size_t i) const override {
    PrefetchBytes(file_.bytes().data() + slots_[i].entry.offset, slots_[i].entry.stored_bytes);
  }
  absl::Status ReadRow(size_t i, int64_t row, Record* out) const override;
  void PrefetchRow(size_t i, int64_t row) const override;
  void PrefetchIndex(size_t i) const override { __builtin_prefetch(&slots_[i]); }

  const mfs::Header& header() const { return header_; }
  // Sum of stored (compressed) record bytes and of raw record bytes.
  uint64_t stored_bytes() const;
  uint64_t raw_bytes() const;

 private:
  explicit MfsShardReader(MappedFile file) : file_(std::move(file)) {}
  absl::Status ParseIndex(std::string_view index);

  MappedFile file_;
  mfs::Header header_;
  size_t row_bytes_ = 1;
  // What reading a record needs, together (two records per cache line): reads of random
  // records then miss the cache once for their metadata, not once per array.
  struct Slot {
    mfs::Entry entry;
    uint32_t first_dim = 0;      // raw_bytes / row bytes, computed once
    uint32_t row_crc_start = 0;  // into row_crcs_ (first_dim of them), or kNoRowCrcs
  };
  static constexpr uint32_t kNoRowCrcs = ~uint32_t{0};
  std::vector<Slot> slots_;
  std::vector<uint32_t> key_offsets_;
  std::string_view keys_;
  std::vector<uint32_t> row_crcs_;
  ZstdDDict ddict_;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_MFS_READER_H_
