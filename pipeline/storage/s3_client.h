// An S3 client for what maskfeed needs — list a prefix, get an object or a byte range of it
// (and put, for tests and uploads) — over libcurl, signed with SigV4 (sigv4.h). Works with
// AWS and S3-compatible stores (path-style addressing under a custom endpoint).
//
//   absl::StatusOr<S3Config> config = S3ConfigFromEnvironment();   // AWS_* variables
//   S3Client s3(*config);
//   absl::StatusOr<std::vector<S3Object>> objects = s3.List("bucket", "cc12m/rgb/");
//   absl::StatusOr<std::string> head = s3.Get("bucket", "cc12m/rgb/shard-00000.mfs", {{0, 63}});
//
// Statuses name the object (s3://bucket/key) and S3's error code: NOT_FOUND (NoSuchKey,
// NoSuchBucket), PERMISSION_DENIED (403: AccessDenied, SignatureDoesNotMatch, ...),
// UNAVAILABLE (no response, 5xx, 429 SlowDown: worth retrying), DATA_LOSS (a body that does
// not parse or a range answered with other bytes).
#ifndef MASKFEED_PIPELINE_STORAGE_S3_CLIENT_H_
#define MASKFEED_PIPELINE_STORAGE_S3_CLIENT_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/storage/http_client.h"
#include "pipeline/storage/s3_xml.h"
#include "pipeline/storage/sigv4.h"

namespace maskfeed {

struct S3Config {
  // scheme://host[:port] of the S3 API; empty: AWS's https://s3.<region>.amazonaws.com.
  std::string endpoint;
  std::string region = "us-east-1";
  // bucket in the path (https://host/bucket/key) rather than the host name: what
  // S3-compatible stores want; on whenever an endpoint is given.
  bool path_style = false;
  AwsCredentials credentials;
  HttpOptions http;
};

// From the standard variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (else
// the [AWS_PROFILE or "default"] section of AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials), AWS_REGION or AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL. FAILED_PRECONDITION naming what is missing when no credentials are found.
absl::StatusOr<S3Config> S3ConfigFromEnvironment();

// The named profile's keys from an AWS credentials file (INI).
absl::StatusOr<AwsCredentials> ReadAwsCredentialsFile(const std::string& path,
                                                      const std::string& profile);

struct S3Url {
  std::string bucket;
  std::string key;  // may be empty or a prefix
};
// "s3://bucket/some/prefix" → {"bucket", "some/prefix"}; INVALID_ARGUMENT otherwise.
absl::StatusOr<S3Url> ParseS3Url(std::string_view url);

class S3Client {
 public:
  explicit S3Client(S3Config config);

  // Every object under `prefix`, in key order (ListObjectsV2, all pages).
  absl::StatusOr<std::vector<S3Object>> List(const std::string& bucket,
                                             const std::string& prefix) const;
  // The object, or bytes [first, last] of it (inclusive, as HTTP ranges are).
  absl::StatusOr<std::string> Get(const std::string& bucket, const std::string& key,
                                  std::optional<std::pair<uint64_t, uint64_t>> range = {}) const;
  absl::Status Put(const std::string& bucket, const std::string& key,
                   const std::string& body) const;
  absl::Status CreateBucket(const std::string& bucket) const;

  const S3Config& config() const { return config_; }

 private:
  absl::StatusOr<HttpResponse> Send(const std::string& method, const std::string& bucket,
                                    const std::string& key, const HeaderList& query,
                                    const HeaderList& headers, const std::string& body) const;

  S3Config config_;
  std::string scheme_;  // "https" or "http"
  std::string host_;    // host[:port] of the endpoint
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_S3_CLIENT_H_
