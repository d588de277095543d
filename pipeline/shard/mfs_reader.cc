#include "pipeline/shard/mfs_reader.h"

#include <zstd.h>

#include <cstring>

#include "absl/status/status.h"
#include "pipeline/base/crc32c.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// One decompression context per thread: contexts are not thread-safe, and creating one per
// record would cost more than the decompression.
ZSTD_DCtx* ThreadDCtx() {
  thread_local ZstdDCtx dctx(ZSTD_createDCtx());
  return dctx.get();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MfsShardReader>> MfsShardReader::Open(const std::string& path) {
  absl::StatusOr<MappedFile> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  std::unique_ptr<MfsShardReader> reader(new MfsShardReader(std::move(*file)));
  const std::string_view bytes = reader->file_.bytes();

  absl::StatusOr<mfs::Header> header = mfs::DecodeHeader(bytes, path);
  if (!header.ok()) return header.status();
  reader->header_ = *header;
  reader->row_bytes_ = header->layout.RowBytes();
  if (reader->row_bytes_ == 0) {
    return absl::DataLossError(StrCat(path, ": records have a zero-sized inner dimension"));
  }
  absl::StatusOr<mfs::Trailer> trailer = mfs::DecodeTrailer(bytes, path);
  if (!trailer.ok()) return trailer.status();
  if (mfs::kHeaderBytes + uint64_t{header->dict_bytes} > trailer->index_offset) {
    return absl::DataLossError(StrCat(path, ": dictionary runs past the records"));
  }
  std::string_view index = bytes.substr(trailer->index_offset, trailer->index_bytes);
  if (Crc32c(index.data(), index.size()) != trailer->index_crc) {
    return absl::DataLossError(StrCat(path, ": index checksum mismatch (corrupt)"));
  }
  if (absl::Status s = reader->ParseIndex(index); !s.ok()) return s;

  if (header->dict_bytes > 0) {
    std::string_view dict = bytes.substr(mfs::kHeaderBytes, header->dict_bytes);
    if (Crc32c(dict.data(), dict.size()) != header->dict_crc) {
      return absl::DataLossError(StrCat(path, ": dictionary checksum mismatch (corrupt)"));
    }
    reader->ddict_.reset(ZSTD_createDDict(dict.data(), dict.size()));
    if (!reader->ddict_) {
      return absl::DataLossError(StrCat(path, ": the zstd dictionary does not load"));
    }
  }
  return reader;
}

absl::Status MfsShardReader::ParseIndex(std::string_view index) {
  const uint64_t data_begin = mfs::kHeaderBytes + header_.dict_bytes;
  const uint64_t data_end = file_.size() - mfs::kTrailerBytes - index.size();
  absl::StatusOr<mfs::Index> parsed =
      mfs::DecodeIndex(index, header_, data_begin, data_end, path());
  if (!parsed.ok()) return parsed.status();
  const size_t n = parsed->entries.size();
  slots_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    Slot& slot = slots_[i];
    slot.entry = parsed->entries[i];
    slot.first_dim = static_cast<uint32_t>(slot.entry.raw_bytes / row_bytes_);
    const bool has_rows = parsed->row_crc_offsets[i + 1] != parsed->row_crc_offsets[i];
    slot.row_crc_start = has_rows ? parsed->row_crc_offsets[i] : kNoRowCrcs;
  }
  key_offsets_ = std::move(parsed->key_offsets);
  keys_ = parsed->keys;
  row_crcs_ = std::move(parsed->row_crcs);
  return absl::OkStatus();
}

std::string_view MfsShardReader::key(size_t i) const {
  return keys_.substr(key_offsets_[i], key_offsets_[i + 1] - key_offsets_[i]);
}

absl::Status MfsShardReader::Read(size_t i, Record* out) const {
  const mfs::Entry& e = slots_[i].entry;
  const char* stored = file_.bytes().data() + e.offset;
  const uint32_t crc = Crc32c(stored, e.stored_bytes);
  if (crc != e.crc) {
    return RecordError(path(), i, key(i),
                       StrCat("checksum mismatch (stored ", absl::Hex(e.crc), ", computed ",
                              absl::Hex(crc), "): the shard is corrupt"));
  }
  const RecordLayout& layout = header_.layout;
  out->dtype = layout.dtype;
  out->shape.rank = layout.rank;
  out->shape.dims[0] = first_dim(i);
  for (int d = 1; d < layout.rank; ++d) out->shape.dims[d] = layout.inner[d - 1];
  out->kind = mfs::EntryKind(e.flags);
  out->chunks.clear();
  out->data.resize(e.raw_bytes);
  if (e.flags & mfs::kEntryRaw) {
    if (e.raw_bytes > 0) std::memcpy(out->data.data(), stored, e.raw_bytes);
    return absl::OkStatus();
  }
  ZSTD_DCtx* dctx = ThreadDCtx();
  if (dctx == nullptr) return absl::ResourceExhaustedError("cannot allocate a zstd context");
  const size_t got =
      ddict_ ? ZSTD_decompress_usingDDict(dctx, out->data.data(), e.raw_bytes, stored,
                                          e.stored_bytes, ddict_.get())
             : ZSTD_decompressDCtx(dctx, out->data.data(), e.raw_bytes, stored, e.stored_bytes);
  if (ZSTD_isError(got)) {
    return RecordError(path(), i, key(i),
                       StrCat("zstd cannot decompress the record: ", ZSTD_getErrorName(got)));
  }
  if (got != e.raw_bytes) {
    return RecordError(path(), i, key(i),
                       StrCat("decompressed to ", got, " bytes, index says ", e.raw_bytes));
  }
  return absl::OkStatus();
}

absl::Status MfsShardReader::ReadRow(size_t i, int64_t row, Record* out) const {
  const Slot& slot = slots_[i];
  const uint32_t first = slot.row_crc_start;
  if (first == kNoRowCrcs) return ShardReader::ReadRow(i, row, out);
  const char* bytes = file_.bytes().data() + slot.entry.offset + row * row_bytes_;
  const uint32_t crc = Crc32c(bytes, row_bytes_);
  if (crc != row_crcs_[first + row]) {
    return RecordError(
        path(), i, key(i),
        StrCat("checksum mismatch in row ", row, " (stored ", absl::Hex(row_crcs_[first + row]),
               ", computed ", absl::Hex(crc), "): the shard is corrupt"));
  }
  const RecordLayout& layout = header_.layout;
  out->kind = RecordKind::kArray;
  out->chunks.clear();
  out->dtype = layout.dtype;
  out->shape.rank = layout.rank - 1;
  for (int d = 1; d < layout.rank; ++d) out->shape.dims[d - 1] = layout.inner[d - 1];
  out->data.resize(row_bytes_);
  std::memcpy(out->data.data(), bytes, row_bytes_);
  return absl::OkStatus();
}

void MfsShardReader::PrefetchRow(size_t i, int64_t row) const {
  const Slot& slot = slots_[i];
  if (slot.row_crc_start == kNoRowCrcs) return Prefetch(i);
  PrefetchBytes(file_.bytes().data() + slot.entry.offset + row * row_bytes_, row_bytes_);
  __builtin_prefetch(&row_crcs_[slot.row_crc_start + row]);
}

uint64_t MfsShardReader::stored_bytes() const {
  uint64_t total = 0;
  for (const Slot& s : slots_) total += s.entry.stored_bytes;
  return total;
}

uint64_t MfsShardReader::raw_bytes() const {
  uint64_t total = 0;
  for (const Slot& s : slots_) total += s.entry.raw_bytes;
  return total;
}

}  // namespace maskfeed
