// A real HTTP server for tests: Debian's nginx serving a folder (GET, HEAD and ranges) on a
// free port of 127.0.0.1, in the foreground, with its logs and temp files in the test's
// folder. Tests skip, loudly, where nginx is not installed.
#ifndef MASKFEED_TESTS_TESTING_NGINX_SERVER_H_
#define MASKFEED_TESTS_TESTING_NGINX_SERVER_H_

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "tests/testing/moto_server.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_util.h"

namespace maskfeed::testing {

class NginxServer {
 public:
  // With TLS: the server's certificate and key (PEM), and the CA that signed it (what the
  // server's own readiness check trusts).
  struct Tls {
    std::string certificate, key, ca;
  };

  // Serves `root` at http://127.0.0.1:PORT/ (https:// with `tls`); `work` holds its config,
  // logs and temp folders. Null (and a message on stderr) when nginx is not installed or does
  // not start.
  static std::unique_ptr<NginxServer> Start(const std::string& root, const std::string& work,
                                            const std::optional<Tls>& tls = std::nullopt) {
    std::string program = FindProgram("nginx", "MASKFEED_NGINX");
    if (program.empty() && ::access("/usr/sbin/nginx", X_OK) == 0) program = "/usr/sbin/nginx";
    if (program.empty()) {
      std::fprintf(stderr,
                   "\n*** nginx NOT FOUND: the HTTP(S) storage tests are SKIPPED (install "
                   "nginx-light, or set MASKFEED_NGINX) ***\n\n");
      return nullptr;
    }
    auto s = std::unique_ptr<NginxServer>(new NginxServer);
    s->port_ = FreeTcpPort();
    s->tls_ = tls.has_value();
    const std::string listen =
        std::to_string(s->port_) + (tls ? " ssl;\n    ssl_certificate " + tls->certificate +
                                              ";\n    ssl_certificate_key " + tls->key + ";\n"
                                        : ";\n");
    std::filesystem::create_directories(work);
    const std::string conf = work + "/nginx.conf";
    // As root, nginx's workers would switch to an unprivileged user that cannot read a test's
    // private temporary folder.
    WriteFile(conf, std::string(::geteuid() == 0 ? "user root;\n" : "") +
                        "master_process off;\n"  // one process: a kill leaves no workers behind
                        "worker_processes 1;\n"
                        "error_log " +
                        work +
                        "/error.log;\n"
                        "pid " +
                        work +
                        "/nginx.pid;\n"
                        "events { worker_connections 256; }\n"
                        "http {\n"
                        "  access_log " +
                        work +
                        "/access.log;\n"
                        "  client_body_temp_path " +
                        work +
                        "/body;\n"
                        "  proxy_temp_path " +
                        work +
                        "/proxy;\n"
                        "  fastcgi_temp_path " +
                        work +
                        "/fastcgi;\n"
                        "  uwsgi_temp_path " +
                        work +
                        "/uwsgi;\n"
                        "  scgi_temp_path " +
                        work +
                        "/scgi;\n"
                        "  types { application/json json; }\n"
                        "  default_type application/octet-stream;\n"
                        "  server {\n"
                        "    listen 127.0.0.1:" +
                        listen + "    root " + root +
                        ";\n"
                        "  }\n"
                        "}\n");
    s->process_ = std::make_unique<Subprocess>(
        std::vector<std::string>{program, "-p", work, "-c", conf, "-g", "daemon off;"},
        work + "/stdout.log");
    // nginx prints nothing when it starts: wait until the port answers.
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<HttpResponse> r =
          HttpFetch({.method = "GET", .url = s->endpoint() + "/", .headers = {}, .body = ""},
                    {.ca_file = tls ? tls->ca : ""});
      if (r.ok()) return s;
      usleep(50000);
    }
    std::fprintf(stderr, "nginx did not start:\n%s\n", ReadFile(work + "/error.log").c_str());
    return nullptr;
  }

  std::string endpoint() const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
  }
  int port() const { return port_; }

 private:
  NginxServer() = default;
  int port_ = 0;
  bool tls_ = false;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_NGINX_SERVER_H_
