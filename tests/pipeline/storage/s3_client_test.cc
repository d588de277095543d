// The S3 client against a real S3 server (moto_server): put, list (several pages), get whole
// and by range, and the statuses of what goes wrong; then with moto checking every request's
// SigV4 signature against an IAM user's key.
//
// moto's check rebuilds the canonical request from a URL its web framework re-quoted, which
// leaves '@', '+', ':', '=' in paths and '/' in query values unescaped where S3 (and every AWS
// SDK) escapes them: boto3's own signatures fail there too. So the signed test keeps to keys
// and prefixes without them; the escaping itself is checked against AWS's published vectors
// (sigv4_test.cc) and, unsigned, against moto's listing and object names here.
#include "pipeline/storage/s3_client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "tests/testing/moto_server.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

class S3ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    moto_ = testing::MotoServer::Start(dir_ / "moto.log");
    if (moto_ == nullptr) GTEST_SKIP() << "moto_server is not installed";
    config_.endpoint = moto_->endpoint();
    config_.path_style = true;
    config_.region = "us-east-1";
    config_.credentials = {
        .access_key_id = "AKIDUNCHECKED", .secret_access_key = "s3cr3t", .session_token = ""};
    config_.http.timeout = std::chrono::milliseconds(20000);
  }

  TempDir dir_;
  std::unique_ptr<testing::MotoServer> moto_;
  S3Config config_;
};

TEST_F(S3ClientTest, PutListGetAndRanges) {
  S3Client s3(config_);
  ASSERT_TRUE(s3.CreateBucket("data").ok());
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 251);
  ASSERT_TRUE(s3.Put("data", "cc12m/rgb/shard-00000.tar", big).ok());
  // Keys that need encoding: '@', spaces, '+'.
  for (int i = 0; i < 1005; ++i) {
    const absl::Status put =
        s3.Put("data", StrCat("cc12m/tok_rgb@224/shard ", 10000 + i, "+x.npy"), std::to_string(i));
    ASSERT_TRUE(put.ok()) << put;
  }
  absl::StatusOr<std::vector<S3Object>> all = s3.List("data", "cc12m/tok_rgb@224/");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 1005u) << "more than one page (1000 keys each)";
  EXPECT_EQ((*all)[0].key, "cc12m/tok_rgb@224/shard 10000+x.npy");
  EXPECT_EQ((*all)[1004].size, 4u);
  absl::StatusOr<std::vector<S3Object>> rgb = s3.List("data", "cc12m/rgb/");
  ASSERT_TRUE(rgb.ok() && rgb->size() == 1u);
  EXPECT_EQ((*rgb)[0].size, big.size());

  absl::StatusOr<std::string> whole = s3.Get("data", "cc12m/rgb/shard-00000.tar");
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->size(), big.size());
  EXPECT_TRUE(*whole == big) << "the same bytes";
  absl::StatusOr<std::string> tail =
      s3.Get("data", "cc12m/rgb/shard-00000.tar", {{big.size() - 64, big.size() - 1}});
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_TRUE(*tail == big.substr(big.size() - 64)) << tail->size() << " bytes";
  absl::StatusOr<std::string> one = s3.Get("data", "cc12m/tok_rgb@224/shard 10007+x.npy");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one, "7");
}

TEST_F(S3ClientTest, WhatGoesWrongIsNamed) {
  S3Client s3(config_);
  ASSERT_TRUE(s3.CreateBucket("bkt").ok());
  absl::StatusOr<std::string> missing = s3.Get("bkt", "no/such.mfs");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("s3://bkt/no/such.mfs"));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("NoSuchKey"));
  absl::StatusOr<std::vector<S3Object>> no_bucket = s3.List("nobucket", "x/");
  EXPECT_EQ(no_bucket.status().code(), absl::StatusCode::kNotFound) << no_bucket.status();
  EXPECT_THAT(std::string(no_bucket.status().message()), HasSubstr("NoSuchBucket"));

  // Nobody listening: UNAVAILABLE naming the URL.
  S3Config nowhere = config_;
  nowhere.endpoint = StrCat("http://127.0.0.1:", testing::FreeTcpPort());
  absl::StatusOr<std::string> down = S3Client(nowhere).Get("bkt", "k");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(down.status().message()), HasSubstr("/bkt/k"));
}

// moto checking signatures: the IAM user's key works for every operation; a wrong secret and
// an unknown key are refused.
TEST_F(S3ClientTest, SignaturesAreChecked) {
  config_.credentials = moto_->EnforceSignatures();
  ASSERT_FALSE(config_.credentials.access_key_id.empty());
  S3Client s3(config_);
  ASSERT_TRUE(s3.CreateBucket("signed").ok());
  const std::string body(100000, 'x');
  ASSERT_TRUE(s3.Put("signed", "cc12m/rgb/shard-00001.tar", body).ok());
  absl::StatusOr<std::string> got = s3.Get("signed", "cc12m/rgb/shard-00001.tar", {{10, 19}});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::string(10, 'x'));
  absl::StatusOr<std::vector<S3Object>> listed = s3.List("signed", "cc12m");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, body.size());

  S3Config wrong = config_;
  wrong.credentials.secret_access_key = "not-the-secret";
  absl::StatusOr<std::string> refused = S3Client(wrong).Get("signed", "cc12m/rgb/shard-00001.tar");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("SignatureDoesNotMatch"));
  S3Config unknown = config_;
  unknown.credentials.access_key_id = "AKIAUNKNOWNKEY000000";
  EXPECT_EQ(S3Client(unknown).List("signed", "cc12m").status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace maskfeed
