#include "pipeline/shard/tar_reader.h"

#include <filesystem>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/npy.h"
#include "pipeline/tools/tar_writer.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::FlipByte;
using ::maskfeed::testing::Message;
using ::maskfeed::testing::ReadFile;
using ::maskfeed::testing::RunCommand;
using ::maskfeed::testing::TempDir;
using ::maskfeed::testing::Truncate;
using ::maskfeed::testing::WriteFile;
using ::testing::HasSubstr;

std::string TokensNpy(int crops, int16_t base) {
  std::vector<int16_t> v(static_cast<size_t>(crops) * 196);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int16_t>(base + i);
  return EncodeNpy(DType::kInt16, {crops, 196}, v.data());
}

// Writes a shard with `n` records "000000".."00000n-1" of (2, 196) int16 tokens.
std::string WriteTokenShard(const TempDir& dir, int n) {
  const std::string path = dir / "shard-00000.tar";
  absl::StatusOr<TarWriter> tar = TarWriter::Create(path);
  EXPECT_TRUE(tar.ok());
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(tar->Add(StrCat("00000", i, ".npy"), TokensNpy(2, static_cast<int16_t>(i))).ok());
  }
  EXPECT_TRUE(tar->Finish().ok());
  return path;
}

TEST(TarShardReaderTest, ReadsWhatTheWriterWrote) {
  TempDir dir;
  const std::string path = WriteTokenShard(dir, 5);
  absl::StatusOr<std::unique_ptr<TarShardReader>> reader = TarShardReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_EQ((*reader)->num_records(), 5u);
  EXPECT_EQ((*reader)->layout().ToString(), "int16 (*, 196)");
  Record record;
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*reader)->key(i), StrCat("00000", i));
    EXPECT_EQ((*reader)->first_dim(i), 2);
    ASSERT_TRUE((*reader)->Read(i, &record).ok());
    EXPECT_EQ(record.shape, (Shape{2, 196}));
    std::span<const int16_t> tokens = record.as<int16_t>();
    ASSERT_EQ(tokens.size(), 392u);
    EXPECT_EQ(tokens[0], static_cast<int16_t>(i));
    EXPECT_EQ(tokens[391], static_cast<int16_t>(i + 391));
  }
}

TEST(TarShardReaderTest, ReadRowReturnsOneCropVariant) {
  TempDir dir;
  const std::string path = WriteTokenShard(dir, 3);
  absl::StatusOr<std::unique_ptr<TarShardReader>> reader = TarShardReader::Open(path);
  ASSERT_TRUE(reader.ok());
  Record row;
  ASSERT_TRUE((*reader)->ReadRow(2, 1, &row).ok());
  EXPECT_EQ(row.shape, (Shape{196}));
  EXPECT_EQ(row.as<int16_t>()[0], 2 + 196);  // TokensNpy: value = base + flat index
}

TEST(TarShardReaderTest, WriterOutputIsAValidTarForTheSystemTar) {
  TempDir dir;
  const std::string path = WriteTokenShard(dir, 3);
  ASSERT_EQ(RunCommand(StrCat("tar -tf ", path, " > ", dir / "list.txt")), 0);
  EXPECT_EQ(ReadFile(dir / "list.txt"), "000000.npy\n000001.npy\n000002.npy\n");
}

// GNU long names ('L' entries) and pax extended headers, as written by the system tar.
class SystemTarFormats : public ::testing::TestWithParam<const char*> {};

TEST_P(SystemTarFormats, LongMemberNamesGiveFullKeys) {
  TempDir dir;
  // Two 60-byte folders: over ustar's 100-byte name field, yet splittable into its prefix.
  const std::string long_dir = std::string(60, 'd') + "/" + std::string(60, 'e');
  ASSERT_NO_FATAL_FAILURE(WriteFile(
      dir / ("src/" + long_dir + "/sample_with_a_rather_long_key_0001.npy"), TokensNpy(1, 7)));
  ASSERT_NO_FATAL_FAILURE(WriteFile(
      dir / ("src/" + long_dir + "/sample_with_a_rather_long_key_0002.npy"), TokensNpy(1, 9)));
  const std::string tar = dir / "shard-00000.tar";
  ASSERT_EQ(RunCommand(StrCat("cd ", dir / "src", " && tar --format=", GetParam(), " -cf ", tar,
                              " --sort=name ", long_dir)),
            0);
  absl::StatusOr<std::unique_ptr<TarShardReader>> reader = TarShardReader::Open(tar);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_EQ((*reader)->num_records(), 2u);
  EXPECT_EQ((*reader)->key(0), long_dir + "/sample_with_a_rather_long_key_0001");
  Record record;
  ASSERT_TRUE((*reader)->Read(1, &record).ok());
  EXPECT_EQ(record.as<int16_t>()[0], 9);
}

