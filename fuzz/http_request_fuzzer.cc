// The metrics endpoint's request path: Beast's parser with the endpoint's limits, then the
// endpoint's own routing and answer.
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http.hpp"
#include "fuzz_util.h"
#include "server/http_endpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.header_limit(kMaxHttpHeaderBytes);
  parser.body_limit(kMaxHttpBodyBytes);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  const HttpHandlers handlers{.metrics = [] { return std::string("maskfeed_up 1\n"); },
                              .healthy = [] { return true; }};
  http::response<http::string_body> response = AnswerHttp(parser.get(), handlers);
  fuzz::Check(response.result_int() >= 200 && response.result_int() < 600, "a status code");
  return 0;
}
