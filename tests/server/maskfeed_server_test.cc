// maskfeed-server as users run it: a real process, real clients, real signals.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "client/cpp/feed_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/unique_fd.h"
#include "tests/testing/http_get.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/subprocess.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::HttpGet;
using ::maskfeed::testing::Subprocess;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

constexpr auto kStartTimeout = std::chrono::seconds(60);

class MaskfeedServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Subprocess> Spawn(std::vector<std::string> args,
                                    std::vector<std::string> env = {}) {
    args.insert(args.begin(), MASKFEED_SERVER_BIN);
    return std::make_unique<Subprocess>(
        args, dir_ / ("server-" + std::to_string(++spawned_) + ".log"), env);
  }

  TempDir dir_;
  int spawned_ = 0;
};

TEST_F(MaskfeedServerTest, SigtermDuringStreamingExitsZeroAndClientsResume) {
  ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "d"));
  const std::string socket = "unix:" + (dir_ / "feed.sock");
  std::unique_ptr<Subprocess> server =
      Spawn({"--data", dir_ / "d", "--listen", socket, "--listen", "127.0.0.1:0",
             "--metrics-listen", "127.0.0.1:0", "--threads", "2"});
  ASSERT_TRUE(server->WaitForLog("event=ready", kStartTimeout)) << server->log();
  EXPECT_THAT(server->log(), HasSubstr("event=listening address=" + socket));
  const std::string metrics = server->LogValue("metrics_listening", "address");
  EXPECT_EQ(HttpGet(metrics, "/healthz").status, 200);

  v1::StreamBatchesRequest request;
  request.set_batch_size(16);
  request.set_seed(2);
  request.set_encoding(v1::ENCODING_PACKED);
  BatchReader reader(MakeFeedChannel(socket), request);
  std::vector<StreamBatch> got;
  ASSERT_TRUE(testing::ReadBatches(&reader, &got, 3).ok());
  ASSERT_EQ(got.size(), 3u);
  server->Signal(SIGTERM);
  const absl::Status end = testing::ReadBatches(&reader, &got);
  EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable) << end;
  EXPECT_EQ(reader.resume_token(), got.back().resume_token);
  EXPECT_EQ(server->Wait(std::chrono::seconds(10)), 0) << server->log();
  EXPECT_THAT(server->log(), HasSubstr("event=signal signal=SIGTERM"));
  EXPECT_THAT(server->log(), HasSubstr("event=stream_close"));
  EXPECT_THAT(server->log(), HasSubstr("event=shutdown_done"));

  // A fresh server on the same socket path continues the stream exactly.
  std::unique_ptr<Subprocess> second =
      Spawn({"--data", dir_ / "d", "--listen", socket, "--metrics-listen", "off"});
  ASSERT_TRUE(second->WaitForLog("event=ready", kStartTimeout)) << second->log();
  request.set_resume_token(reader.resume_token());
  request.set_max_batches(1);
  BatchReader resumed(MakeFeedChannel(socket), request);
  absl::StatusOr<std::optional<StreamBatch>> next = resumed.Next();
  ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
  EXPECT_EQ((*next)->sequence, got.size());
  // The same batch an uninterrupted stream gives at that position.
  v1::StreamBatchesRequest straight = request;
  straight.clear_resume_token();
  straight.set_max_batches(got.size() + 1);
  BatchReader uninterrupted(MakeFeedChannel(socket), straight);
  std::vector<StreamBatch> all;
  ASSERT_TRUE(testing::ReadBatches(&uninterrupted, &all).ok());
  std::optional<StreamBatch> last;
  if (!all.empty()) last = std::move(all.back());
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(testing::SameBatch((*next)->batch, last->batch));
  second->Signal(SIGINT);
  EXPECT_EQ(second->Wait(std::chrono::seconds(10)), 0);
}

