#include "pipeline/tools/mfs_writer.h"

// Per-shard dictionaries use fastCover training, and literal compression is switched with
// ZSTD_c_literalCompressionMode: both are zstd's "static linking only" API, stable across the
// zstd versions Debian ships (1.5.x); the shared library exports them.
#define ZDICT_STATIC_LINKING_ONLY
#define ZSTD_STATIC_LINKING_ONLY
#include <zdict.h>
#include <zstd.h>

#include <limits>
#include <tuple>

#include "pipeline/base/crc32c.h"
#include "pipeline/base/output_file.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/zstd_handles.h"

namespace maskfeed {
namespace {

// Dictionary training wants many samples; below this the shard is written without one.
constexpr size_t kMinRecordsForDictionary = 32;
// A record is stored compressed only when that saves at least 1/kMinSavingDivisor of it.
constexpr size_t kMinSavingDivisor = 10;
// fastCover parameters: segment size, d-mer size and frequency table size (log2), fixed rather
// than searched because the search costs seconds per shard for little gain on token data.
constexpr unsigned kDictSegmentBytes = 64;
constexpr unsigned kDictDmerBytes = 8;
constexpr unsigned kDictFrequencyLog = 20;

}  // namespace

absl::Status MfsWriterOptions::Validate() const {
  if (compression != mfs::Compression::kNone && compression != mfs::Compression::kZstd) {
    return absl::InvalidArgumentError("compression: must be none or zstd");
  }
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    return absl::InvalidArgumentError(StrCat("level: ", level, " is outside zstd's range ",
                                             ZSTD_minCLevel(), "..", ZSTD_maxCLevel()));
  }
  if (dictionary_bytes > (1u << 24)) {
    return absl::InvalidArgumentError(
        StrCat("dictionary_bytes: ", dictionary_bytes, " is over the 16 MiB limit"));
  }
  return absl::OkStatus();
}

absl::Status MfsWriter::Add(std::string_view key, const Record& record) {
  const bool raw = record.kind != RecordKind::kArray;
  if (!keys_.empty() && raw != layout_.raw) {
    return absl::InvalidArgumentError(StrCat(
        path_, ": record ", keys_.size(), " (key ", key, ") is a ", RecordKindName(record.kind),
        " member but the shard holds ", layout_.ToString(), "; a shard holds one or the other"));
  }
  if (!raw) return Add(key, record.dtype, record.shape, record.data.data());
  if (record.data.size() > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(
        StrCat(path_, ": record ", keys_.size(), " (key ", key, ") is over 4 GiB"));
  }
  if (keys_.empty()) layout_ = RecordLayout::Raw();
  if (raw_offsets_.empty()) raw_offsets_.push_back(0);
  keys_.emplace_back(key);
  kinds_.push_back(record.kind);
  raw_.append(record.bytes());
  raw_offsets_.push_back(raw_.size());
  return absl::OkStatus();
}

absl::Status MfsWriter::Add(std::string_view key, DType dtype, const Shape& shape,
                            const void* data) {
  if (!keys_.empty() && layout_.raw) {
    return absl::InvalidArgumentError(StrCat(path_, ": record ", keys_.size(), " (key ", key,
                                             ") is an array but the shard holds raw members"));
  }
  if (shape.rank < 1 || shape.rank > mfs::kMaxInnerDims + 1) {
    return absl::InvalidArgumentError(StrCat(path_, ": record ", keys_.size(), " (key ", key,
                                             ") has rank ", shape.rank,
                                             "; .mfs records have 1..8 dims"));
  }
  if (keys_.empty()) {
    layout_ = RecordLayout::Of(dtype, shape);
  } else if (!layout_.Matches(dtype, shape)) {
    return absl::InvalidArgumentError(
        StrCat(path_, ": record ", keys_.size(), " (key ", key, ") is ", DTypeName(dtype), " ",
               shape.ToString(), ", which does not match the shard's ", layout_.ToString()));
  }
  const size_t bytes = static_cast<size_t>(shape.NumElements()) * ItemSize(dtype);
  if (bytes > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(
        StrCat(path_, ": record ", keys_.size(), " (key ", key, ") is over 4 GiB"));
  }
  if (raw_offsets_.empty()) raw_offsets_.push_back(0);
  keys_.emplace_back(key);
  kinds_.push_back(RecordKind::kArray);
  if (bytes > 0) raw_.append(static_cast<const char*>(data), bytes);
  raw_offsets_.push_back(raw_.size());
  return absl::OkStatus();
}

