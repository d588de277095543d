// A running maskfeed server: the TBB arena, the metrics registry, the Feed service behind
// gRPC (with the standard health service and reflection) on every listen address, and the
// HTTP /metrics and /healthz endpoint on its own small thread. maskfeed-server's main wraps
// this with signal handling; tests start it in-process on port 0 or a Unix socket.
//
//   absl::StatusOr<std::unique_ptr<FeedServer>> server = FeedServer::Start(config);
//   connect to (*server)->addresses()[0] ...
//   (*server)->Shutdown();  // drain: streams end with UNAVAILABLE + resume token
#ifndef MASKFEED_SERVER_FEED_SERVER_H_
#define MASKFEED_SERVER_FEED_SERVER_H_

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "grpcpp/server.h"
#include "server/feed_service.h"
#include "server/grpc_feed_service.h"
#include "server/http_endpoint.h"

namespace maskfeed {

struct FeedServerOptions {
  // When the metrics address cannot be bound: fail (false) or log a warning and serve without
  // it (true; for the default address, which another process may hold).
  bool metrics_optional = false;
};

class FeedServer {
 public:
  // Requires: `config` went through FinalizeServerConfig. Errors name the dataset or address.
  static absl::StatusOr<std::unique_ptr<FeedServer>> Start(const v1::ServerConfig& config,
                                                           FeedServerOptions options = {});
  ~FeedServer();  // shuts down if still running

  // The gRPC addresses actually bound (port 0 resolved), in config order.
  const std::vector<std::string>& addresses() const { return addresses_; }
  // "host:port" of /metrics, empty when off.
  std::string metrics_address() const;
  FeedService& service() { return *service_; }

  // Refuses new streams, reports NOT_SERVING, ends live streams with UNAVAILABLE and their
  // resume token, waits up to limits.shutdown_grace_s for them, cancels the rest, then stops
  // the HTTP endpoint. Idempotent; returns when everything has stopped.
  void Shutdown();

 private:
  FeedServer() = default;

  v1::ServerConfig config_;
  std::unique_ptr<tbb::task_arena> arena_;
  std::unique_ptr<MetricsRegistry> registry_;
  std::unique_ptr<FeedService> service_;
  std::unique_ptr<GrpcFeedService> grpc_service_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::string> addresses_;
  boost::asio::io_context io_;
  std::unique_ptr<HttpEndpoint> http_;
  std::thread io_thread_;
  std::mutex shutdown_mu_;
  bool shut_down_ = false;  // guarded by shutdown_mu_
};

}  // namespace maskfeed

#endif  // MASKFEED_SERVER_FEED_SERVER_H_
