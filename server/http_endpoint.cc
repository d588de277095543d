#include "server/http_endpoint.h"

#include <algorithm>
#include <optional>

#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "pipeline/base/address.h"
#include "pipeline/base/log.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

constexpr std::chrono::seconds kConnectionTimeout(10);
constexpr std::chrono::milliseconds kMinAcceptBackoff(10);
constexpr std::chrono::milliseconds kMaxAcceptBackoff(1000);

// One connection: read a request, answer it, repeat while the client keeps it alive.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<const HttpHandlers> handlers)
      : stream_(std::move(socket)), handlers_(std::move(handlers)) {}

  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHttpHeaderBytes);
    parser_->body_limit(kMaxHttpBodyBytes);
    stream_.expires_after(kConnectionTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return;
                       self->request_ = self->parser_->release();
                       self->Respond();
                     });
  }

 private:
  void Respond() {
    auto response =
        std::make_shared<http::response<http::string_body>>(AnswerHttp(request_, *handlers_));
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (response->keep_alive()) {
                          self->Read();
                        } else {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                        }
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  std::shared_ptr<const HttpHandlers> handlers_;
};

}  // namespace

http::response<http::string_body> AnswerHttp(const http::request<http::string_body>& request,
                                             const HttpHandlers& handlers) {
  http::response<http::string_body> response;
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  response.set(http::field::server, "maskfeed");
  const std::string target(request.target());
  const std::string path = target.substr(0, target.find('?'));
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    response.result(http::status::method_not_allowed);
    response.set(http::field::allow, "GET, HEAD");
    response.body() = "only GET\n";
  } else if (path == "/metrics") {
    response.result(http::status::ok);
    response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.body() = handlers.metrics();
  } else if (path == "/healthz") {
    const bool healthy = handlers.healthy();
    response.result(healthy ? http::status::ok : http::status::service_unavailable);
    response.set(http::field::content_type, "text/plain");
    response.body() = healthy ? "ok\n" : "draining\n";
  } else {
    response.result(http::status::not_found);
    response.set(http::field::content_type, "text/plain");
    response.body() = "not found: try /metrics or /healthz\n";
  }
  response.prepare_payload();
  if (request.method() == http::verb::head) response.body().clear();
  return response;
}

HttpEndpoint::HttpEndpoint(boost::asio::io_context* io, HttpHandlers handlers)
    : io_(io),
      acceptor_(*io),
      retry_timer_(*io),
      handlers_(std::make_shared<const HttpHandlers>(std::move(handlers))) {}

HttpEndpoint::~HttpEndpoint() {
  beast::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
}

absl::StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(boost::asio::io_context* io,
                                                                  const std::string& address,
                                                                  HttpHandlers handlers) {
  absl::StatusOr<Address> parsed = ParseAddress("metrics address", address);
  if (!parsed.ok()) return parsed.status();
  if (parsed->is_unix()) {
    return absl::InvalidArgumentError(StrCat("metrics address ", address, ": must be host:port"));
  }
  std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint(io, std::move(handlers)));
  beast::error_code ec;
  tcp::resolver resolver(*io);
  auto results = resolver.resolve(parsed->host, std::to_string(parsed->port),
                                  tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return absl::UnavailableError(
        StrCat("metrics address ", address, ": cannot resolve: ", ec.message()));
  }
  const tcp::endpoint where = results.begin()->endpoint();
  endpoint->acceptor_.open(where.protocol(), ec);
  if (!ec) endpoint->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) endpoint->acceptor_.bind(where, ec);
  if (!ec) endpoint->acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(StrCat("metrics address ", address, ": ", ec.message()));
  }
  endpoint->Accept();
  return endpoint;
}

std::string HttpEndpoint::address() const {
  beast::error_code ec;
  const tcp::endpoint e = acceptor_.local_endpoint(ec);
  if (ec) return "";
  return Address{.host = e.address().to_string(), .port = e.port(), .path = ""}.ToString();
}

void HttpEndpoint::Accept() {
  acceptor_.async_accept(*io_, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;  // closed
    if (ec) return RetryAccept(ec);
    backoff_ = std::chrono::milliseconds(0);
    std::make_shared<Connection>(std::move(socket), handlers_)->Read();
    Accept();
  });
}

void HttpEndpoint::RetryAccept(const boost::system::error_code& error) {
  backoff_ = std::clamp(backoff_ * 2, kMinAcceptBackoff, kMaxAcceptBackoff);
  LogEvent("warn", "metrics_accept_failed",
           {{"address", address()},
            {"error", error.message()},
            {"retry_ms", std::to_string(backoff_.count())}});
  retry_timer_.expires_after(backoff_);
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && acceptor_.is_open()) Accept();
  });
}

}  // namespace maskfeed