INSTANTIATE_TEST_SUITE_P(Formats, SystemTarFormats, ::testing::Values("gnu", "pax", "ustar"));

TEST(TarShardReaderTest, WriterUsesPaxForNamesOver100Bytes) {
  TempDir dir;
  const std::string path = dir / "shard-00000.tar";
  const std::string name = std::string(150, 'k') + ".npy";
  absl::StatusOr<TarWriter> tar = TarWriter::Create(path);
  ASSERT_TRUE(tar.ok());
  ASSERT_TRUE(tar->Add(name, TokensNpy(1, 0)).ok());
  ASSERT_TRUE(tar->Finish().ok());
  absl::StatusOr<std::unique_ptr<TarShardReader>> reader = TarShardReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->key(0), std::string(150, 'k'));
  ASSERT_EQ(RunCommand(StrCat("tar -tf ", path, " > ", dir / "list.txt")), 0);
  EXPECT_EQ(ReadFile(dir / "list.txt"), name + "\n");
}

absl::Status OpenError(const std::string& path) {
  absl::StatusOr<std::unique_ptr<TarShardReader>> reader = TarShardReader::Open(path);
  return reader.ok() ? absl::OkStatus() : reader.status();
}

TEST(TarShardReaderTest, TruncatedMidMemberNamesTheMember) {
  TempDir dir;
  const std::string path = WriteTokenShard(dir, 4);
  // Each member is a 512-byte header plus 1024 bytes of .npy (64 + 784, padded).
  Truncate(path, (512 + 1024) + 512 + 700);  // inside the second member's data
  absl::Status s = OpenError(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(s), HasSubstr(path));
  EXPECT_THAT(Message(s), HasSubstr("000001.npy"));
  EXPECT_THAT(Message(s), HasSubstr("truncated"));
}

TEST(TarShardReaderTest, TruncatedAtAMemberBoundaryIsNotSilentlyShort) {
  TempDir dir;
  const std::string path = WriteTokenShard(dir, 4);
  Truncate(path, 3 * (512 + 1024));
  absl::Status s = OpenError(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(s), HasSubstr("end-of-archive"));
  EXPECT_THAT(Message(s), HasSubstr("after 3 members"));
}

TEST(TarShardReaderTest, FlippedHeaderByteFailsTheChecksum) {
  TempDir dir;
  const std::string path = WriteTokenShard(dir, 3);
  ASSERT_NO_FATAL_FAILURE(FlipByte(path, (512 + 1024) + 3));  // name byte of the second header
  absl::Status s = OpenError(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(s), HasSubstr("byte 1536"));
  EXPECT_THAT(Message(s), HasSubstr("checksum"));
}

TEST(TarShardReaderTest, FlippedNpyHeaderByteNamesRecordAndKey) {
  TempDir dir;
  const std::string path = WriteTokenShard(dir, 3);
  ASSERT_NO_FATAL_FAILURE(FlipByte(path, 2 * (512 + 1024) + 512 + 1));  // .npy magic of record 2
  absl::Status s = OpenError(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(s), HasSubstr("record 2 (key 000002)"));
  EXPECT_THAT(Message(s), HasSubstr("bad magic"));
}

