// HTTP(S) requests by libcurl, for object storage: GET (whole or a byte range), HEAD, PUT, POST.
// One call, one response held in memory; retries are the caller's (retry.h), so that they can be
// counted and logged where the object's name is known.
#ifndef MASKFEED_PIPELINE_STORAGE_HTTP_CLIENT_H_
#define MASKFEED_PIPELINE_STORAGE_HTTP_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "pipeline/storage/sigv4.h"

namespace maskfeed {

struct HttpRequest {
  std::string method = "GET";
  std::string url;     // scheme://host[:port]/path?query, already encoded
  HeaderList headers;  // sent as given
  std::string body;    // PUT and POST
};

struct HttpResponse {
  long status = 0;
  std::string body;
  HeaderList headers;  // names lower-cased
  // The value of header `name` (lower case), if sent.
  std::optional<std::string> Header(std::string_view name) const;
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{10000};
  // The whole transfer; a response slower than this is a timeout.
  std::chrono::milliseconds timeout{120000};
  // A transfer slower than 1 KB/s for this long is abandoned (a stalled peer).
  std::chrono::seconds low_speed_time{30};
  // Responses larger than this are refused (bodies are held in memory).
  uint64_t max_body_bytes = uint64_t{16} << 30;
  // A PEM file of the certificate authorities HTTPS servers are verified against (a private
  // CA's, for an S3-compatible store with its own certificates); empty: the system's.
  std::string ca_file;
};

// One response header line as libcurl hands it over ("Name: value\r\n") added to `headers`
// (name lower-cased, value trimmed); a status line ("HTTP/1.1 200 OK") starts a new response
// and clears them. Untrusted bytes (fuzzed by s3_response_fuzzer).
void AddResponseHeaderLine(std::string_view line, HeaderList* headers);

// UNAVAILABLE naming the URL for what did not produce a response (refused, reset, timed out,
// DNS), FAILED_PRECONDITION for an HTTPS server whose certificate does not verify (retrying
// cannot help); any response, whatever its status, is returned as it is.
absl::StatusOr<HttpResponse> HttpFetch(const HttpRequest& request, const HttpOptions& options = {});

// Bytes [first, last] of an object, inclusive, as HTTP ranges are.
using ByteRange = std::pair<uint64_t, uint64_t>;

// The "Range" header for `range`; INVALID_ARGUMENT naming `what` for an empty range or one
// ending at 2^64-1 (past what a size can say).
absl::StatusOr<std::string> RangeHeader(const std::string& what, const ByteRange& range);

// What a response means for `what` (the URL or object it was about): 2xx OK, 404 NOT_FOUND,
// 401/403 PERMISSION_DENIED, 429 and 5xx UNAVAILABLE (worth retrying), others
// INVALID_ARGUMENT; the message names `what`, the HTTP status and `detail` (an error code).
absl::Status ResponseStatus(const HttpResponse& r, const std::string& what,
                            std::string_view detail = {});

// The body of a successful response to a GET of `range` (or of the whole object): DATA_LOSS
// naming `what` when a range is answered with other bytes or the body is shorter than the
// Content-Length said.
absl::StatusOr<std::string> CheckedBody(HttpResponse r, const std::string& what,
                                        const std::optional<ByteRange>& range);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_HTTP_CLIENT_H_
