// A real S3 server for tests: moto's `moto_server` (it checks SigV4 signatures) on a free
// port of 127.0.0.1. Tests skip, loudly, where it is not installed.
#ifndef MASKFEED_TESTS_TESTING_MOTO_SERVER_H_
#define MASKFEED_TESTS_TESTING_MOTO_SERVER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "pipeline/storage/http_client.h"
#include "pipeline/storage/s3_client.h"
#include "pipeline/storage/sigv4.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_util.h"

namespace maskfeed::testing {

// The program `name` on PATH ($MASKFEED_<NAME> first); empty when absent.
inline std::string FindProgram(const std::string& name, const char* override_env) {
  if (const char* p = std::getenv(override_env); p != nullptr && *p != '\0') return p;
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "" : path, ':')) {
    const std::filesystem::path candidate = std::filesystem::path(std::string(dir)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

// A TCP port on 127.0.0.1 nobody listened on a moment ago.
inline int FreeTcpPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class MotoServer {
 public:
  // Null (and a message on stderr) when moto_server is not installed.
  static std::unique_ptr<MotoServer> Start(const std::string& log_path) {
    const std::string program = FindProgram("moto_server", "MASKFEED_MOTO_SERVER");
    if (program.empty()) {
      std::fprintf(stderr,
                   "\n*** moto_server NOT FOUND: the S3 tests are SKIPPED (install moto, or set "
                   "MASKFEED_MOTO_SERVER) ***\n\n");
      return nullptr;
    }
    auto s = std::unique_ptr<MotoServer>(new MotoServer);
    s->port_ = FreeTcpPort();
    s->process_ = std::make_unique<Subprocess>(
        std::vector<std::string>{program, "-H", "127.0.0.1", "-p", std::to_string(s->port_)},
        log_path);
    if (!s->process_->WaitForLog("Running on", std::chrono::seconds(60))) {
      std::fprintf(stderr, "moto_server did not start:\n%s\n", s->process_->log().c_str());
      return nullptr;
    }
    return s;
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Points the standard AWS_* variables (what S3ConfigFromEnvironment reads) at this server,
  // with test credentials, in region us-east-1.
  void SetAwsEnvironment() const {
    setenv("AWS_ENDPOINT_URL", endpoint().c_str(), 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t", 1);
    setenv("AWS_REGION", "us-east-1", 1);
  }

  // SetAwsEnvironment(), then a client of this server with `bucket` created in it; null (and a
  // test failure) on error.
  std::unique_ptr<S3Client> ClientWithBucket(const std::string& bucket) const {
    SetAwsEnvironment();
    absl::StatusOr<S3Config> config = S3ConfigFromEnvironment();
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return nullptr;
    auto client = std::make_unique<S3Client>(*config);
    const absl::Status created = client->CreateBucket(bucket);
    EXPECT_TRUE(created.ok()) << created;
    return created.ok() ? std::move(client) : nullptr;
  }

  // From now on every request must carry a valid SigV4 signature of an IAM user's key (moto
  // checks none until told to): creates a user allowed everything and its access key, then
  // turns enforcement on. The key, or an empty one (and a test failure) on error.
  AwsCredentials EnforceSignatures() {
    const std::string user = "maskfeed-test";
    Iam("Action=CreateUser&UserName=" + user);
    const std::string created = Iam("Action=CreateAccessKey&UserName=" + user);
    Iam("Action=PutUserPolicy&UserName=" + user + "&PolicyName=all&PolicyDocument=" +
        UriEncode(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",)"
                  R"("Resource":"*"}]})",
                  false));
    AwsCredentials key{
        .access_key_id = Between(created, "<AccessKeyId>", "</AccessKeyId>"),
        .secret_access_key = Between(created, "<SecretAccessKey>", "</SecretAccessKey>"),
        .session_token = ""};
    HttpRequest enforce{.method = "POST",
                        .url = endpoint() + "/moto-api/reset-auth",
                        .headers = {{"Content-Type", "text/plain"}},
                        .body = "0"};
    absl::StatusOr<HttpResponse> r = HttpFetch(enforce);
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
    EXPECT_FALSE(key.access_key_id.empty()) << created;
    return key;
  }
  int port() const { return port_; }

 private:
  MotoServer() = default;

  // An IAM query (form body) to moto, signed for the iam service so that moto routes it.
  std::string Iam(const std::string& form) {
    const std::string body = form + "&Version=2010-05-08";
    SigV4Request r{.method = "POST",
                   .host = "127.0.0.1:" + std::to_string(port_),
                   .path = "/",
                   .query = {},
                   .headers = {{"content-type", "application/x-www-form-urlencoded"}},
                   .payload_sha256 = Sha256Hex(body)};
    HttpRequest http{.method = "POST", .url = endpoint() + "/", .headers = r.headers, .body = body};
    for (auto& h : SignV4(
             r, {.access_key_id = "AKIDSETUP", .secret_access_key = "setup", .session_token = ""},
             "us-east-1", "iam", AmzDate(std::chrono::system_clock::now()))) {
      http.headers.push_back(std::move(h));
    }
    absl::StatusOr<HttpResponse> response = HttpFetch(http);
    EXPECT_TRUE(response.ok() && response->status == 200)
        << form << ": " << (response.ok() ? response->body : response.status().ToString());
    return response.ok() ? response->body : "";
  }

  static std::string Between(const std::string& s, const std::string& a, const std::string& b) {
    const size_t i = s.find(a);
    if (i == std::string::npos) return "";
    const size_t j = s.find(b, i + a.size());
    return j == std::string::npos ? "" : s.substr(i + a.size(), j - i - a.size());
  }
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_MOTO_SERVER_H_
