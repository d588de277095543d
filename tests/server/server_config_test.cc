#include "server/server_config.h"

#include "frontend/malloc_tuning.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::maskfeed::testing::WriteFile;
using ::testing::HasSubstr;

v1::ServerConfig Parse(const std::string& text) {
  absl::StatusOr<v1::ServerConfig> c = ParseServerConfig(text);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : v1::ServerConfig();
}

TEST(ServerConfigTest, FillsDefaults) {
  absl::StatusOr<v1::ServerConfig> c =
      FinalizeServerConfig(Parse(R"(dataset { name: "a" path: "/data/a" preset: "4m-7-tokens" })"));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->listen_size(), 1);
  EXPECT_EQ(c->listen(0), "127.0.0.1:50051") << "loopback by default, never all interfaces";
  EXPECT_EQ(c->metrics_listen(), "127.0.0.1:9464");
  EXPECT_GE(c->threads(), 1u);
  EXPECT_EQ(c->limits().max_streams(), kDefaultMaxStreams);
  EXPECT_EQ(c->limits().max_batch_size(), kDefaultMaxBatchSize);
  EXPECT_EQ(c->limits().max_buffered_bytes(), UsableMemoryBytes() / 2) << "half of memory";
  EXPECT_EQ(c->dataset(0).masking().preset(), "4m-7-tokens");
}

TEST(ServerConfigTest, NonLoopbackTcpNeedsTlsOrAnExplicitInsecureFlag) {
  const std::string data = R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } )";
  for (const char* ok :
       {R"(listen: "127.0.0.1:1" listen: "[::1]:2" listen: "localhost:3" listen: "unix:/s")",
        R"(listen: "0.0.0.0:1" allow_insecure_tcp: true)",
        R"(listen: "0.0.0.0:1" tls { cert_file: "c.pem" key_file: "k.pem" })",
        R"(listen: "10.0.0.7:1" tls { cert_file: "c" key_file: "k" client_ca_file: "ca" })"}) {
    absl::StatusOr<v1::ServerConfig> c = FinalizeServerConfig(Parse(data + ok));
    EXPECT_TRUE(c.ok()) << ok << ": " << c.status();
  }
}

TEST(ServerConfigTest, ErrorsNameTheField) {
  struct Case {
    std::string text, field;
  } cases[] = {
      {"", "dataset: at least one"},
      {R"(dataset { path: "/x" preset: "4m-7-tokens" })", "dataset[0].name"},
      {R"(dataset { name: "a" preset: "4m-7-tokens" })", "dataset[0].path"},
      {R"(dataset { name: "a" path: "/x" })", "dataset[0]: needs a preset"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" }
          dataset { name: "a" path: "/y" preset: "4m-7-tokens" })",
       "dataset[1].name: 'a' is used twice"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" }
          mixture { name: "m" component { dataset: "zz" weight: 1 } })",
       "mixture[0].component[0].dataset: 'zz'"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" }
          mixture { name: "m" component { dataset: "a" weight: 0 } })",
       "mixture[0].component[0].weight"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" }
          mixture { name: "m" component { dataset: "a" weight: inf } })",
       "mixture[0].component[0].weight: must be finite"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" }
          mixture { name: "m" component { dataset: "a" weight: nan } })",
       "mixture[0].component[0].weight"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" }
          dataset { name: "b" path: "/x" preset: "4m-7-tokens" }
          mixture { name: "m" component { dataset: "a" weight: 1e308 }
                    component { dataset: "b" weight: 1e308 } })",
       "mixture[0].component: the weights sum to more than a double holds"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } listen: "nowhere")", "listen[0]"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } listen: "h:99999")", "listen[0]"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } metrics_listen: "unix:/m")",
       "metrics_listen"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } limits { max_batch_size: 100000 })",
       "limits.max_batch_size"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } limits { shutdown_grace_s: 4294967295 })",
       "limits.shutdown_grace_s: must be in 1..3600, got 4294967295"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } listen: "dns:///localhost:50051")",
       "listen[0]"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } limits { max_buffered_bytes: 4096 })",
       "limits.max_buffered_bytes: must be in 1048576.."},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } listen: "0.0.0.0:50051")",
       "listen[0]: 0.0.0.0:50051 is reachable from other machines and TLS is off"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } listen: "[::]:1")",
       "--allow-insecure-tcp"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } tls { cert_file: "c.pem" })",
       "tls.key_file: TLS needs both"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } tls { client_ca_file: "ca.pem" })",
       "tls.client_ca_file"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" } socket_mode: "999")",
       "socket_mode"},
      {R"(dataset { name: "a" path: "/x" data_path: "/d/[a,b]/s-0.tar" preset: "4m-7-tokens" })",
       "dataset[0]: path and data_path: give one or the other"},
      {R"(dataset { name: "a" path: "/x" modality_name_map { key: "f" value: "g" }
                    preset: "4m-7-tokens" })",
       "dataset[0].modality_name_map: goes with data_path"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" n_repeats: 9 } limits { max_repeats: 4 })",
       "dataset[0].n_repeats: 9 exceeds limits.max_repeats (4)"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" canonical_nodes: 4 })",
       "dataset[0].node_batch: 0"},
      {R"(dataset { name: "a" path: "/x" preset: "4m-7-tokens" canonical_nodes: 70000
                    node_batch: 8 })",
       "dataset[0].canonical_nodes: 70000 is over 65536"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::ServerConfig> r = FinalizeServerConfig(Parse(c.text));
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(Message(r.status()), HasSubstr(c.field)) << c.text;
  }
}

TEST(ServerConfigTest, FileErrorsNameTheFileAndPosition) {
  TempDir dir;
  EXPECT_EQ(LoadServerConfigFile(dir / "missing.textproto").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_NO_FATAL_FAILURE(
      WriteFile(dir / "bad.textproto", "dataset {\n  name: \"a\"\n  bogus: 1\n}\n"));
  absl::StatusOr<v1::ServerConfig> bad = LoadServerConfigFile(dir / "bad.textproto");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(Message(bad.status()), HasSubstr("bad.textproto"));
  EXPECT_THAT(Message(bad.status()), HasSubstr("line 3"));
  EXPECT_THAT(Message(bad.status()), HasSubstr("bogus"));
}

TEST(ServerConfigTest, ListenAddressesAreCheckedNamingTheField) {
  auto finalize = [](const std::string& listen, const std::string& metrics) {
    v1::ServerConfig config;
    v1::DatasetConfig* d = config.add_dataset();
    d->set_name("a");
    d->set_path("/data/a");
    d->set_preset("4m-7-tokens");
    config.add_listen(listen);
    config.set_metrics_listen(metrics);
    return FinalizeServerConfig(config).status();
  };
  EXPECT_TRUE(finalize("127.0.0.1:0", "127.0.0.1:0").ok());
  EXPECT_TRUE(finalize("[::1]:50051", "off").ok());
  EXPECT_TRUE(finalize("unix:/run/x.sock", "[::1]:0").ok());
  for (const char* bad : {"unix:", ":80", "host"}) {
    const absl::Status s = finalize(bad, "off");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(Message(s), HasSubstr("listen[0]")) << s;
  }
  const absl::Status unix_metrics = finalize("127.0.0.1:0", "unix:/run/m.sock");
  EXPECT_THAT(Message(unix_metrics), HasSubstr("metrics_listen")) << unix_metrics;
}

}  // namespace
}  // namespace maskfeed
