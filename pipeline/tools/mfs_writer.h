// Writes one modality shard in the native `.mfs` format (see mfs_format.h).
//
// The writer holds the shard's records in memory until Finish(): that is what lets it train a
// zstd dictionary on the shard's own records before compressing them. Shards are a few MB to a
// few hundred MB, so this is cheap; write many shards in parallel for speed.
#ifndef MASKFEED_PIPELINE_TOOLS_MFS_WRITER_H_
#define MASKFEED_PIPELINE_TOOLS_MFS_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/base/record.h"
#include "pipeline/shard/mfs_format.h"

namespace maskfeed {

struct MfsWriterOptions {
  static constexpr int kDefaultLevel = 3;
  static constexpr uint32_t kDefaultDictionaryBytes = 0;

  // Raw records by default: on this workload zstd frames of a few KB decode at ~0.4 GB/s, which
  // caps random whole-sample reads near 50k samples/s per core against ~220k raw (README,
  // "Native shard format"). Choose kZstd when disk space matters more than read speed.
  mfs::Compression compression = mfs::Compression::kNone;
  // zstd level, 1..19 (negative levels are zstd's fast modes).
  int level = kDefaultLevel;
  // Size of the per-shard zstd dictionary to train; 0 = none. Training needs a few dozen
  // records; a shard too small to train on is written without a dictionary.
  uint32_t dictionary_bytes = kDefaultDictionaryBytes;
  // Huffman-code literals. Off by default: on records of a few KB, building the literal
  // tables costs more than the rest of decoding (see README, "Native shard format").
  bool compress_literals = false;

  // INVALID_ARGUMENT naming the field.
  absl::Status Validate() const;
};

class MfsWriter {
 public:
  MfsWriter(std::string path, MfsWriterOptions options)
      : path_(std::move(path)), options_(options) {}

  // Adds the next record. Every record must share the first one's dtype, rank and inner dims
  // (INVALID_ARGUMENT otherwise). Requires: `data` holds shape.NumElements() * ItemSize(dtype)
  // bytes.
  absl::Status Add(std::string_view key, DType dtype, const Shape& shape, const void* data);
  // Adds an array record, or a raw member (record.kind != kArray: its bytes, uint8 (n,)). A
  // shard holds one or the other (INVALID_ARGUMENT when they are mixed).
  absl::Status Add(std::string_view key, const Record& record);

  // Compresses and writes the shard atomically (to "<path>.tmp", then renamed).
  absl::Status Finish();

  size_t num_records() const { return keys_.size(); }

 private:
  std::string path_;
  MfsWriterOptions options_;
  RecordLayout layout_;
  std::vector<std::string> keys_;
  std::string raw_;                  // every record's bytes, back to back
  std::vector<size_t> raw_offsets_;  // start of each record in raw_, plus the end
  std::vector<RecordKind> kinds_;    // per record
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_TOOLS_MFS_WRITER_H_
