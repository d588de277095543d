#include "pipeline/storage/s3_xml.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/storage/http_client.h"

namespace maskfeed {
namespace {

using ::testing::HasSubstr;

TEST(S3XmlTest, ListPageWithContentsAndAToken) {
  const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>data</Name><Prefix>cc12m/</Prefix><KeyCount>2</KeyCount>
  <Contents><Key>cc12m/a&amp;b.tar</Key><Size>1048576</Size><ETag>"x"</ETag></Contents>
  <Contents><Key>cc12m/c.tar</Key><LastModified>2026-01-01</LastModified><Size>0</Size></Contents>
  <IsTruncated>true</IsTruncated><NextContinuationToken>tok+/=</NextContinuationToken>
</ListBucketResult>)";
  absl::StatusOr<S3ListPage> page = ParseS3ListPage(xml);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "cc12m/a&b.tar");
  EXPECT_EQ(page->objects[0].size, 1048576u);
  EXPECT_EQ(page->objects[1].size, 0u);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "tok+/=");
}

TEST(S3XmlTest, BadListingsAreDataLoss) {
  for (const auto& [xml, says] : std::vector<std::pair<std::string, std::string>>{
           {"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents>"
            "</ListBucketResult>",
            "is not a byte count"},
           {"<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999999</Size>"
            "</Contents></ListBucketResult>",
            "is not a byte count"},
           {"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
            "without a Key"},
           {"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
            "without a NextContinuationToken"},
           {"<Other/>", "no ListBucketResult"},
           {"<ListBucketResult><Contents>", "malformed XML"},
           {"", "malformed XML"},
       }) {
    absl::StatusOr<S3ListPage> page = ParseS3ListPage(xml);
    EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss) << xml;
    EXPECT_THAT(std::string(page.status().message()), HasSubstr(says)) << xml;
  }
}

TEST(S3XmlTest, ErrorDocuments) {
  const S3Error e = ParseS3Error(
      "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not "
      "exist.</Message><Key>k</Key></Error>");
  EXPECT_EQ(e.code, "NoSuchKey");
  EXPECT_EQ(e.message, "The specified key does not exist.");
  EXPECT_EQ(ParseS3Error("not xml").code, "");
  EXPECT_EQ(ParseS3Error("").code, "");
}

TEST(HttpHeaderTest, LinesBecomeLowerCaseNamesAndTrimmedValuesAndAStatusLineStartsOver) {
  HeaderList headers;
  AddResponseHeaderLine("HTTP/1.1 100 Continue\r\n", &headers);
  AddResponseHeaderLine("X-Early: gone\r\n", &headers);
  AddResponseHeaderLine("HTTP/1.1 206 Partial Content\r\n", &headers);
  AddResponseHeaderLine("Content-Length: \t 10 \r\n", &headers);
  AddResponseHeaderLine("ETag:\"x:y\"\r\n", &headers);
  AddResponseHeaderLine("\r\n", &headers);
  AddResponseHeaderLine("", &headers);
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0], (std::pair<std::string, std::string>{"content-length", "10"}));
  EXPECT_EQ(headers[1], (std::pair<std::string, std::string>{"etag", "\"x:y\""}));
}

}  // namespace
}  // namespace maskfeed
