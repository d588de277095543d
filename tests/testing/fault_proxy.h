// A small HTTP proxy on 127.0.0.1 that injects faults between a client and a real server (moto,
// nginx): added latency, 503s, connections reset before an answer, bodies cut short. One
// request per connection (it asks the upstream to close, and closes after the answer), so each
// request meets the fault chosen for it.
//
//   FaultProxy proxy(upstream_port, [](uint64_t n, const std::string& request_line) {
//     return n % 5 == 3 ? Fault::kReset : Fault::kNone;
//   });
//   ... point the client at proxy.endpoint() ...
#ifndef MASKFEED_TESTS_TESTING_FAULT_PROXY_H_
#define MASKFEED_TESTS_TESTING_FAULT_PROXY_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace maskfeed::testing {

enum class Fault {
  kNone,
  kServiceUnavailable,  // answer 503 without asking the upstream
  kReset,               // close the connection (RST) without an answer
  kTruncate,            // forward, then send the headers and half of the body, and close
  kForbidden,           // answer 403 AccessDenied
  kNotFound,            // answer 404 NoSuchKey
};

class FaultProxy {
 public:
  using Policy = std::function<Fault(uint64_t request, const std::string& request_line)>;

  // `delay`: added before each request is forwarded (the latency of a distant store).
  FaultProxy(int upstream_port, Policy policy,
             std::chrono::milliseconds delay = std::chrono::milliseconds(0))
      : upstream_port_(upstream_port), policy_(std::move(policy)), delay_(delay) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(listen_fd_, 128);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~FaultProxy() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    for (std::thread& t : workers_) t.join();
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  uint64_t requests() const { return requests_; }
  // Faults injected so far, by kind.
  uint64_t injected(Fault f) const { return injected_[static_cast<int>(f)]; }

 private:
  void Accept() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Reads until the end of the request's headers (GETs and HEADs have no body here).
  static bool ReadHeaders(int fd, std::string* out) {
    char buf[8192];
    while (out->find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      out->append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  static void SendAll(int fd, const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return;
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  static void Reset(int fd) {
    linger l{1, 0};  // close with RST
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
  }

  void Serve(int fd) {
    std::string request;
    if (!ReadHeaders(fd, &request)) {
      ::close(fd);
      return;
    }
    const uint64_t n = requests_++;
    const std::string line = request.substr(0, request.find("\r\n"));
    const Fault fault = policy_ ? policy_(n, line) : Fault::kNone;
    ++injected_[static_cast<int>(fault)];
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    if (fault == Fault::kReset) return Reset(fd);
    if (fault == Fault::kServiceUnavailable || fault == Fault::kForbidden ||
        fault == Fault::kNotFound) {
      const char* status = fault == Fault::kForbidden  ? "403 Forbidden"
                           : fault == Fault::kNotFound ? "404 Not Found"
                                                       : "503 Service Unavailable";
      const char* code = fault == Fault::kForbidden  ? "AccessDenied"
                         : fault == Fault::kNotFound ? "NoSuchKey"
                                                     : "SlowDown";
      const std::string body =
          std::string("<Error><Code>") + code + "</Code><Message>injected</Message></Error>";
      const std::string r = std::string("HTTP/1.1 ") + status +
                            "\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\nConnection: close\r\n\r\n" + body;
      SendAll(fd, r.data(), r.size());
      ::close(fd);
      return;
    }
    // Ask the upstream to close after its answer: then its answer ends where the stream does.
    std::string forwarded;
    size_t pos = 0;
    const size_t end = request.find("\r\n\r\n");
    while (pos < end) {
      size_t eol = request.find("\r\n", pos);
      const std::string header = request.substr(pos, eol - pos);
      if (header.size() < 11 || strncasecmp(header.c_str(), "connection:", 11) != 0) {
        forwarded += header + "\r\n";
      }
      pos = eol + 2;
    }
    forwarded += "Connection: close\r\n\r\n";
    forwarded += request.substr(end + 4);
    const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    if (::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(up);
      return Reset(fd);
    }
    SendAll(up, forwarded.data(), forwarded.size());
    std::string response;
    char buf[65536];
    for (ssize_t r; (r = ::recv(up, buf, sizeof buf, 0)) > 0;) {
      response.append(buf, static_cast<size_t>(r));
    }
    ::close(up);
    if (fault == Fault::kTruncate) {
      const size_t body = response.find("\r\n\r\n");
      const size_t keep = body == std::string::npos ? response.size() / 2
                                                    : body + 4 + (response.size() - body - 4) / 2;
      SendAll(fd, response.data(), keep);
      return Reset(fd);
    }
    SendAll(fd, response.data(), response.size());
    ::close(fd);
  }

  const int upstream_port_;
  const Policy policy_;
  const std::chrono::milliseconds delay_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> injected_[6] = {};
  std::thread acceptor_;
  std::vector<std::thread> workers_;  // acceptor thread only, joined at the end
};

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_FAULT_PROXY_H_