TEST(TarShardReaderTest, RejectsUnknownMembersMixedKindsDuplicatesAndMixedShapes) {
  TempDir dir;
  {
    const std::string path = dir / "cls.tar";
    absl::StatusOr<TarWriter> tar = TarWriter::Create(path);
    ASSERT_TRUE(tar->Add("000000.npy", TokensNpy(1, 0)).ok());
    ASSERT_TRUE(tar->Add("000001.cls", "3").ok());
    ASSERT_TRUE(tar->Finish().ok());
    EXPECT_THAT(Message(OpenError(path)),
                HasSubstr("record 1 (key 000001): member '000001.cls' has the suffix 'cls'; "
                          "shards hold <key>.<ext> members with ext one of npy, txt"));
  }
  {
    const std::string path = dir / "json.tar";
    absl::StatusOr<TarWriter> tar = TarWriter::Create(path);
    ASSERT_TRUE(tar->Add("000000.npy", TokensNpy(1, 0)).ok());
    ASSERT_TRUE(tar->Add("000001.json", "{}").ok());
    ASSERT_TRUE(tar->Finish().ok());
    EXPECT_THAT(Message(OpenError(path)),
                HasSubstr("record 1 (key 000001): json member does not match the shard's int16 "
                          "(*, 196) from record 0"));
  }
  {
    const std::string path = dir / "dup.tar";
    absl::StatusOr<TarWriter> tar = TarWriter::Create(path);
    ASSERT_TRUE(tar->Add("000000.npy", TokensNpy(1, 0)).ok());
    ASSERT_TRUE(tar->Add("000000.NPY", TokensNpy(1, 0)).ok());
    ASSERT_TRUE(tar->Finish().ok());
    EXPECT_THAT(Message(OpenError(path)), HasSubstr("duplicate key (also record 0)"));
  }
  {
    const std::string path = dir / "shape.tar";
    absl::StatusOr<TarWriter> tar = TarWriter::Create(path);
    std::vector<int16_t> v(200);
    ASSERT_TRUE(tar->Add("000000.npy", TokensNpy(2, 0)).ok());
    ASSERT_TRUE(tar->Add("000001.npy", EncodeNpy(DType::kInt16, {1, 200}, v.data())).ok());
    ASSERT_TRUE(tar->Finish().ok());
    absl::Status s = OpenError(path);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(Message(s), HasSubstr("record 1 (key 000001): int16 (1, 200) does not match the "
                                      "shard's int16 (*, 196)"));
  }
}

// 4M's raw members are kept as their bytes, each with its kind; the key is the name up to its
// first dot, so "x.json.gz" is key "x".
TEST(TarShardReaderTest, RawMembersKeepTheirBytesAndKinds) {
  TempDir dir;
  const std::string path = dir / "raw.tar";
  const std::string dict = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n";
  const std::string object_npy = StrCat(std::string_view("\x93NUMPY\x01\x00", 8),
                                        std::string(1, static_cast<char>(dict.size())),
                                        std::string(1, '\0'), dict, "\x80\x03pickle");
  const std::vector<std::pair<std::string, std::string>> members = {
      {"a/000000.txt", "A person riding a horse.\n"},
      {"a/000001.json", "[\"x\", {\"caption\": \"y\"}]"},
      {"a/000002.json.gz", std::string("\x1f\x8b\x08\x00", 4)},
      {"a/000003.JPG", "\xff\xd8\xff"},
      {"a/000004.jpeg", "\xff\xd8\xff\xe0"},
      {"a/000005.png", "\x89PNG"},
      {"a/000006.npz", "PK\x03\x04"},
      {"a/000007.npy", object_npy},
      {"a/000008.txt", ""}};
  {
    absl::StatusOr<TarWriter> tar = TarWriter::Create(path);
    for (const auto& [name, bytes] : members) ASSERT_TRUE(tar->Add(name, bytes).ok());
    ASSERT_TRUE(tar->Finish().ok());
  }
  absl::StatusOr<std::unique_ptr<TarShardReader>> reader = TarShardReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->layout().ToString(), "raw members");
  const RecordKind kinds[] = {RecordKind::kText, RecordKind::kJson,   RecordKind::kJsonGz,
                              RecordKind::kJpeg, RecordKind::kJpeg,   RecordKind::kPng,
                              RecordKind::kNpz,  RecordKind::kPickle, RecordKind::kText};
  Record record;
  for (size_t i = 0; i < members.size(); ++i) {
    EXPECT_EQ((*reader)->key(i), StrCat("a/00000", i));
    EXPECT_EQ((*reader)->kind(i), kinds[i]) << i;
    EXPECT_EQ((*reader)->first_dim(i), static_cast<int64_t>(members[i].second.size()));
    ASSERT_TRUE((*reader)->Read(i, &record).ok());
    EXPECT_EQ(record.kind, kinds[i]);
    EXPECT_EQ(record.bytes(), members[i].second);
    EXPECT_EQ(record.shape, (Shape{static_cast<int64_t>(members[i].second.size())}));
  }
}