absl::Status MfsWriter::Finish() {
  if (absl::Status s = options_.Validate(); !s.ok()) return s;
  if (keys_.empty()) {
    return absl::InvalidArgumentError(StrCat(path_, ": a shard needs at least one record"));
  }
  const size_t n = keys_.size();
  const bool zstd = options_.compression == mfs::Compression::kZstd;

  std::string dict;
  if (zstd && options_.dictionary_bytes > 0 && n >= kMinRecordsForDictionary) {
    std::vector<size_t> sizes(n);
    for (size_t i = 0; i < n; ++i) sizes[i] = raw_offsets_[i + 1] - raw_offsets_[i];
    dict.resize(options_.dictionary_bytes);
    ZDICT_fastCover_params_t params{};
    params.k = kDictSegmentBytes;
    params.d = kDictDmerBytes;
    params.f = kDictFrequencyLog;
    params.accel = 1;
    params.zParams.compressionLevel = options_.level;
    const size_t got = ZDICT_trainFromBuffer_fastCover(
        dict.data(), dict.size(), raw_.data(), sizes.data(), static_cast<unsigned>(n), params);
    // Training fails on data with too little structure; the shard is then simply written
    // without a dictionary, which is what such data deserves.
    dict.resize(ZDICT_isError(got) ? 0 : got);
  }

  ZstdCCtx cctx;
  ZstdCDict cdict;
  if (zstd) {
    cctx.reset(ZSTD_createCCtx());
    if (!cctx) return absl::ResourceExhaustedError("cannot allocate a zstd context");
    if (absl::Status s =
            CheckZstd(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, options_.level),
                      "zstd level");
        !s.ok()) {
      return s;
    }
    // Our index already records sizes, checksums and the dictionary; drop them from frames.
    for (const auto& [parameter, value, what] :
         {std::tuple{ZSTD_c_dictIDFlag, 0, "zstd dictID flag"},
          std::tuple{ZSTD_c_checksumFlag, 0, "zstd checksum flag"},
          std::tuple{
              ZSTD_c_literalCompressionMode,
              static_cast<int>(options_.compress_literals ? ZSTD_ps_enable : ZSTD_ps_disable),
              "zstd literal compression mode"}}) {
      if (absl::Status s = CheckZstd(ZSTD_CCtx_setParameter(cctx.get(), parameter, value), what);
          !s.ok()) {
        return s;
      }
    }
    if (!dict.empty()) {
      cdict.reset(ZSTD_createCDict(dict.data(), dict.size(), options_.level));
      if (!cdict) return absl::ResourceExhaustedError("cannot build the zstd dictionary");
      // Sticky for every frame below.
      if (absl::Status s =
              CheckZstd(ZSTD_CCtx_refCDict(cctx.get(), cdict.get()), "zstd dictionary");
          !s.ok()) {
        return s;
      }
    }
  }

  absl::StatusOr<OutputFile> out = OutputFile::Create(path_);
  if (!out.ok()) return out.status();
  mfs::Header header;
  header.layout = layout_;
  header.compression = options_.compression;
  header.dict_bytes = static_cast<uint32_t>(dict.size());
  header.dict_crc = Crc32c(dict.data(), dict.size());
  header.level = zstd ? options_.level : 0;
  if (absl::Status s = out->Write(mfs::EncodeHeader(header)); !s.ok()) return s;
  if (absl::Status s = out->Write(dict); !s.ok()) return s;

  std::vector<mfs::Entry> entries(n);
  const size_t row_bytes = layout_.RowBytes();
  std::vector<uint32_t> row_crc_offsets = {0}, row_crcs;
  std::string frame(zstd ? ZSTD_compressBound(raw_.size() / n * 4 + 64) : 0, '\0');
  for (size_t i = 0; i < n; ++i) {
    std::string_view raw(raw_.data() + raw_offsets_[i], raw_offsets_[i + 1] - raw_offsets_[i]);
    std::string_view stored = raw;
    mfs::Entry& e = entries[i];
    e.flags = mfs::kEntryRaw;
    if (zstd && !raw.empty()) {
      if (frame.size() < ZSTD_compressBound(raw.size()))
        frame.resize(ZSTD_compressBound(raw.size()));
      const size_t z =
          ZSTD_compress2(cctx.get(), frame.data(), frame.size(), raw.data(), raw.size());
      if (absl::Status s = CheckZstd(z, StrCat(path_, ": compressing record ", i)); !s.ok()) {
        return s;
      }
      // A frame that saves little is not worth decoding on every read.
      if (z <= raw.size() - raw.size() / kMinSavingDivisor) {
        stored = std::string_view(frame.data(), z);
        e.flags = 0;
      }
    }
    e.flags |= uint32_t{static_cast<uint8_t>(kinds_[i])} << mfs::kEntryKindShift;
    e.offset = out->offset();
    e.stored_bytes = static_cast<uint32_t>(stored.size());
    e.raw_bytes = static_cast<uint32_t>(raw.size());
    e.crc = Crc32c(stored.data(), stored.size());
    if ((e.flags & mfs::kEntryRaw) && layout_.rank >= 2 && row_bytes > 0) {
      for (size_t off = 0; off + row_bytes <= raw.size(); off += row_bytes) {
        row_crcs.push_back(Crc32c(raw.data() + off, row_bytes));
      }
    }
    row_crc_offsets.push_back(static_cast<uint32_t>(row_crcs.size()));
    if (absl::Status s = out->Write(stored); !s.ok()) return s;
  }

  const std::string index = mfs::EncodeIndex(entries, keys_, row_crc_offsets, row_crcs);

  mfs::Trailer trailer;
  trailer.index_offset = out->offset();
  trailer.index_bytes = index.size();
  trailer.index_crc = Crc32c(index.data(), index.size());
  if (absl::Status s = out->Write(index); !s.ok()) return s;
  if (absl::Status s = out->Write(mfs::EncodeTrailer(trailer)); !s.ok()) return s;
  return out->Commit();
}

}  // namespace maskfeed
