// A minimal HTTP/1.1 GET over a plain TCP socket, for tests of the metrics endpoint.
#ifndef MASKFEED_TESTS_TESTING_HTTP_GET_H_
#define MASKFEED_TESTS_TESTING_HTTP_GET_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace maskfeed::testing {

struct HttpReply {
  int status = 0;  // 0: could not connect
  std::string body;
};

// `address` is "127.0.0.1:port".
inline HttpReply HttpGet(const std::string& address, const std::string& path) {
  HttpReply reply;
  const size_t colon = address.rfind(':');
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &sin.sin_addr) != 1) return reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
    ::close(fd);
    return reply;
  }
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return reply;
  }
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t space = raw.find(' ');
  const size_t body = raw.find("\r\n\r\n");
  if (space == std::string::npos || body == std::string::npos) return reply;
  reply.status = std::stoi(raw.substr(space + 1, 3));
  reply.body = raw.substr(body + 4);
  return reply;
}

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_HTTP_GET_H_
