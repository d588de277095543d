// SigV4 against AWS's published S3 examples (the "Signature Calculations for the Authorization
// Header" page of the S3 API reference: example bucket, its example credentials, 2013-05-24).
#include "pipeline/storage/sigv4.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace maskfeed {
namespace {

using ::testing::HasSubstr;

const AwsCredentials kExample{.access_key_id = "AKIAIOSFODNN7EXAMPLE",
                              .secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                              .session_token = ""};
constexpr char kDate[] = "20130524T000000Z";

std::string Authorization(const HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    if (name == "Authorization") return value;
  }
  return "";
}

TEST(SigV4Test, GetObjectWithARange) {
  const SigV4Request r{.method = "GET",
                       .host = "examplebucket.s3.amazonaws.com",
                       .path = "/test.txt",
                       .query = {},
                       .headers = {{"Range", "bytes=0-9"}},
                       .payload_sha256 = ""};
  const HeaderList added = SignV4(r, kExample, "us-east-1", "s3", kDate);
  EXPECT_EQ(Authorization(added),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(added[0], (std::pair<std::string, std::string>{"x-amz-date", kDate}));
}

TEST(SigV4Test, ListObjectsWithAQuery) {
  const SigV4Request r{.method = "GET",
                       .host = "examplebucket.s3.amazonaws.com",
                       .path = "/",
                       .query = {{"prefix", "J"}, {"max-keys", "2"}},
                       .headers = {},
                       .payload_sha256 = ""};
  EXPECT_THAT(
      Authorization(SignV4(r, kExample, "us-east-1", "s3", kDate)),
      HasSubstr("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
}

TEST(SigV4Test, SubresourceWithoutAValue) {
  const SigV4Request r{.method = "GET",
                       .host = "examplebucket.s3.amazonaws.com",
                       .path = "/",
                       .query = {{"lifecycle", ""}},
                       .headers = {},
                       .payload_sha256 = ""};
  EXPECT_THAT(
      Authorization(SignV4(r, kExample, "us-east-1", "s3", kDate)),
      HasSubstr("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
}

TEST(SigV4Test, EncodingAndOrderOfTheQuery) {
  EXPECT_EQ(UriEncode("a b/c~d_e.f-g+h:i", false), "a%20b%2Fc~d_e.f-g%2Bh%3Ai");
  EXPECT_EQ(UriEncode("shards/rgb@224/x y.tar", true), "shards/rgb%40224/x%20y.tar");
  EXPECT_EQ(UriEncode("\xc3\xa9", false), "%C3%A9");
  EXPECT_EQ(CanonicalQueryString({{"prefix", "data/rgb/"},
                                  {"list-type", "2"},
                                  {"continuation-token", "a+b="},
                                  {"lifecycle", ""}}),
            "continuation-token=a%2Bb%3D&lifecycle=&list-type=2&prefix=data%2Frgb%2F");
}

TEST(SigV4Test, TemporaryCredentialsSignTheirToken) {
  AwsCredentials temporary = kExample;
  temporary.session_token = "token/with+chars";
  const SigV4Request r{.method = "GET",
                       .host = "127.0.0.1:9000",
                       .path = "/bucket/key",
                       .query = {},
                       .headers = {},
                       .payload_sha256 = ""};
  const HeaderList added = SignV4(r, temporary, "eu-west-1", "s3", kDate);
  ASSERT_EQ(added.size(), 4u);
  EXPECT_EQ(added[2],
            (std::pair<std::string, std::string>{"x-amz-security-token", "token/with+chars"}));
  EXPECT_THAT(Authorization(added),
              HasSubstr("/20130524/eu-west-1/s3/aws4_request,SignedHeaders=host;"
                        "x-amz-content-sha256;x-amz-date;x-amz-security-token,Signature="));
  // A different token, a different signature.
  temporary.session_token = "other";
  EXPECT_NE(Authorization(SignV4(r, temporary, "eu-west-1", "s3", kDate)), Authorization(added));
}

}  // namespace
}  // namespace maskfeed