TEST_F(MaskfeedServerTest, EmbeddedDemoIsSynthesizedOnceIntoTheCache) {
  const std::string socket = "unix:" + (dir_ / "demo.sock");
  // Fewer samples than the default 2,000: JPEGs take a minute to write under the sanitizers.
  const std::vector<std::string> env = {"MASKFEED_CACHE_DIR=" + (dir_ / "cache"),
                                        "MASKFEED_DEMO_SAMPLES=240"};
  for (int run = 0; run < 2; ++run) {
    std::unique_ptr<Subprocess> server =
        Spawn({"--listen", socket, "--metrics-listen", "off"}, env);
    ASSERT_TRUE(server->WaitForLog("event=ready", kStartTimeout)) << server->log();
    EXPECT_EQ(server->log().find("event=demo_synthesize") != std::string::npos, run == 0)
        << "run " << run << ": " << server->log();
    absl::StatusOr<v1::DescribeResponse> d = DescribeFeed(MakeFeedChannel(socket));
    ASSERT_TRUE(d.ok()) << d.status();
    ASSERT_EQ(d->datasets_size(), 1);
    EXPECT_EQ(d->datasets(0).name(), "demo");
    EXPECT_EQ(d->datasets(0).num_samples(), 240u);
    EXPECT_EQ(d->datasets(0).preset(), "4m-7");  // the real recipe: rgb@224 pixels
    const auto& mods = d->datasets(0).modalities();
    const auto rgb = std::find_if(mods.begin(), mods.end(), [](const v1::ModalityLayout& m) {
      return m.name() == "rgb@224";
    });
    ASSERT_NE(rgb, mods.end());
    EXPECT_EQ(rgb->pixel_size(), 224u);
    EXPECT_EQ(rgb->token_dtype(), v1::DTYPE_UINT8);
    if (run == 1) {  // it streams: pixels decoded from the demo's JPEGs, text tokenized
      v1::StreamBatchesRequest request;
      request.set_dataset("demo");
      request.set_batch_size(8);
      request.set_max_batches(2);
      BatchReader reader(MakeFeedChannel(socket), request);
      std::vector<StreamBatch> got;
      ASSERT_TRUE(testing::ReadBatches(&reader, &got).ok());
      ASSERT_EQ(got.size(), 2u);
    }
    server->Signal(SIGTERM);
    EXPECT_EQ(server->Wait(std::chrono::seconds(10)), 0);
  }
}

TEST_F(MaskfeedServerTest, BadFlagsAndDataGiveClearErrors) {
  ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "d"));
  // An empty (or truncated) config must not serve the synthetic demo to a training run.
  ASSERT_NO_FATAL_FAILURE(testing::WriteFile(dir_ / "empty.textproto", ""));
  ASSERT_NO_FATAL_FAILURE(testing::WriteFile(dir_ / "listen-only.textproto",
                                             "listen: \"unix:" + (dir_ / "y.sock") + "\"\n"));
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string text;
  } cases[] = {
      {{"--bogus"}, 2, "unknown flag --bogus"},
      {{"--data", dir_ / "nowhere", "--listen", "unix:" + (dir_ / "x.sock")}, 1, "nowhere"},
      {{"--data", dir_ / "d", "--listen", "nowhere"}, 2, "listen[0]"},
      {{"--data", dir_ / "d", "--max-batch-size", "0"}, 2, "--max-batch-size"},
      {{"--config", dir_ / "missing.textproto"}, 1, "missing.textproto"},
      {{"--data", dir_ / "d", "--listen", "unix:/" + std::string(120, 'x')},
       1,
       "the socket path is 121 bytes; Unix sockets allow at most 107"},
      {{"--data", dir_ / "d", "--listen", "unix:" + (dir_ / "no/such/dir/s.sock")},
       1,
       "the directory " + (dir_ / "no/such/dir") + " does not exist"},
      {{"--config", dir_ / "empty.textproto", "--listen", "unix:" + (dir_ / "z.sock")},
       2,
       "empty.textproto: dataset: the config lists no dataset"},
      {{"--config", dir_ / "listen-only.textproto"}, 2, "lists no dataset"},
      // A pixel recipe on pre-tokenized data says which recipe serves it.
      {{"--data", dir_ / "d", "--preset", "4m-7", "--listen", "unix:" + (dir_ / "p.sock")},
       1,
       "pre-tokenized data without them is served by the -tokens presets (4m-7-tokens"},
      {{"--data", dir_ / "d", "--canonical-nodes", "2"}, 2, "--node-batch go together"},
      {{"--data", dir_ / "d", "--canonical-nodes", "0", "--node-batch", "8"},
       2,
       "--canonical-nodes"},
  };
  for (const Case& c : cases) {
    std::unique_ptr<Subprocess> server = Spawn(c.args);
    EXPECT_EQ(server->Wait(std::chrono::seconds(30)), c.code) << server->log();
    EXPECT_THAT(server->log(), HasSubstr(c.text));
  }
  std::unique_ptr<Subprocess> help = Spawn({"--help"});
  EXPECT_EQ(help->Wait(std::chrono::seconds(10)), 0);
  EXPECT_THAT(help->log(), HasSubstr("--metrics-listen"));
}

