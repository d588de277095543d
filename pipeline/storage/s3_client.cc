#include "pipeline/storage/s3_client.h"

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

// A response's status for the object it was about, with S3's error code and message.
absl::Status StatusOf(const HttpResponse& r, const std::string& what) {
  if (r.status >= 200 && r.status < 300) return absl::OkStatus();
  const S3Error e = ParseS3Error(r.body);
  return ResponseStatus(
      r, what, StrCat(e.code, e.message.empty() ? std::string() : StrCat(": ", e.message)));
}

}  // namespace

absl::StatusOr<AwsCredentials> ReadAwsCredentialsFile(const std::string& path,
                                                      const std::string& profile) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat(path, ": cannot read"));
  AwsCredentials c;
  bool in_profile = false, found = false;
  for (std::string line; std::getline(in, line);) {
    const std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      in_profile = Trim(std::string_view(t).substr(1, t.size() - 2)) == profile;
      found |= in_profile;
      continue;
    }
    const size_t eq = t.find('=');
    if (!in_profile || eq == std::string::npos) continue;
    const std::string key = Trim(std::string_view(t).substr(0, eq));
    const std::string value = Trim(std::string_view(t).substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value;
    if (key == "aws_secret_access_key") c.secret_access_key = value;
    if (key == "aws_session_token") c.session_token = value;
  }
  if (!found) return absl::NotFoundError(StrCat(path, ": no profile [", profile, "]"));
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return absl::FailedPreconditionError(
        StrCat(path, ": profile [", profile, "] lacks aws_access_key_id or aws_secret_access_key"));
  }
  return c;
}

absl::StatusOr<S3Config> S3ConfigFromEnvironment() {
  S3Config config;
  config.credentials.access_key_id = Env("AWS_ACCESS_KEY_ID");
  config.credentials.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  config.credentials.session_token = Env("AWS_SESSION_TOKEN");
  if (config.credentials.access_key_id.empty() || config.credentials.secret_access_key.empty()) {
    std::string file = Env("AWS_SHARED_CREDENTIALS_FILE");
    if (file.empty() && !Env("HOME").empty()) file = Env("HOME") + "/.aws/credentials";
    std::string profile = Env("AWS_PROFILE");
    if (profile.empty()) profile = "default";
    absl::StatusOr<AwsCredentials> read =
        file.empty() ? absl::NotFoundError("no HOME") : ReadAwsCredentialsFile(file, profile);
    if (!read.ok()) {
      return absl::FailedPreconditionError(
          StrCat("S3: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give a "
                 "profile in ~/.aws/credentials (",
                 ToStd(read.status().message()), ")"));
    }
    config.credentials = *read;
  }
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (!Env(name).empty()) {
      config.region = Env(name);
      break;
    }
  }
  for (const char* name : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
    if (!Env(name).empty()) {
      config.endpoint = Env(name);
      config.path_style = true;
      break;
    }
  }
  return config;
}

absl::StatusOr<S3Url> ParseS3Url(std::string_view url) {
  constexpr std::string_view kScheme = "s3://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError(StrCat("'", url, "' is not an s3:// URL"));
  }
  url.remove_prefix(kScheme.size());
  const size_t slash = url.find('/');
  S3Url out{std::string(url.substr(0, slash)),
            slash == std::string_view::npos ? std::string() : std::string(url.substr(slash + 1))};
  if (out.bucket.empty()) {
    return absl::InvalidArgumentError(StrCat("s3://", url, ": no bucket name"));
  }
  return out;
}

S3Client::S3Client(S3Config config) : config_(std::move(config)) {
  std::string endpoint = config_.endpoint.empty()
                             ? StrCat("https://s3.", config_.region, ".amazonaws.com")
                             : config_.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const size_t scheme_end = endpoint.find("://");
  scheme_ = scheme_end == std::string::npos ? "https" : endpoint.substr(0, scheme_end);
  host_ = scheme_end == std::string::npos ? endpoint : endpoint.substr(scheme_end + 3);
}

absl::StatusOr<HttpResponse> S3Client::Send(const std::string& method, const std::string& bucket,
                                            const std::string& key, const HeaderList& query,
                                            const HeaderList& headers,
                                            const std::string& body) const {
  SigV4Request r;
  r.method = method;
  r.host = config_.path_style ? host_ : StrCat(bucket, ".", host_);
  r.path = config_.path_style ? StrCat("/", UriEncode(bucket, false), "/", UriEncode(key, true))
                              : StrCat("/", UriEncode(key, true));
  if (config_.path_style && key.empty()) r.path = StrCat("/", UriEncode(bucket, false));
  r.query = query;
  r.headers = headers;
  r.payload_sha256 = body.empty() ? std::string() : Sha256Hex(body);
  HttpRequest http;
  http.method = method;
  const std::string q = CanonicalQueryString(query);
  http.url = StrCat(scheme_, "://", r.host, r.path, q.empty() ? "" : "?", q);
  http.headers = headers;
  for (auto& h : SignV4(r, config_.credentials, config_.region, "s3",
                        AmzDate(std::chrono::system_clock::now()))) {
    http.headers.push_back(std::move(h));
  }
  http.body = body;
  return HttpFetch(http, config_.http);
}

absl::StatusOr<std::vector<S3Object>> S3Client::List(const std::string& bucket,
                                                     const std::string& prefix) const {
  std::vector<S3Object> out;
  std::string token;
  for (int page = 0;; ++page) {
    HeaderList query = {{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    const std::string what = StrCat("s3://", bucket, "/", prefix, " (listing)");
    absl::StatusOr<HttpResponse> r = Send("GET", bucket, "", query, {}, "");
    if (!r.ok()) return r.status();
    if (absl::Status s = StatusOf(*r, what); !s.ok()) return s;
    absl::StatusOr<S3ListPage> parsed = ParseS3ListPage(r->body);
    if (!parsed.ok()) {
      return absl::DataLossError(StrCat(what, ": ", ToStd(parsed.status().message())));
    }
    for (S3Object& o : parsed->objects) out.push_back(std::move(o));
    if (!parsed->truncated) break;
    if (parsed->next_continuation_token == token) {
      return absl::DataLossError(StrCat(what, ": the same continuation token twice"));
    }
    token = parsed->next_continuation_token;
  }
  return out;
}

absl::StatusOr<std::string> S3Client::Get(
    const std::string& bucket, const std::string& key,
    std::optional<std::pair<uint64_t, uint64_t>> range) const {
  const std::string what = StrCat("s3://", bucket, "/", key);
  HeaderList headers;
  if (range) {
    absl::StatusOr<std::string> value = RangeHeader(what, *range);
    if (!value.ok()) return value.status();
    headers.emplace_back("range", *std::move(value));
  }
  absl::StatusOr<HttpResponse> r = Send("GET", bucket, key, {}, headers, "");
  if (!r.ok()) return r.status();
  if (absl::Status s = StatusOf(*r, what); !s.ok()) return s;
  return CheckedBody(*std::move(r), what, range);
}

absl::Status S3Client::Put(const std::string& bucket, const std::string& key,
                           const std::string& body) const {
  absl::StatusOr<HttpResponse> r = Send("PUT", bucket, key, {}, {}, body);
  if (!r.ok()) return r.status();
  return StatusOf(*r, StrCat("s3://", bucket, "/", key));
}

absl::Status S3Client::CreateBucket(const std::string& bucket) const {
  absl::StatusOr<HttpResponse> r = Send("PUT", bucket, "", {}, {}, "");
  if (!r.ok()) return r.status();
  return StatusOf(*r, StrCat("s3://", bucket));
}

}  // namespace maskfeed
