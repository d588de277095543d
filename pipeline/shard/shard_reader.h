// The interface every shard format implements: random access to the records of one modality
// shard, by index, with their sample keys.
//
// Two formats exist: 4M's tar of `.npy` members (TarShardReader) and maskfeed's native indexed
// format (MfsShardReader). OpenShard() picks one by file extension. Readers are immutable after
// opening and Read() is safe to call from many threads at once.
#ifndef MASKFEED_PIPELINE_SHARD_SHARD_READER_H_
#define MASKFEED_PIPELINE_SHARD_SHARD_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/base/record.h"

namespace maskfeed {

enum class ShardFormat : uint8_t { kTar = 1, kMfs = 2 };

std::string_view ShardFormatName(ShardFormat format);  // "tar", "mfs"
// File extension including the dot: ".tar", ".mfs".
std::string_view ShardExtension(ShardFormat format);

class ShardReader {
 public:
  virtual ~ShardReader() = default;

  virtual ShardFormat format() const = 0;
  virtual const std::string& path() const = 0;
  virtual uint64_t file_bytes() const = 0;
  virtual size_t num_records() const = 0;
  // Sample key of record `i`. Requires: i < num_records().
  virtual std::string_view key(size_t i) const = 0;
  // What every record shares. Meaningless when num_records() == 0.
  virtual const RecordLayout& layout() const = 0;
  // First dimension of record `i` (crop variants, sequence length; a raw member's size in
  // bytes), known without decoding.
  virtual int64_t first_dim(size_t i) const = 0;
  // What record `i` is: kArray in shards of arrays, a raw member's kind otherwise.
  virtual RecordKind kind(size_t i) const = 0;
  // Decodes record `i` into `out`, reusing its buffer. Checks integrity where the format can.
  // DATA_LOSS errors name the file, record and key.
  virtual absl::Status Read(size_t i, Record* out) const = 0;
  // Hints that record `i` will be read soon: starts loading its bytes into the CPU cache, so
  // that reads of randomly placed records overlap their memory latency. No effect on results.
  virtual void Prefetch(size_t i) const = 0;

  // Reads one row (first-dimension slice) of record `i`, e.g. one crop variant of a
  // (n_crops, n_tokens) record, as a record of the remaining dims. Formats that can check a
  // row alone read only its bytes; the default reads the whole record and slices it.
  // Requires: 0 <= row < first_dim(i), layout().rank >= 2.
  virtual absl::Status ReadRow(size_t i, int64_t row, Record* out) const;
  virtual void PrefetchRow(size_t i, int64_t row) const { Prefetch(i); }
  // The stored bytes of record `i` when they are its bytes (uncompressed) and mapped: a view
  // into the file, NOT checked against the record's checksum. For reading a header whose own
  // decoder reports damage (an image's size for det); everything else uses Read(). nullopt
  // when the record is compressed (then Read() it).
  virtual std::optional<std::string_view> PeekUnchecked(size_t i) const { return std::nullopt; }
  // Hints that record `i`'s index entry (where it lives, its size and checksums) will be
  // looked up soon. No effect on results.
  virtual void PrefetchIndex(size_t i) const = 0;

  // Shards fetched from object storage (pipeline/storage/remote_shard.h) are local only while
  // someone needs them: Hold() says a reader will need this shard soon (the first hold starts
  // fetching it in the background), Unhold() that one no longer does (after the last, it may
  // leave the cache). Reads work either way; held shards do not wait for the network. No
  // effect on local shards.
  virtual bool fetched_on_demand() const { return false; }
  virtual void Hold() const {}
  virtual void Unhold() const {}
};

// Issues cache prefetches for `size` bytes at `data`.
void PrefetchBytes(const void* data, size_t size);

// Opens a `.tar` or `.mfs` shard; the whole file is indexed (and checked) here.
absl::StatusOr<std::unique_ptr<ShardReader>> OpenShard(const std::string& path);

// DATA_LOSS "PATH: record I (key K): MESSAGE".
absl::Status RecordError(std::string_view path, size_t index, std::string_view key,
                         std::string_view message);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_SHARD_READER_H_
