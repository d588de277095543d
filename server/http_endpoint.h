// A small HTTP/1.1 endpoint (Boost.Beast over Boost.Asio) for operators: GET /metrics serves
// Prometheus text, GET /healthz answers 200 "ok" while serving and 503 "draining" during
// shutdown; anything else is 404. An accept error never stops it: it is logged and accepting
// resumes after a capped backoff. It runs on the io_context it is given (one thread is plenty for
// a scraper) and never touches the streaming path.
#ifndef MASKFEED_SERVER_HTTP_ENDPOINT_H_
#define MASKFEED_SERVER_HTTP_ENDPOINT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/http.hpp"

namespace maskfeed {

struct HttpHandlers {
  std::function<std::string()> metrics;  // Prometheus text
  std::function<bool()> healthy;         // false = 503
};

// What a request may send: operators' probes and scrapers send a few hundred bytes.
inline constexpr uint32_t kMaxHttpHeaderBytes = 8192;
inline constexpr uint64_t kMaxHttpBodyBytes = 4096;

// The answer to one parsed request (the endpoint's whole request path after Beast's parser,
// which the fuzz target drives without a socket).
boost::beast::http::response<boost::beast::http::string_body> AnswerHttp(
    const boost::beast::http::request<boost::beast::http::string_body>& request,
    const HttpHandlers& handlers);

class HttpEndpoint {
 public:
  // Binds `address` ("host:port", port 0 = any free port) and starts accepting.
  // UNAVAILABLE naming the address when it cannot bind.
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(boost::asio::io_context* io,
                                                             const std::string& address,
                                                             HttpHandlers handlers);
  // Requires: the io_context is no longer running.
  ~HttpEndpoint();

  // "host:port" actually bound.
  std::string address() const;

 private:
  HttpEndpoint(boost::asio::io_context* io, HttpHandlers handlers);
  void Accept();
  // After an accept error (EMFILE when descriptors run out, ENOBUFS, ...): log it and accept
  // again after a backoff, so that /healthz answers as soon as the cause passes.
  void RetryAccept(const boost::system::error_code& error);

  boost::asio::io_context* io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::chrono::milliseconds backoff_{0};  // only touched on the io_context's thread
  std::shared_ptr<const HttpHandlers> handlers_;
};

}  // namespace maskfeed

#endif  // MASKFEED_SERVER_HTTP_ENDPOINT_H_
