#include "server/feed_server.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "boost/asio/executor_work_guard.hpp"
#include "grpc/grpc.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "pipeline/base/address.h"
#include "pipeline/base/log.h"
#include "pipeline/base/pem_file.h"
#include "pipeline/base/strings.h"
#include "pipeline/base/unique_fd.h"
#include "server/server_config.h"

namespace maskfeed {
namespace {

constexpr char kFeedServiceName[] = "maskfeed.v1.Feed";
// After every stream has finished its call: how long gRPC may take to flush the last statuses.
constexpr std::chrono::milliseconds kFinalFlush(500);

// A Unix socket path left behind by a server that died is removed; one a live server listens
// on is reported.
// Binding failures are said precisely here, before gRPC (which reports only that it could
// not listen): a path too long for sockaddr_un, a missing or unwritable directory.
absl::Status PrepareUnixSocket(const std::string& address, const std::string& path) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sun.sun_path)) {
    return absl::InvalidArgumentError(StrCat("listen ", address, ": the socket path is ",
                                             path.size(), " bytes; Unix sockets allow at most ",
                                             sizeof(sun.sun_path) - 1));
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(
        StrCat("listen ", address, ": the directory ", dir, " does not exist"));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    const int err = errno;
    return absl::PermissionDeniedError(
        StrCat("listen ", address, ": cannot create a socket in ", dir, ": ", std::strerror(err)));
  }
  if (::lstat(path.c_str(), &st) != 0) return absl::OkStatus();
  if (!S_ISSOCK(st.st_mode)) {
    return absl::AlreadyExistsError(
        StrCat("listen ", address, ": ", path, " exists and is not a socket"));
  }
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  const UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0) {
    return absl::AlreadyExistsError(
        StrCat("listen ", address, ": another server is listening on this socket"));
  }
  ::unlink(path.c_str());
  return absl::OkStatus();
}

