#include "pipeline/shard/mfs_reader.h"

#include <cstring>
#include <numeric>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/crc32c.h"
#include "pipeline/base/strings.h"
#include "pipeline/tools/mfs_writer.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::FlipByte;
using ::maskfeed::testing::Message;
using ::maskfeed::testing::ReadFile;
using ::maskfeed::testing::TempDir;
using ::maskfeed::testing::Truncate;
using ::maskfeed::testing::WriteFile;
using ::testing::HasSubstr;

// Record i: a token sequence of length 5 + i % 40 whose values repeat (compressible).
std::vector<int32_t> Sequence(size_t i) {
  std::vector<int32_t> v(5 + i % 40);
  for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<int32_t>((i * 7 + j / 3) % 50);
  return v;
}

constexpr size_t kRecords = 200;

std::string WriteSequences(const TempDir& dir, const MfsWriterOptions& options) {
  const std::string path = dir / "shard-00000.mfs";
  MfsWriter writer(path, options);
  for (size_t i = 0; i < kRecords; ++i) {
    std::vector<int32_t> v = Sequence(i);
    EXPECT_TRUE(
        writer.Add(StrCat("key", i), DType::kInt32, {static_cast<int64_t>(v.size())}, v.data())
            .ok());
  }
  absl::Status s = writer.Finish();
  EXPECT_TRUE(s.ok()) << s;
  return path;
}

struct CodecCase {
  const char* name;
  MfsWriterOptions options;
  friend void PrintTo(const CodecCase& c, std::ostream* os) { *os << c.name; }
};

MfsWriterOptions Options(mfs::Compression c, int level, uint32_t dict, bool huffman) {
  MfsWriterOptions o;
  o.compression = c;
  o.level = level;
  o.dictionary_bytes = dict;
  o.compress_literals = huffman;
  return o;
}

class MfsRoundTrip : public ::testing::TestWithParam<CodecCase> {};

TEST_P(MfsRoundTrip, EveryRecordComesBackBitExact) {
  TempDir dir;
  const std::string path = WriteSequences(dir, GetParam().options);
  absl::StatusOr<std::unique_ptr<MfsShardReader>> reader = MfsShardReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_EQ((*reader)->num_records(), kRecords);
  EXPECT_EQ((*reader)->layout().ToString(), "int32 (*,)");
  Record record;
  for (size_t i = 0; i < kRecords; ++i) {
    const std::vector<int32_t> want = Sequence(i);
    EXPECT_EQ((*reader)->key(i), StrCat("key", i));
    EXPECT_EQ((*reader)->first_dim(i), static_cast<int64_t>(want.size()));
    ASSERT_TRUE((*reader)->Read(i, &record).ok());
    EXPECT_EQ(record.shape, (Shape{static_cast<int64_t>(want.size())}));
    std::span<const int32_t> got = record.as<int32_t>();
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin(), want.end())) << "record " << i;
  }
  if (GetParam().options.compression == mfs::Compression::kZstd) {
    EXPECT_LT((*reader)->stored_bytes(), (*reader)->raw_bytes()) << "zstd should compress this";
  } else {
    EXPECT_EQ((*reader)->stored_bytes(), (*reader)->raw_bytes());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Codecs, MfsRoundTrip,
    ::testing::Values(CodecCase{"none", Options(mfs::Compression::kNone, 0, 0, false)},
                      CodecCase{"zstd", Options(mfs::Compression::kZstd, 3, 0, false)},
                      CodecCase{"zstd_huffman", Options(mfs::Compression::kZstd, 3, 0, true)},
                      CodecCase{"zstd_dict", Options(mfs::Compression::kZstd, 3, 4096, false)},
                      CodecCase{"zstd_fast", Options(mfs::Compression::kZstd, -5, 0, false)},
                      CodecCase{"zstd_19", Options(mfs::Compression::kZstd, 19, 0, true)}),
    [](const ::testing::TestParamInfo<CodecCase>& info) { return info.param.name; });

