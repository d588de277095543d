// The reconnecting C++ Feed against real servers: in-process ones on Unix sockets, and a
// maskfeed-server process killed with SIGKILL mid-stream.
#include "client/cpp/feed.h"

#include <signal.h>

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/feed_server.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/subprocess.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::SameBatch;
using ::maskfeed::testing::SmallConfig;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

class FeedTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "d")); }

  std::unique_ptr<FeedServer> Start(const std::string& name) {
    absl::StatusOr<std::unique_ptr<FeedServer>> server =
        FeedServer::Start(SmallConfig(dir_ / "d", Address(name)));
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }
  std::string Address(const std::string& name) { return "unix:" + (dir_ / name) + ".sock"; }

  // A maskfeed-server process on Address(name), ready to serve: one a test can kill or freeze.
  std::unique_ptr<testing::Subprocess> StartProcess(const std::string& name) {
    auto process = std::make_unique<testing::Subprocess>(
        std::vector<std::string>{MASKFEED_SERVER_BIN, "--data", dir_ / "d", "--listen",
                                 Address(name), "--metrics-listen", "off"},
        dir_ / (name + ".log"));
    EXPECT_TRUE(process->WaitForLog("event=ready", std::chrono::seconds(60))) << process->log();
    return process;
  }

  static FeedOptions Options(std::vector<std::string> addresses, uint64_t max_batches = 0) {
    FeedOptions o;
    o.addresses = std::move(addresses);
    o.request.set_batch_size(16);
    o.request.set_seed(9);
    o.request.set_max_batches(max_batches);
    o.request.set_encoding(v1::ENCODING_PACKED);
    o.initial_backoff = std::chrono::milliseconds(10);
    o.reconnect_timeout = std::chrono::milliseconds(10000);
    return o;
  }

  std::vector<StreamBatch> Expected(uint64_t n) {
    StreamOptions o;
    o.batch_size = 16;
    o.seed = 9;
    o.max_batches = n;
    return testing::InProcessBatches(dir_ / "d", o);
  }

  // Reads `n` batches; each must arrive.
  static void Read(Feed* feed, size_t n, std::vector<StreamBatch>* got) {
    for (size_t i = 0; i < n; ++i) {
      absl::StatusOr<std::optional<StreamBatch>> next = feed->Next();
      ASSERT_TRUE(next.ok()) << next.status();
      ASSERT_TRUE(next->has_value());
      got->push_back(std::move(**next));
    }
  }

  // Batches the first server had already sent stay buffered in the client after it went
  // away (flow-control windows hold several), so reads continue until the feed has
  // reconnected, then `after` more.
  static void ReadPastReconnection(Feed* feed, size_t after, std::vector<StreamBatch>* got) {
    constexpr size_t kMaxBuffered = 500;
    for (size_t i = 0; i < kMaxBuffered && feed->connections() < 2; ++i) Read(feed, 1, got);
    ASSERT_GE(feed->connections(), 2) << "the feed reconnected";
    Read(feed, after, got);
  }

  static void ExpectSequence(const std::vector<StreamBatch>& got,
                             const std::vector<StreamBatch>& expected) {
    ASSERT_LE(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].sequence, i) << "no gap, no repeat";
      EXPECT_TRUE(SameBatch(got[i].batch, expected[i].batch)) << "batch " << i;
    }
  }

  TempDir dir_;
};

TEST_F(FeedTest, FailsOverToTheNextServerWithoutGapOrRepeat) {
  std::unique_ptr<FeedServer> a = Start("a"), b = Start("b");
  absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(Options({Address("a"), Address("b")}));
  ASSERT_TRUE(feed.ok());
  std::vector<StreamBatch> got;
  ASSERT_NO_FATAL_FAILURE(Read(feed->get(), 3, &got));
  a->Shutdown();  // drains: UNAVAILABLE + token
  ASSERT_NO_FATAL_FAILURE(ReadPastReconnection(feed->get(), 3, &got));
  ASSERT_NO_FATAL_FAILURE(ExpectSequence(got, Expected(got.size())));
  EXPECT_EQ((*feed)->state(), got.back().resume_token);
}

TEST_F(FeedTest, SurvivesAServerKilledMidStream) {
  std::unique_ptr<testing::Subprocess> killed = StartProcess("k");
  ASSERT_FALSE(HasFailure());
  std::unique_ptr<FeedServer> spare = Start("spare");
  FeedOptions options = Options({Address("k"), Address("spare")});
  options.prefetch = 1;
  absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(options);
  ASSERT_TRUE(feed.ok());
  std::vector<StreamBatch> got;
  ASSERT_NO_FATAL_FAILURE(Read(feed->get(), 2, &got));
  killed->Signal(SIGKILL);  // no goodbye, no trailing token: the feed resumes from its own
  ASSERT_NO_FATAL_FAILURE(ReadPastReconnection(feed->get(), 3, &got));
  ASSERT_NO_FATAL_FAILURE(ExpectSequence(got, Expected(got.size())));
}

