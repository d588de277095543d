// AWS Signature Version 4 for S3 requests (the Authorization header form), signed here
// rather than by libcurl: libcurl 7.88's built-in signer canonicalises some query strings
// differently from S3 (empty values, '/' and ':' in values; curl issues 8107, 10129, 11794),
// and S3 listings need exactly those. HMAC and SHA-256 come from OpenSSL.
//
//   SigV4Request r{.method = "GET", .host = "bucket.s3.amazonaws.com", .path = "/shard-0.mfs",
//                  .query = {}, .headers = {{"range", "bytes=0-99"}}};
//   for (auto& [name, value] : SignV4(r, credentials, "us-east-1", "s3", AmzDate(now)))
//     curl_headers.push_back(name + ": " + value);
#ifndef MASKFEED_PIPELINE_STORAGE_SIGV4_H_
#define MASKFEED_PIPELINE_STORAGE_SIGV4_H_

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace maskfeed {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct SigV4Request {
  std::string method = "GET";
  std::string
      host;  // the Host header as sent: "bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1:9000"
  std::string path = "/";  // the path as sent, already URI-encoded (UriEncodePath)
  HeaderList query;        // names and values as they are, not encoded
  HeaderList headers;      // further headers to sign (e.g. range), any case
  // Hex SHA-256 of the body; empty means the empty body's.
  std::string payload_sha256;
};

// Lower-case hex SHA-256 of `data` (what x-amz-content-sha256 carries).
std::string Sha256Hex(std::string_view data);

// "20130524T000000Z" for a time point.
std::string AmzDate(std::chrono::system_clock::time_point t);

// RFC 3986 unreserved characters as they are, everything else %XX (upper case); '/' kept
// when `keep_slash` (object key paths).
std::string UriEncode(std::string_view s, bool keep_slash);

// The query string S3 signs and should be sent: pairs encoded, sorted by name then value,
// joined with '&' ("a=" for an empty value).
std::string CanonicalQueryString(const HeaderList& query);

// The canonical request of AWS's definition (for tests and debugging).
std::string CanonicalRequest(const SigV4Request& request, const HeaderList& signed_headers,
                             const std::string& payload_sha256);

// Headers to add to the request: x-amz-date, x-amz-content-sha256, x-amz-security-token
// (with temporary credentials) and Authorization. `amz_date` as AmzDate gives it.
HeaderList SignV4(const SigV4Request& request, const AwsCredentials& credentials,
                  std::string_view region, std::string_view service, std::string_view amz_date);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_SIGV4_H_