// TLS credentials for the TCP listeners, or insecure ones when tls is not configured.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TcpCredentials(const v1::TlsConfig& tls) {
  if (tls.cert_file().empty()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadPemFile("tls.cert_file", tls.cert_file());
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile("tls.key_file", tls.key_file());
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca_file().empty()) {
    absl::StatusOr<std::string> ca = ReadPemFile("tls.client_ca_file", tls.client_ca_file());
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

// Applies socket_mode and socket_group to a bound Unix socket.
absl::Status SetSocketAccess(const v1::ServerConfig& config, const std::string& path) {
  if (!config.socket_group().empty()) {
    const std::string& name = config.socket_group();
    gid_t gid = 0;
    if (name.find_first_not_of("0123456789") == std::string::npos && name.size() <= 9) {
      gid = static_cast<gid_t>(std::stoul(name));
    } else {
      group entry{};
      group* found = nullptr;
      std::vector<char> buffer(16384);
      if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
          found == nullptr) {
        return absl::NotFoundError(StrCat("socket_group: no group named '", Printable(name), "'"));
      }
      gid = found->gr_gid;
    }
    if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
      const int err = errno;
      return absl::PermissionDeniedError(
          StrCat("socket_group: cannot give ", path, " to group ", name, ": ", std::strerror(err)));
    }
  }
  if (!config.socket_mode().empty()) {
    const auto mode = static_cast<mode_t>(std::stoul(config.socket_mode(), nullptr, 8));
    if (::chmod(path.c_str(), mode) != 0) {
      const int err = errno;
      return absl::PermissionDeniedError(StrCat("socket_mode: cannot set ", config.socket_mode(),
                                                " on ", path, ": ", std::strerror(err)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FeedServer>> FeedServer::Start(const v1::ServerConfig& config,
                                                              FeedServerOptions options) {
  std::unique_ptr<FeedServer> s(new FeedServer());
  s->config_ = config;
  s->arena_ = std::make_unique<tbb::task_arena>(static_cast<int>(config.threads()));
  s->registry_ = std::make_unique<MetricsRegistry>();
  absl::StatusOr<std::unique_ptr<FeedService>> service =
      FeedService::Create(config, s->arena_.get(), s->registry_.get());
  if (!service.ok()) return service.status();
  s->service_ = std::move(*service);
  s->grpc_service_ = std::make_unique<GrpcFeedService>(s->service_.get());

  // Keep gRPC initialised for the life of the process: otherwise destroying the last server
  // shuts the library down, which can wait ~10 s for an idle executor thread (gRPC 1.51).
  static const bool kGrpcInitialised = [] {
    grpc_init();
    return true;
  }();
  (void)kGrpcInitialised;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tcp_credentials =
      TcpCredentials(config.tls());
  if (!tcp_credentials.ok()) return tcp_credentials.status();
  grpc::ServerBuilder builder;
  std::vector<int> ports(config.listen_size(), 0);
  std::vector<Address> bound;
  for (int i = 0; i < config.listen_size(); ++i) {
    const std::string& address = config.listen(i);
    absl::StatusOr<Address> parsed = ParseAddress(StrCat("listen[", i, "]"), address);
    if (!parsed.ok()) return parsed.status();
    if (parsed->is_unix()) {
      if (absl::Status p = PrepareUnixSocket(address, parsed->path); !p.ok()) return p;
    }
    bound.push_back(*parsed);
    builder.AddListeningPort(
        address, parsed->is_unix() ? grpc::InsecureServerCredentials() : *tcp_credentials,
        &ports[i]);
  }
  builder.SetMaxSendMessageSize(static_cast<int>(s->service_->max_message_bytes()));
  // Clients ping every 10 s to notice a frozen server (MakeFeedChannel, the Python Feed):
  // accept pings that often, and never count them as abuse.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.RegisterService(s->grpc_service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr) {
    std::string all;
    for (const std::string& a : config.listen()) StrAppend(&all, all.empty() ? "" : ", ", a);
    return absl::UnavailableError(StrCat("cannot listen on ", all,
                                         " (a TCP port in use, or a host that is not an "
                                         "address of this machine)"));
  }
  for (int i = 0; i < config.listen_size(); ++i) {
    if (ports[i] == 0) {
      return absl::UnavailableError(StrCat("cannot listen on ", config.listen(i)));
    }
    if (bound[i].is_unix()) {
      if (absl::Status a = SetSocketAccess(config, bound[i].path); !a.ok()) return a;
    } else {
      bound[i].port = static_cast<uint16_t>(ports[i]);
    }
    s->addresses_.push_back(bound[i].ToString());
  }
  s->server_->GetHealthCheckService()->SetServingStatus(kFeedServiceName, true);

  if (config.metrics_listen() != "off") {
    FeedService* feed = s->service_.get();
    absl::StatusOr<std::unique_ptr<HttpEndpoint>> http =
        HttpEndpoint::Start(&s->io_, config.metrics_listen(),
                            HttpHandlers{.metrics = [feed] { return feed->RenderPrometheus(); },
                                         .healthy = [feed] { return !feed->draining(); }});
    if (http.ok()) {
      s->http_ = std::move(*http);
    } else if (options.metrics_optional) {
      LogEvent("warn", "metrics_disabled",
               {{"reason", std::string(ToStd(http.status().message()))}});
    } else {
      return http.status();
    }
  }
  s->io_thread_ = std::thread([io = &s->io_] {
    auto guard = boost::asio::make_work_guard(*io);
    io->run();
  });
  for (size_t i = 0; i < s->addresses_.size(); ++i) {
    std::string security = "unix-socket";
    if (!bound[i].is_unix()) {
      security = config.tls().cert_file().empty()        ? "plaintext"
                 : config.tls().client_ca_file().empty() ? "tls"
                                                         : "mutual-tls";
    }
    LogEvent("info", "listening", {{"address", s->addresses_[i]}, {"security", security}});
  }
  if (s->http_ != nullptr) {
    LogEvent("info", "metrics_listening", {{"address", s->http_->address()}});
  }
  return s;
}

FeedServer::~FeedServer() { Shutdown(); }

std::string FeedServer::metrics_address() const { return http_ != nullptr ? http_->address() : ""; }

void FeedServer::Shutdown() {
  std::lock_guard<std::mutex> lock(shutdown_mu_);
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  const auto start = std::chrono::steady_clock::now();
  LogEvent("info", "shutdown_begin",
           {{"active_streams", std::to_string(service_->active_streams())}});
  service_->BeginShutdown();
  server_->GetHealthCheckService()->Shutdown();
  // Streams end on their own now (UNAVAILABLE + token); give them the grace period to send
  // their last batch and status. gRPC's own graceful shutdown then waits for every client
  // connection to acknowledge, which an idle client never does, so it gets only a moment.
  const auto grace = start + std::chrono::seconds(config_.limits().shutdown_grace_s());
  grpc_service_->WaitForPumpsUntil(grace);
  const auto moment = std::min(std::chrono::steady_clock::now() + kFinalFlush, grace);
  server_->Shutdown(std::chrono::system_clock::now() +
                    (moment - std::chrono::steady_clock::now()));  // gRPC takes system_clock
  server_->Wait();
  grpc_service_->WaitForPumps();
  server_.reset();
  grpc_service_.reset();
  io_.stop();
  if (io_thread_.joinable()) io_thread_.join();
  http_.reset();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  LogEvent("info", "shutdown_done", {{"ms", std::to_string(ms)}});
}

}  // namespace maskfeed