TEST_F(MaskfeedServerTest, ServesAConfigFileWithSeveralDatasets) {
  ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "a"));
  const std::string socket = "unix:" + (dir_ / "cfg.sock");
  ASSERT_NO_FATAL_FAILURE(testing::WriteFile(
      dir_ / "server.textproto",
      "dataset { name: \"a\" path: \"" + (dir_ / "a") +
          "\" preset: \"4m-7-tokens\" }\n"
          "dataset { name: \"b\" path: \"" +
          (dir_ / "a") +
          "\" masking { preset: \"4m-7-tokens\" input_tokens { max: 64 min: 64 } } }\n"
          "mixture { name: \"ab\" component { dataset: \"a\" weight: 1 }"
          " component { dataset: \"b\" weight: 1 } }\n"
          "listen: \"" +
          socket +
          "\"\nmetrics_listen: \"off\"\n"
          "limits { max_streams: 2 }\n"));
  std::unique_ptr<Subprocess> server = Spawn({"--config", dir_ / "server.textproto"});
  ASSERT_TRUE(server->WaitForLog("event=ready", kStartTimeout)) << server->log();
  absl::StatusOr<v1::DescribeResponse> d = DescribeFeed(MakeFeedChannel(socket));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->datasets_size(), 3);
  EXPECT_EQ(d->datasets(1).input_tokens(), 64u);
  EXPECT_EQ(d->limits().max_streams(), 2u);
  v1::StreamBatchesRequest r;
  r.set_dataset("ab");
  r.set_batch_size(8);
  r.set_max_batches(2);
  BatchReader reader(MakeFeedChannel(socket), r);
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::optional<StreamBatch>> next = reader.Next();
    ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
  }
  {
    absl::StatusOr<std::optional<StreamBatch>> end = reader.Next();
    ASSERT_TRUE(end.ok() && !end->has_value());
  }
  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(std::chrono::seconds(10)), 0);
}