TEST(MfsShardReaderTest, DictionaryIsStoredWhenTrainingSucceeds) {
  TempDir dir;
  const std::string path = WriteSequences(dir, Options(mfs::Compression::kZstd, 3, 2048, false));
  absl::StatusOr<std::unique_ptr<MfsShardReader>> reader = MfsShardReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_GT((*reader)->header().dict_bytes, 0u);
  EXPECT_LE((*reader)->header().dict_bytes, 2048u);
}

TEST(MfsShardReaderTest, SameInputGivesSameBytes) {
  TempDir a, b;
  const MfsWriterOptions o = Options(mfs::Compression::kZstd, 3, 2048, false);
  EXPECT_EQ(ReadFile(WriteSequences(a, o)), ReadFile(WriteSequences(b, o)));
}

TEST(MfsShardReaderTest, FlippedRecordByteIsACorruptRecordNamingKey) {
  TempDir dir;
  const std::string path = WriteSequences(dir, Options(mfs::Compression::kZstd, 3, 0, false));
  // Without a dictionary, record 0's stored bytes start right after the header.
  ASSERT_NO_FATAL_FAILURE(FlipByte(path, static_cast<int64_t>(mfs::kHeaderBytes)));
  absl::StatusOr<std::unique_ptr<MfsShardReader>> reader = MfsShardReader::Open(path);
  ASSERT_TRUE(reader.ok()) << "record damage is found on read, not on open";
  Record record;
  absl::Status s = (*reader)->Read(0, &record);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(s), HasSubstr(path + ": record 0 (key key0): checksum mismatch"));
  EXPECT_TRUE((*reader)->Read(1, &record).ok()) << "other records stay readable";
}

absl::Status OpenError(const std::string& path) {
  absl::StatusOr<std::unique_ptr<MfsShardReader>> reader = MfsShardReader::Open(path);
  return reader.ok() ? absl::OkStatus() : reader.status();
}

TEST(MfsShardReaderTest, StructuralDamageIsFoundOnOpen) {
  TempDir dir;
  const std::string good = WriteSequences(dir, Options(mfs::Compression::kZstd, 3, 0, false));
  const std::string bytes = ReadFile(good);
  struct Damage {
    const char* what;
    std::function<void(const std::string&)> apply;
    const char* expected;
  };
  const std::vector<Damage> cases = {
      {"magic", [](const std::string& p) { ASSERT_NO_FATAL_FAILURE(FlipByte(p, 1)); }, "bad magic"},
      {"version",
       [&](const std::string& p) {
         std::string b = bytes;
         b[8] = 3;
         ASSERT_NO_FATAL_FAILURE(WriteFile(p, b));
       },
       "unsupported .mfs version 3"},
      {"header", [](const std::string& p) { ASSERT_NO_FATAL_FAILURE(FlipByte(p, 20)); },
       "header checksum mismatch"},
      {"index", [](const std::string& p) { ASSERT_NO_FATAL_FAILURE(FlipByte(p, -40)); },
       "index checksum mismatch"},
      {"trailer", [](const std::string& p) { ASSERT_NO_FATAL_FAILURE(FlipByte(p, -2)); },
       "no index trailer"},
      {"truncated_tail", [&](const std::string& p) { Truncate(p, bytes.size() - 100); },
       "no index trailer"},
      {"truncated_half", [&](const std::string& p) { Truncate(p, bytes.size() / 2); }, "truncated"},
      {"tiny", [](const std::string& p) { Truncate(p, 10); }, "too short"},
      {"index_offset", [](const std::string& p) { ASSERT_NO_FATAL_FAILURE(FlipByte(p, -32 + 5)); },
       "does not fit"},
  };
  for (const Damage& d : cases) {
    const std::string path = dir / StrCat(d.what, ".mfs");
    ASSERT_NO_FATAL_FAILURE(WriteFile(path, bytes));
    ASSERT_NO_FATAL_FAILURE(d.apply(path));
    absl::Status s = OpenError(path);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << d.what << ": " << s;
    EXPECT_THAT(Message(s), HasSubstr(path)) << d.what;
    EXPECT_THAT(Message(s), HasSubstr(d.expected)) << d.what;
  }
}

