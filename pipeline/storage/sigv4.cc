#include "pipeline/storage/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <ctime>

#include "pipeline/base/sha256.h"

namespace maskfeed {
namespace {

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Hex(const uint8_t* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  std::array<uint8_t, EVP_MAX_MD_SIZE> out{};
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &n);
  return std::string(reinterpret_cast<const char*>(out.data()), n);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

// Header values are signed trimmed, with inner runs of spaces collapsed to one.
std::string TrimValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  const std::array<uint8_t, 32> d = Sha256(data);
  return Hex(d.data(), d.size());
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &utc);
  return buf;
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                            c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

std::string CanonicalQueryString(const HeaderList& query) {
  HeaderList encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string CanonicalRequest(const SigV4Request& request, const HeaderList& signed_headers,
                             const std::string& payload_sha256) {
  std::string headers, names;
  for (const auto& [name, value] : signed_headers) {
    headers += name + ":" + value + "\n";
    names += (names.empty() ? "" : ";") + name;
  }
  return request.method + "\n" + request.path + "\n" + CanonicalQueryString(request.query) + "\n" +
         headers + "\n" + names + "\n" + payload_sha256;
}

HeaderList SignV4(const SigV4Request& request, const AwsCredentials& credentials,
                  std::string_view region, std::string_view service, std::string_view amz_date) {
  const std::string payload =
      request.payload_sha256.empty() ? std::string(kEmptySha256) : request.payload_sha256;
  HeaderList added = {{"x-amz-date", std::string(amz_date)}, {"x-amz-content-sha256", payload}};
  if (!credentials.session_token.empty()) {
    added.emplace_back("x-amz-security-token", credentials.session_token);
  }
  HeaderList signed_headers = {{"host", TrimValue(request.host)}};
  for (const auto& [name, value] : request.headers) {
    signed_headers.emplace_back(Lower(name), TrimValue(value));
  }
  for (const auto& [name, value] : added) signed_headers.emplace_back(name, value);
  std::sort(signed_headers.begin(), signed_headers.end());

  const std::string date(amz_date.substr(0, 8));
  const std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  const std::string canonical = CanonicalRequest(request, signed_headers, payload);
  const std::string to_sign =
      "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" + Sha256Hex(canonical);
  std::string key = Hmac("AWS4" + credentials.secret_access_key, date);
  key = Hmac(key, region);
  key = Hmac(key, service);
  key = Hmac(key, "aws4_request");
  const std::string mac = Hmac(key, to_sign);
  std::string names;
  for (const auto& header : signed_headers) names += (names.empty() ? "" : ";") + header.first;
  added.emplace_back("Authorization",
                     "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                         ",SignedHeaders=" + names + ",Signature=" +
                         Hex(reinterpret_cast<const uint8_t*>(mac.data()), mac.size()));
  return added;
}

}  // namespace maskfeed