// A frozen server (SIGSTOP, or a partition TCP does not see) keeps its connection open and
// sends nothing. The feed used to wait on it forever; the stall watchdog (and the channel's
// keepalive pings) now fail it over with the resume token: nothing lost or repeated.
TEST_F(FeedTest, FailsOverFromAFrozenServerWithinTheStallTimeout) {
  std::unique_ptr<testing::Subprocess> frozen = StartProcess("f");
  ASSERT_FALSE(HasFailure());
  std::unique_ptr<FeedServer> spare = Start("spare");
  FeedOptions options = Options({Address("f"), Address("spare")}, /*max_batches=*/40);
  options.prefetch = 1;
  options.stall_timeout = std::chrono::milliseconds(1500);
  absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(options);
  ASSERT_TRUE(feed.ok());
  std::vector<StreamBatch> got;
  ASSERT_NO_FATAL_FAILURE(Read(feed->get(), 2, &got));
  frozen->Signal(SIGSTOP);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(ReadPastReconnection(feed->get(), 3, &got));
  EXPECT_LT(std::chrono::steady_clock::now() - start, options.reconnect_timeout)
      << "failed over before the reconnect timeout";
  ASSERT_NO_FATAL_FAILURE(Read(feed->get(), 40 - got.size(), &got));
  absl::StatusOr<std::optional<StreamBatch>> end = (*feed)->Next();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_FALSE(end->has_value());
  ASSERT_NO_FATAL_FAILURE(ExpectSequence(got, Expected(40)));
  EXPECT_EQ(got.size(), 40u);
  frozen->Signal(SIGCONT);
}

// Without the watchdog, the channel's keepalive pings alone notice the frozen server: its
// transport is closed when a ping goes unanswered (kKeepaliveTimeMs + kKeepaliveTimeoutMs).
TEST_F(FeedTest, KeepalivePingsNoticeAFrozenServer) {
  std::unique_ptr<testing::Subprocess> frozen = StartProcess("f");
  ASSERT_FALSE(HasFailure());
  std::unique_ptr<FeedServer> spare = Start("spare");
  // Enough batches that the transport cannot have buffered all that follow the freeze (a
  // loaded machine lets the server push a dozen 0.3 MB batches into its window first).
  FeedOptions options = Options({Address("f"), Address("spare")}, /*max_batches=*/40);
  options.prefetch = 1;
  options.stall_timeout = std::chrono::hours(1);  // the watchdog stays out of it
  options.reconnect_timeout = std::chrono::minutes(2);
  absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(options);
  ASSERT_TRUE(feed.ok());
  std::vector<StreamBatch> got;
  ASSERT_NO_FATAL_FAILURE(Read(feed->get(), 2, &got));
  frozen->Signal(SIGSTOP);
  ASSERT_NO_FATAL_FAILURE(ReadPastReconnection(feed->get(), 1, &got));
  ASSERT_NO_FATAL_FAILURE(Read(feed->get(), 40 - got.size(), &got));
  ASSERT_NO_FATAL_FAILURE(ExpectSequence(got, Expected(40)));
  frozen->Signal(SIGCONT);
}

TEST_F(FeedTest, StateResumesInANewFeed) {
  std::unique_ptr<FeedServer> a = Start("a");
  std::vector<StreamBatch> got;
  std::string state;
  {
    absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(Options({Address("a")}));
    ASSERT_TRUE(feed.ok());
    ASSERT_NO_FATAL_FAILURE(Read(feed->get(), 4, &got));
    state = (*feed)->state();
  }  // batches prefetched beyond the 4th are dropped with the feed
  FeedOptions options = Options({Address("a")});
  options.request.set_resume_token(state);
  absl::StatusOr<std::unique_ptr<Feed>> resumed = Feed::Open(options);
  ASSERT_TRUE(resumed.ok());
  ASSERT_NO_FATAL_FAILURE(Read(resumed->get(), 3, &got));
  ASSERT_NO_FATAL_FAILURE(ExpectSequence(got, Expected(7)));
}

TEST_F(FeedTest, MaxBatchesCountsAcrossReconnections) {
  std::unique_ptr<FeedServer> a = Start("a"), b = Start("b");
  FeedOptions options = Options({Address("a"), Address("b")}, /*max_batches=*/6);
  options.prefetch = 1;
  absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(options);
  ASSERT_TRUE(feed.ok());
  std::vector<StreamBatch> got;
  ASSERT_NO_FATAL_FAILURE(Read(feed->get(), 2, &got));
  a->Shutdown();
  ASSERT_NO_FATAL_FAILURE(Read(feed->get(), 4, &got));
  absl::StatusOr<std::optional<StreamBatch>> end = (*feed)->Next();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_FALSE(end->has_value()) << "exactly max_batches";
  ASSERT_NO_FATAL_FAILURE(ExpectSequence(got, Expected(6)));
}

TEST_F(FeedTest, ErrorsReconnectingCannotFixEndTheFeed) {
  std::unique_ptr<FeedServer> a = Start("a");
  FeedOptions options = Options({Address("a")});
  options.request.set_batch_size(0);
  absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(options);
  ASSERT_TRUE(feed.ok());
  absl::StatusOr<std::optional<StreamBatch>> next = (*feed)->Next();
  EXPECT_EQ(next.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(next.status().message(), HasSubstr("batch_size"));
  for (int again = 0; again < 2; ++again) {
    EXPECT_EQ((*feed)->Next().status(), next.status()) << "the error again, never a clean end";
  }
  EXPECT_EQ((*feed)->connections(), 1);
}

TEST_F(FeedTest, GivesUpAfterTheReconnectTimeout) {
  FeedOptions options = Options({Address("nobody")});
  options.reconnect_timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(options);
  ASSERT_TRUE(feed.ok());
  absl::StatusOr<std::optional<StreamBatch>> next = (*feed)->Next();
  EXPECT_EQ(next.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(next.status().message(), HasSubstr("nobody.sock"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_GE((*feed)->connections(), 2) << "it retried before giving up";
}

TEST(FeedOpenTest, NeedsAnAddress) {
  EXPECT_EQ(Feed::Open(FeedOptions()).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace maskfeed