// (n_crops, n) token records: one crop variant is read, and checked, alone.
class MfsRowReads : public ::testing::TestWithParam<mfs::Compression> {};

TEST_P(MfsRowReads, ReadRowReturnsOneCheckedRow) {
  TempDir dir;
  const std::string path = dir / "rows.mfs";
  MfsWriter writer(path, Options(GetParam(), 3, 0, false));
  for (int i = 0; i < 3; ++i) {
    std::vector<int16_t> v(4 * 196);
    for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<int16_t>(i * 1000 + j / 196);
    ASSERT_TRUE(writer.Add(StrCat("k", i), DType::kInt16, {4, 196}, v.data()).ok());
  }
  ASSERT_TRUE(writer.Finish().ok());
  absl::StatusOr<std::unique_ptr<MfsShardReader>> reader = MfsShardReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  Record row;
  for (int i = 0; i < 3; ++i) {
    for (int c = 0; c < 4; ++c) {
      ASSERT_TRUE((*reader)->ReadRow(i, c, &row).ok());
      ASSERT_EQ(row.shape, (Shape{196}));
      for (int16_t t : row.as<int16_t>()) ASSERT_EQ(t, i * 1000 + c);
    }
  }
  if (GetParam() != mfs::Compression::kNone) return;
  // Damage row 2 of record 1: that row fails, naming it; row 0 still reads.
  ASSERT_NO_FATAL_FAILURE(
      FlipByte(path, static_cast<int64_t>(mfs::kHeaderBytes + 4 * 196 * 2 + 2 * 196 * 2 + 5)));
  reader = MfsShardReader::Open(path);
  ASSERT_TRUE(reader.ok());
  absl::Status s = (*reader)->ReadRow(1, 2, &row);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(s), HasSubstr("record 1 (key k1): checksum mismatch in row 2"));
  EXPECT_TRUE((*reader)->ReadRow(1, 0, &row).ok());
  EXPECT_FALSE((*reader)->Read(1, &row).ok()) << "the whole-record checksum sees it too";
}

INSTANTIATE_TEST_SUITE_P(Codecs, MfsRowReads,
                         ::testing::Values(mfs::Compression::kNone, mfs::Compression::kZstd));

TEST(MfsWriterTest, RejectsMismatchedRecordsAndEmptyShards) {
  TempDir dir;
  MfsWriter writer(dir / "a.mfs", MfsWriterOptions());
  std::vector<int16_t> v(392);
  ASSERT_TRUE(writer.Add("k0", DType::kInt16, {2, 196}, v.data()).ok());
  absl::Status s = writer.Add("k1", DType::kInt16, {1, 195}, v.data());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("record 1 (key k1) is int16 (1, 195)"));
  s = writer.Add("k1", DType::kInt32, {1, 196}, v.data());
  EXPECT_THAT(Message(s), HasSubstr("does not match the shard's int16 (*, 196)"));

  MfsWriter empty(dir / "b.mfs", MfsWriterOptions());
  EXPECT_EQ(empty.Finish().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir / "b.mfs"));
  EXPECT_FALSE(std::filesystem::exists(dir / "b.mfs.tmp"));

  MfsWriterOptions bad;
  bad.level = 99;
  EXPECT_THAT(Message(bad.Validate()), HasSubstr("level: 99"));
}

Record RawMember(RecordKind kind, std::string_view bytes) {
  Record r;
  r.kind = kind;
  r.dtype = DType::kUInt8;
  r.shape = Shape{static_cast<int64_t>(bytes.size())};
  r.data.resize(bytes.size());
  if (!bytes.empty()) std::memcpy(r.data.data(), bytes.data(), bytes.size());
  return r;
}

