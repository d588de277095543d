// TLS and mutual TLS end to end: a real server with certificates made at test time by
// openssl (tests/testing/make_test_pki.sh), real C++ clients with and without the right
// credentials, and the Unix socket's mode and group.
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "client/cpp/feed.h"
#include "client/cpp/feed_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/feed_server.h"
#include "tests/testing/server_fixture.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TempDir();
    const std::string command =
        std::string(MASKFEED_SOURCE_DIR "/tests/testing/make_test_pki.sh ") + pki_->path().string();
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override { ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "d")); }

  static std::string Pki(const std::string& name) { return (pki_->path() / name).string(); }

  // A server on 127.0.0.1:0 with the server certificate; `client_ca` requires client certs.
  std::unique_ptr<FeedServer> Serve(bool client_ca) {
    v1::ServerConfig config = testing::SmallConfig(dir_ / "d", "127.0.0.1:0");
    config.mutable_tls()->set_cert_file(Pki("server.pem"));
    config.mutable_tls()->set_key_file(Pki("server.key"));
    if (client_ca) config.mutable_tls()->set_client_ca_file(Pki("ca.pem"));
    absl::StatusOr<v1::ServerConfig> finalized = FinalizeServerConfig(config);
    EXPECT_TRUE(finalized.ok()) << finalized.status();
    absl::StatusOr<std::unique_ptr<FeedServer>> server = FeedServer::Start(*finalized);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  static ChannelTls Tls(const std::string& ca, const std::string& cert = "",
                        const std::string& key = "") {
    absl::StatusOr<ChannelTls> tls = LoadChannelTls(
        ca.empty() ? "" : Pki(ca), cert.empty() ? "" : Pki(cert), key.empty() ? "" : Pki(key));
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.ok() ? *tls : ChannelTls();
  }

  // Describe with a deadline: a refused handshake otherwise waits for connection retries.
  static absl::Status DescribeWith(const std::string& address, const ChannelTls* tls) {
    auto stub = v1::Feed::NewStub(MakeFeedChannel(address, tls));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::DescribeResponse response;
    return FromGrpcStatus(stub->Describe(&context, v1::DescribeRequest(), &response));
  }

  static std::vector<StreamBatch> ReadSome(const std::string& address, const ChannelTls* tls) {
    v1::StreamBatchesRequest r;
    r.set_batch_size(8);
    r.set_seed(4);
    r.set_max_batches(3);
    r.set_encoding(v1::ENCODING_PACKED);
    BatchReader reader(MakeFeedChannel(address, tls), r);
    std::vector<StreamBatch> got;
    EXPECT_TRUE(testing::ReadBatches(&reader, &got).ok());
    return got;
  }

  static TempDir* pki_;
  TempDir dir_;
};

TempDir* TlsTest::pki_ = nullptr;

TEST_F(TlsTest, TlsServesClientsThatTrustItsCaAndNoOthers) {
  std::unique_ptr<FeedServer> server = Serve(/*client_ca=*/false);
  ASSERT_NE(server, nullptr);
  const std::string address = server->addresses().front();
  const ChannelTls trusted = Tls("ca.pem");
  EXPECT_TRUE(DescribeWith(address, &trusted).ok());
  std::vector<StreamBatch> got = ReadSome(address, &trusted);
  ASSERT_EQ(got.size(), 3u);

  absl::Status plain = DescribeWith(address, nullptr);
  EXPECT_EQ(plain.code(), absl::StatusCode::kUnavailable) << plain;
  const ChannelTls wrong_ca = Tls("rogue-ca.pem");
  absl::Status rogue = DescribeWith(address, &wrong_ca);
  EXPECT_EQ(rogue.code(), absl::StatusCode::kUnavailable) << rogue;
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateFromItsCa) {
  std::unique_ptr<FeedServer> server = Serve(/*client_ca=*/true);
  ASSERT_NE(server, nullptr);
  const std::string address = server->addresses().front();
  const ChannelTls client = Tls("ca.pem", "client.pem", "client.key");
  EXPECT_TRUE(DescribeWith(address, &client).ok());
  EXPECT_EQ(ReadSome(address, &client).size(), 3u);

  const ChannelTls anonymous = Tls("ca.pem");
  EXPECT_FALSE(DescribeWith(address, &anonymous).ok()) << "no client certificate";
  const ChannelTls rogue = Tls("ca.pem", "rogue-client.pem", "rogue-client.key");
  EXPECT_FALSE(DescribeWith(address, &rogue).ok()) << "a certificate from another CA";
}

TEST_F(TlsTest, TheFeedStreamsOverMutualTls) {
  std::unique_ptr<FeedServer> server = Serve(/*client_ca=*/true);
  ASSERT_NE(server, nullptr);
  FeedOptions options;
  options.addresses = {server->addresses().front()};
  options.tls = Tls("ca.pem", "client.pem", "client.key");
  options.request.set_batch_size(8);
  options.request.set_seed(4);
  options.request.set_max_batches(3);
  options.request.set_encoding(v1::ENCODING_PACKED);
  absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(options);
  ASSERT_TRUE(feed.ok());
  const std::vector<StreamBatch> expected = ReadSome(server->addresses().front(), &*options.tls);
  for (const StreamBatch& want : expected) {
    absl::StatusOr<std::optional<StreamBatch>> next = (*feed)->Next();
    ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
    EXPECT_TRUE(testing::SameBatch((*next)->batch, want.batch));
  }
}

TEST_F(TlsTest, BadTlsFilesAreNamed) {
  absl::StatusOr<ChannelTls> missing = LoadChannelTls(Pki("nope.pem"), "", "");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(missing.status()), HasSubstr("nope.pem"));
  EXPECT_EQ(LoadChannelTls("", Pki("client.pem"), "").status().code(),
            absl::StatusCode::kInvalidArgument)
      << "a certificate without its key";

  v1::ServerConfig config = testing::SmallConfig(dir_ / "d", "127.0.0.1:0");
  config.mutable_tls()->set_cert_file(Pki("server.pem"));
  config.mutable_tls()->set_key_file(Pki("ca.srl"));  // not PEM
  absl::StatusOr<std::unique_ptr<FeedServer>> server = FeedServer::Start(config);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(Message(server.status()), HasSubstr("tls.key_file"));
  EXPECT_THAT(Message(server.status()), HasSubstr("not a PEM file"));
}

TEST_F(TlsTest, UnixSocketsGetTheirModeAndGroup) {
  const std::string path = dir_ / "feed.sock";
  v1::ServerConfig config = testing::SmallConfig(dir_ / "d", "unix:" + path);
  config.set_socket_mode("0660");
  group* own = ::getgrgid(::getgid());
  ASSERT_NE(own, nullptr);
  config.set_socket_group(own->gr_name);  // by name; a group we belong to
  absl::StatusOr<v1::ServerConfig> finalized = FinalizeServerConfig(config);
  ASSERT_TRUE(finalized.ok()) << finalized.status();
  absl::StatusOr<std::unique_ptr<FeedServer>> server = FeedServer::Start(*finalized);
  ASSERT_TRUE(server.ok()) << server.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_gid, ::getgid());
  EXPECT_TRUE(DescribeFeed(MakeFeedChannel("unix:" + path)).ok());
  (*server)->Shutdown();

  config.set_socket_group("no-such-group-here");
  finalized = FinalizeServerConfig(config);
  ASSERT_TRUE(finalized.ok());
  server = FeedServer::Start(*finalized);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(Message(server.status()), HasSubstr("socket_group: no group named"));
}

}  // namespace
}  // namespace maskfeed
