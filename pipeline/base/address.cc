#include "pipeline/base/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";

}  // namespace

std::string Address::ToString() const {
  if (is_unix()) return StrCat(kUnixPrefix, path);
  if (host.find(':') != std::string::npos) return StrCat("[", host, "]:", port);
  return StrCat(host, ":", port);
}

bool Address::is_loopback() const {
  if (is_unix()) return false;
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

absl::StatusOr<Address> ParseAddress(std::string_view field, std::string_view text) {
  Address a;
  if (text.substr(0, kUnixPrefix.size()) == kUnixPrefix) {
    a.path = std::string(text.substr(kUnixPrefix.size()));
    if (a.path.empty()) return absl::InvalidArgumentError(StrCat(field, ": empty socket path"));
    return a;
  }
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        StrCat(field, ": '", text, "' is not host:port or unix:/path"));
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat(field, ": '", text, "' has an IPv6 host without [brackets]"));
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(StrCat(field, ": '", text, "' has no host"));
  }
  const std::string_view port = text.substr(colon + 1);
  int value = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 0 ||
      value > 65535) {
    return absl::InvalidArgumentError(StrCat(field, ": '", text, "' has no port in 0..65535"));
  }
  a.host = std::string(host);
  a.port = static_cast<uint16_t>(value);
  return a;
}

}  // namespace maskfeed