// Raw members (4M's text, JSON, images) round-trip with their kinds and checksums, under both
// codecs; a shard holds arrays or raw members, not both.
TEST(MfsShardReaderTest, RawMembersRoundTripWithKindsAndChecksums) {
  for (mfs::Compression codec : {mfs::Compression::kNone, mfs::Compression::kZstd}) {
    TempDir dir;
    const std::string path = dir / "shard-00000.mfs";
    MfsWriter writer(path, Options(codec, 3, 0, false));
    const std::string caption(300, 'a');  // compressible: stored as a zstd frame under zstd
    const std::vector<Record> records = {
        RawMember(RecordKind::kText, caption), RawMember(RecordKind::kJson, "{\"instances\": []}"),
        RawMember(RecordKind::kPng, ""), RawMember(RecordKind::kPickle, "\x80\x03")};
    for (size_t i = 0; i < records.size(); ++i) {
      ASSERT_TRUE(writer.Add(StrCat("k", i), records[i]).ok());
    }
    std::vector<int16_t> v(4);
    EXPECT_THAT(Message(writer.Add("k9", DType::kInt16, {4}, v.data())),
                HasSubstr("is an array but the shard holds raw members"));
    ASSERT_TRUE(writer.Finish().ok());

    absl::StatusOr<std::unique_ptr<MfsShardReader>> reader = MfsShardReader::Open(path);
    ASSERT_TRUE(reader.ok()) << reader.status();
    EXPECT_TRUE((*reader)->layout().raw);
    Record got;
    for (size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ((*reader)->kind(i), records[i].kind);
      ASSERT_TRUE((*reader)->Read(i, &got).ok());
      EXPECT_EQ(got.kind, records[i].kind);
      EXPECT_EQ(got.bytes(), records[i].bytes());
    }
    // A flipped byte of the caption is caught by its checksum.
    const std::string bytes = ReadFile(path);
    const size_t at = codec == mfs::Compression::kNone ? bytes.find(caption) : std::string::npos;
    if (at != std::string::npos) {
      ASSERT_NO_FATAL_FAILURE(FlipByte(path, at + 7));
      absl::StatusOr<std::unique_ptr<MfsShardReader>> damaged = MfsShardReader::Open(path);
      ASSERT_TRUE(damaged.ok());
      EXPECT_THAT(Message((*damaged)->Read(0, &got)), HasSubstr("record 0 (key k0): checksum"));
    }
  }
  TempDir dir;
  MfsWriter mixed(dir / "m.mfs", MfsWriterOptions());
  std::vector<int16_t> v(4);
  ASSERT_TRUE(mixed.Add("k0", DType::kInt16, {4}, v.data()).ok());
  EXPECT_THAT(Message(mixed.Add("k1", RawMember(RecordKind::kJson, "{}"))),
              HasSubstr("is a json member but the shard holds int16 (*,)"));
}

// Inner dimensions whose product wraps 64 bits (or passes the u32 a record's size is) must not
// make rows look small: a crafted header with a valid checksum is refused at open.
TEST(MfsShardReaderTest, HeaderDimensionsThatOverflowAreRefused) {
  TempDir dir;
  const std::string path = WriteSequences(dir, Options(mfs::Compression::kNone, 0, 0, false));
  std::string bytes = ReadFile(path);
  bytes[13] = 8;  // rank 8: seven inner dimensions
  for (int i = 0; i < mfs::kMaxInnerDims; ++i) {
    const uint32_t dim = 0xFFFFFFFFu;
    std::memcpy(bytes.data() + 16 + 4 * i, &dim, 4);
  }
  const uint32_t crc = Crc32c(bytes.data(), 60);
  std::memcpy(bytes.data() + 60, &crc, 4);
  ASSERT_NO_FATAL_FAILURE(WriteFile(path, bytes));
  const absl::Status s = OpenError(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(Message(s), HasSubstr("larger than 4 GiB"));
}

}  // namespace
}  // namespace maskfeed
