// Listening and connecting addresses as maskfeed writes them: "host:port" (IPv4 or a name),
// "[v6]:port", or "unix:/path/to.sock". One parser for the server's --listen, the metrics
// endpoint and the config file, so they accept and refuse the same strings.
//
//   absl::StatusOr<Address> a = ParseAddress("listen[0]", "127.0.0.1:0");
//   if (a->is_unix()) PrepareSocket(a->path); else Bind(a->host, a->port);
#ifndef MASKFEED_PIPELINE_BASE_ADDRESS_H_
#define MASKFEED_PIPELINE_BASE_ADDRESS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace maskfeed {

struct Address {
  std::string host;  // without brackets; empty for a Unix socket
  uint16_t port = 0;
  std::string path;  // the socket path of "unix:PATH"; empty for TCP

  bool is_unix() const { return !path.empty(); }
  // A TCP address only this machine can reach: "localhost", 127.0.0.0/8 or ::1.
  bool is_loopback() const;
  // The canonical text form ("host:port", "[v6]:port" or "unix:PATH").
  std::string ToString() const;
};

// INVALID_ARGUMENT naming `field` unless `text` is one of the forms above with a port in
// 0..65535 (0: any free port) or a non-empty socket path.
absl::StatusOr<Address> ParseAddress(std::string_view field, std::string_view text);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_ADDRESS_H_