// Streams whose clients never read hold at most queue_depth + 2 batches each (2 queued, 1
// built and waiting, 1 being written), and the memory comes back when they end. The server
// used to hold about 5 batches per stream and keep the pages after the clients left.
TEST_F(MaskfeedServerTest, IdleStreamsStayWithinTheirBoundAndMemoryComesBack) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer quarantines freed memory: RSS says nothing here";
#endif
  ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "d"));
  const std::string socket = "unix:" + (dir_ / "rss.sock");
  std::unique_ptr<Subprocess> server = Spawn(
      {"--data", dir_ / "d", "--listen", socket, "--metrics-listen", "off", "--threads", "2"});
  ASSERT_TRUE(server->WaitForLog("event=ready", kStartTimeout)) << server->log();
  // RSS until it stops changing by more than 1 MB over half a second (or 30 s pass).
  auto settled_rss = [&] {
    uint64_t last = server->ResidentBytes();
    for (int i = 0; i < 60; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      const uint64_t now = server->ResidentBytes();
      const uint64_t change = now > last ? now - last : last - now;
      last = now;
      if (change < (1 << 20)) break;
    }
    return last;
  };
  // Warm up once (gRPC's and TBB's own first allocations), then measure from there.
  {
    v1::StreamBatchesRequest warm;
    warm.set_batch_size(1024);
    warm.set_max_batches(2);
    BatchReader reader(MakeFeedChannel(socket), warm);
    std::vector<StreamBatch> got;
    ASSERT_TRUE(testing::ReadBatches(&reader, &got).ok());
  }
  const uint64_t baseline = settled_rss();
  ASSERT_GT(baseline, 0u);

  constexpr int kStreams = 8;
  constexpr uint64_t kBatchBytes = 1024 * 20080;  // 4m-7-tokens rows, plain int32
  std::vector<std::unique_ptr<BatchReader>> idle;
  for (int i = 0; i < kStreams; ++i) {
    v1::StreamBatchesRequest r;
    r.set_batch_size(1024);
    r.set_seed(static_cast<uint64_t>(i));
    idle.push_back(std::make_unique<BatchReader>(MakeFeedChannel(socket), r));  // never read
  }
  const uint64_t held = settled_rss() - baseline;
  const uint64_t bound = kStreams * 4 * kBatchBytes;  // 658 MB; the old server held ~820
  EXPECT_LE(held, bound + bound / 16) << "held " << (held >> 20) << " MiB for " << kStreams
                                      << " idle streams of " << (kBatchBytes >> 20) << " MiB";
  EXPECT_GE(held, kStreams * kBatchBytes) << "the streams did not start: " << server->log();

  idle.clear();  // the clients go away; the streams end and free their buffers
  const auto ended = std::chrono::steady_clock::now();
  uint64_t after = server->ResidentBytes();
  while (after > baseline + (64 << 20) &&
         std::chrono::steady_clock::now() - ended < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = server->ResidentBytes();
  }
  const auto fell_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - ended)
                           .count();
  std::printf(
      "{\"idle_streams\": %d, \"batch_bytes\": %llu, \"baseline_rss_mib\": %llu, "
      "\"held_mib\": %llu, \"bound_mib\": %llu, \"after_end_over_baseline_mib\": %lld, "
      "\"fell_within_ms\": %lld}\n",
      kStreams, static_cast<unsigned long long>(kBatchBytes),
      static_cast<unsigned long long>(baseline >> 20), static_cast<unsigned long long>(held >> 20),
      static_cast<unsigned long long>(bound >> 20),
      static_cast<long long>(after >> 20) - static_cast<long long>(baseline >> 20),
      static_cast<long long>(fell_ms));
  EXPECT_LE(after, baseline + (64 << 20))
      << "kept " << ((after - baseline) >> 20) << " MiB after the streams ended";
  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(std::chrono::seconds(30)), 0) << server->log();
}

// When descriptors run out, accept() fails (EMFILE). The metrics endpoint used to stop
// accepting for good after one such error, so /healthz never answered again and a liveness
// probe restarted a sidecar whose gRPC side was fine. Now it logs, backs off and resumes.
TEST_F(MaskfeedServerTest, MetricsEndpointSurvivesRunningOutOfDescriptors) {
  ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "d"));
  // A low descriptor limit for the server alone (util-linux's prlimit runs it).
  std::unique_ptr<Subprocess> server = std::make_unique<Subprocess>(
      std::vector<std::string>{"/usr/bin/prlimit", "--nofile=96", MASKFEED_SERVER_BIN, "--data",
                               dir_ / "d", "--listen", "unix:" + (dir_ / "fd.sock"),
                               "--metrics-listen", "127.0.0.1:0", "--threads", "1"},
      dir_ / "fd-server.log");
  ASSERT_TRUE(server->WaitForLog("event=ready", kStartTimeout)) << server->log();
  const std::string metrics = server->LogValue("metrics_listening", "address");
  ASSERT_FALSE(metrics.empty()) << server->log();
  ASSERT_EQ(HttpGet(metrics, "/healthz").status, 200);

  // Idle connections the server accepts and holds until they time out: enough of them use up
  // its descriptors, and the next accepts fail.
  const size_t colon = metrics.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(metrics.substr(colon + 1))));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 150; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(fd);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) break;
    idle.push_back(std::move(fd));
  }
  ASSERT_TRUE(server->WaitForLog("event=metrics_accept_failed", std::chrono::seconds(30)))
      << "the descriptor limit was never reached: " << server->log();
  EXPECT_THAT(server->log(), HasSubstr("Too many open files"));

  idle.clear();  // the server sees them close and frees their descriptors
  bool answered = false;
  for (int i = 0; i < 300 && !answered; ++i) {
    answered = HttpGet(metrics, "/healthz").status == 200;
    if (!answered) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(answered) << "/healthz never answered again: " << server->log();
  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(std::chrono::seconds(30)), 0) << server->log();
}

}  // namespace
}  // namespace maskfeed
