#include "pipeline/storage/http_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  HttpResponse* response;
  uint64_t max_body_bytes;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->response->body.size() + n > t->max_body_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->response->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  const size_t n = size * count;
  AddResponseHeaderLine(std::string_view(data, n),
                        &static_cast<Transfer*>(user)->response->headers);
  return n;
}

}  // namespace

void AddResponseHeaderLine(std::string_view line, HeaderList* headers) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    if (line.rfind("HTTP/", 0) == 0) headers->clear();  // a new response (100, redirect)
    return;
  }
  std::string name(line.substr(0, colon));
  for (char& c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  headers->emplace_back(std::move(name), std::string(value));
}

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

absl::StatusOr<HttpResponse> HttpFetch(const HttpRequest& request, const HttpOptions& options) {
  GlobalInit();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return absl::InternalError("libcurl: cannot create a handle");
  HttpResponse response;
  Transfer transfer{.response = &response, .max_body_bytes = options.max_body_bytes};
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip for PUT
  if (request.method == "PUT") {
    // libcurl would call the body a form (application/x-www-form-urlencoded), which some
    // servers parse and consume.
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> owned(headers, curl_slist_free_all);
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.low_speed_time.count()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  const CURLcode code = curl_easy_perform(h);
  if (transfer.too_large) {
    return absl::ResourceExhaustedError(StrCat(request.method, " ", request.url,
                                               ": the response is larger than ",
                                               options.max_body_bytes, " bytes"));
  }
  if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
      code == CURLE_SSL_CERTPROBLEM) {
    return absl::FailedPreconditionError(StrCat(
        request.method, " ", request.url, ": ", curl_easy_strerror(code),
        options.ca_file.empty() ? " (for a server with a private CA, set AWS_CA_BUNDLE to its PEM)"
                                : StrCat(" (CA file ", options.ca_file, ")")));
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(
        StrCat(request.method, " ", request.url, ": ", curl_easy_strerror(code)));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

absl::StatusOr<std::string> RangeHeader(const std::string& what, const ByteRange& range) {
  if (range.second < range.first || range.second == UINT64_MAX) {
    return absl::InvalidArgumentError(StrCat(what, ": range ", range.first, "-", range.second,
                                             " is empty or past what a size can say"));
  }
  return StrCat("bytes=", range.first, "-", range.second);
}

absl::Status ResponseStatus(const HttpResponse& r, const std::string& what,
                            std::string_view detail) {
  if (r.status >= 200 && r.status < 300) return absl::OkStatus();
  const std::string message = StrCat(what, ": HTTP ", r.status, detail.empty() ? "" : " ", detail);
  if (r.status == 404) return absl::NotFoundError(message);
  if (r.status == 401 || r.status == 403) return absl::PermissionDeniedError(message);
  if (r.status == 429 || r.status >= 500) return absl::UnavailableError(message);
  return absl::InvalidArgumentError(message);
}

absl::StatusOr<std::string> CheckedBody(HttpResponse r, const std::string& what,
                                        const std::optional<ByteRange>& range) {
  if (range) {
    const uint64_t want = range->second - range->first + 1;
    if (r.status != 206 || r.body.size() > want) {
      return absl::DataLossError(StrCat(what, ": asked bytes ", range->first, "-", range->second,
                                        ", got HTTP ", r.status, " with ", r.body.size(),
                                        " bytes"));
    }
  }
  if (const std::optional<std::string> length = r.Header("content-length");
      length && *length != std::to_string(r.body.size())) {
    return absl::DataLossError(
        StrCat(what, ": Content-Length ", *length, " but ", r.body.size(), " bytes arrived"));
  }
  return std::move(r.body);
}

}  // namespace maskfeed