TEST(TarShardReaderTest, MissingFileIsNotFoundAndGarbageIsDataLoss) {
  TempDir dir;
  EXPECT_EQ(OpenError(dir / "nope.tar").code(), absl::StatusCode::kNotFound);
  ASSERT_NO_FATAL_FAILURE(WriteFile(dir / "garbage.tar", std::string(2048, 'x')));
  EXPECT_EQ(OpenError(dir / "garbage.tar").code(), absl::StatusCode::kDataLoss);
  ASSERT_NO_FATAL_FAILURE(WriteFile(dir / "empty.tar", ""));
  EXPECT_THAT(Message(OpenError(dir / "empty.tar")), HasSubstr("end-of-archive"));
}

TEST(TarShardReaderTest, EmptyArchiveHasNoRecords) {
  TempDir dir;
  const std::string path = WriteTokenShard(dir, 0);
  absl::StatusOr<std::unique_ptr<TarShardReader>> reader = TarShardReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->num_records(), 0u);
}

// One ustar header block (checksum filled in) followed by `data` padded to 512 bytes.
std::string TarEntry(const std::string& name, char type, const std::string& data) {
  std::string block(512, '\0');
  block.replace(0, name.size(), name);
  const std::string size = absl::StrFormat("%011o", data.size());
  block.replace(124, size.size(), size);
  block[156] = type;
  block.replace(257, 8,
                std::string("ustar\0"
                            "00",
                            8));
  block.replace(148, 8, std::string(8, ' '));
  unsigned sum = 0;
  for (char c : block) sum += static_cast<uint8_t>(c);
  const std::string checksum = absl::StrFormat("%06o", sum);
  block.replace(148, 7, checksum + std::string(1, '\0'));
  std::string padded = data;
  padded.resize((data.size() + 511) / 512 * 512, '\0');
  return block + padded;
}

TEST(TarReaderTest, PaxNumbersThatOverflowAreRefused) {
  const std::string npy = TokensNpy(1, 3);
  // 2^64 + the member's true size: wrapping 64 bits, it would read as a plausible size.
  unsigned __int128 wrapped = (static_cast<unsigned __int128>(1) << 64) + npy.size();
  std::string digits;
  for (; wrapped > 0; wrapped /= 10) digits.insert(0, 1, static_cast<char>('0' + wrapped % 10));
  const std::string size_record = " size=" + digits + "\n";
  for (const std::string& record :
       {StrCat(2 + size_record.size(), size_record), "44 size=" + std::string(35, '9') + "\n",
        std::string("99999999999999999999999999 size=4\n")}) {
    const std::string tar =
        TarEntry("pax", 'x', record) + TarEntry("000.npy", '0', npy) + std::string(1024, '\0');
    absl::StatusOr<std::vector<TarMember>> members = IndexTar(tar, "crafted.tar");
    ASSERT_FALSE(members.ok()) << record;
    EXPECT_EQ(members.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(Message(members.status()), HasSubstr("crafted.tar"));
  }
  // The same archive with a sane pax size reads.
  const std::string tar =
      TarEntry("pax", 'x',
               StrCat(9 + std::to_string(npy.size()).size(), " size=", npy.size(), "\n")) +
      TarEntry("000.npy", '0', npy) + std::string(1024, '\0');
  absl::StatusOr<std::vector<TarMember>> members = IndexTar(tar, "sane.tar");
  ASSERT_TRUE(members.ok()) << members.status();
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].size, npy.size());
}

}  // namespace
}  // namespace maskfeed
