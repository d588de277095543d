#include "pipeline/tools/jsonl_import.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/shard/dataset.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::maskfeed::testing::WriteFile;
using ::testing::HasSubstr;

TEST(JsonlImportTest, LinesBecomeTxtMembersOfShardsADatasetOpens) {
  TempDir dir;
  // CRLF endings, a blank line, and a last line without its newline.
  const std::string corpus = dir / "c.jsonl";
  ASSERT_NO_FATAL_FAILURE(WriteFile(corpus,
                                    "{\"text\": \"a\"}\r\n\r\n{\"text\": \"b\", \"n\": 1}\n"
                                    "{\"text\": \"\\u00e9t\\u00e9\"}\n{\"text\": \"d\"}"));
  std::vector<std::pair<size_t, size_t>> progress;
  absl::StatusOr<JsonlImportResult> r =
      ImportJsonLines({.in = corpus,
                       .out = dir / "out",
                       .samples_per_shard = 3,
                       .progress = [&](size_t done, size_t total) {
                         progress.push_back({done, total});
                       }});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->samples, 4u);
  EXPECT_EQ(r->shards, 2u);
  EXPECT_EQ(r->bad_lines, 0u);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().first, progress.back().second) << "progress ends at the file's size";
  absl::StatusOr<std::unique_ptr<Dataset>> d = Dataset::Open(dir / "out");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ((*d)->num_samples(), 4u);
  EXPECT_EQ((*d)->num_shards(), 2u);
}

TEST(JsonlImportTest, BadInputIsNamed) {
  TempDir dir;
  const std::string empty = dir / "e.jsonl";
  ASSERT_NO_FATAL_FAILURE(WriteFile(empty, "\n\n"));
  EXPECT_THAT(Message(ImportJsonLines({.in = empty, .out = dir / "o"}).status()),
              HasSubstr("no line holds a text"));
  EXPECT_EQ(ImportJsonLines({.in = dir / "missing", .out = dir / "o"}).status().code(),
            absl::StatusCode::kNotFound);
  const std::string bad = dir / "b.jsonl";
  ASSERT_NO_FATAL_FAILURE(WriteFile(bad, "{\"text\": \"a\"}\n{\"text\": \"b\"\n"));
  EXPECT_THAT(Message(ImportJsonLines({.in = bad, .out = dir / "o"}).status()),
              HasSubstr("b.jsonl:2: "));
  EXPECT_THAT(Message(ImportJsonLines({.in = bad, .out = dir / "o", .folder = "a/b"}).status()),
              HasSubstr("folder"));
}

}  // namespace
}  // namespace maskfeed
