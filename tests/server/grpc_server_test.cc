// The server end to end: a real FeedServer on port 0 or a Unix socket, real gRPC clients.
#include <chrono>
#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include "client/cpp/feed_client.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/shard_reader.h"
#include "server/feed_server.h"
#include "tests/testing/http_get.h"
#include "tests/testing/server_fixture.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::FlipByte;
using ::maskfeed::testing::HttpGet;
using ::maskfeed::testing::Message;
using ::maskfeed::testing::SameBatch;
using ::maskfeed::testing::SmallConfig;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

enum class Transport { kTcp, kUnix };

class GrpcServerTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "d"));
    server_ = Start(dir_ / "d");
    ASSERT_NE(server_, nullptr);
    address_ = server_->addresses().front();
  }

  std::unique_ptr<FeedServer> Start(const std::string& data, const std::string& socket = "feed",
                                    uint32_t shutdown_grace_s = 5) {
    const std::string listen =
        GetParam() == Transport::kTcp ? "127.0.0.1:0" : "unix:" + (dir_ / socket) + ".sock";
    v1::ServerConfig config = SmallConfig(data, listen);
    config.mutable_limits()->set_shutdown_grace_s(shutdown_grace_s);
    config.set_metrics_listen("127.0.0.1:0");
    absl::StatusOr<std::unique_ptr<FeedServer>> server = FeedServer::Start(config);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  static v1::StreamBatchesRequest Request(uint64_t max_batches, bool packed = false) {
    v1::StreamBatchesRequest r;
    r.set_batch_size(16);
    r.set_seed(9);
    r.set_max_batches(max_batches);
    if (packed) r.set_encoding(v1::ENCODING_PACKED);
    return r;
  }

  // The same stream computed in-process, without gRPC.
  std::vector<StreamBatch> InProcess(uint64_t max_batches, uint32_t rank = 0,
                                     uint32_t world_size = 1) {
    StreamOptions o;
    o.batch_size = 16;
    o.seed = 9;
    o.max_batches = max_batches;
    o.rank = rank;
    o.world_size = world_size;
    return testing::InProcessBatches(dir_ / "d", o);
  }

  // Every batch of a stream until it ends; its final status in *end.
  std::vector<StreamBatch> Drain(const v1::StreamBatchesRequest& request, absl::Status* end,
                                 const std::string& address = "") {
    BatchReader reader(MakeFeedChannel(address.empty() ? address_ : address), request);
    std::vector<StreamBatch> out;
    *end = testing::ReadBatches(&reader, &out);
    return out;
  }

  // Polls until the server serves no stream (or 10 s pass).
  bool WaitForNoStreams() {
    for (int i = 0; i < 1000; ++i) {
      if (server_->service().active_streams() == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<FeedServer> server_;
  std::string address_;
};

TEST_P(GrpcServerTest, StreamDeliversTheInProcessBatchesByteForByte) {
  const std::vector<StreamBatch> expected = InProcess(5);
  for (bool packed : {false, true}) {
    absl::Status end;
    std::vector<StreamBatch> got = Drain(Request(5, packed), &end);
    EXPECT_TRUE(end.ok()) << end;
    ASSERT_EQ(got.size(), expected.size()) << "packed " << packed;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(SameBatch(got[i].batch, expected[i].batch)) << "batch " << i;
      EXPECT_EQ(got[i].sequence, expected[i].sequence);
      EXPECT_EQ(got[i].resume_token, expected[i].resume_token);
    }
  }
  EXPECT_TRUE(WaitForNoStreams());
  EXPECT_EQ(server_->service().GetStats().streams_opened(), 2u);
}

TEST_P(GrpcServerTest, ManyConcurrentStreams) {
  constexpr uint32_t kStreams = 8;
  std::vector<std::future<std::vector<StreamBatch>>> futures;
  std::vector<absl::Status> ends(kStreams);
  for (uint32_t r = 0; r < kStreams; ++r) {
    futures.push_back(std::async(std::launch::async, [&, r] {
      v1::StreamBatchesRequest request = Request(3, r % 2 == 1);
      request.set_rank(r);
      request.set_world_size(kStreams);
      return Drain(request, &ends[r]);
    }));
  }
  for (uint32_t r = 0; r < kStreams; ++r) {
    std::vector<StreamBatch> got = futures[r].get();
    EXPECT_TRUE(ends[r].ok()) << ends[r];
    std::vector<StreamBatch> expected = InProcess(3, r, kStreams);
    ASSERT_EQ(got.size(), 3u);
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(SameBatch(got[i].batch, expected[i].batch)) << "rank " << r << " batch " << i;
    }
  }
  EXPECT_TRUE(WaitForNoStreams());
}

TEST_P(GrpcServerTest, ClientThatCancelsFreesItsStream) {
  {
    BatchReader reader(MakeFeedChannel(address_), Request(0));  // endless
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(reader.Next().ok());
    EXPECT_EQ(server_->service().active_streams(), 1u);
    reader.Cancel();
    EXPECT_EQ(reader.Next().status().code(), absl::StatusCode::kCancelled);
  }
  EXPECT_TRUE(WaitForNoStreams()) << "the server freed the stream";
  EXPECT_THAT(server_->service().RenderPrometheus(), HasSubstr("maskfeed_active_streams 0"));
  EXPECT_THAT(server_->service().RenderPrometheus(), HasSubstr("maskfeed_server_active_streams 0"));
  // A client that simply disconnects (channel and reader destroyed mid-stream) too.
  {
    BatchReader reader(MakeFeedChannel(address_), Request(0));
    ASSERT_TRUE(reader.Next().ok());
  }
  EXPECT_TRUE(WaitForNoStreams());
}

TEST_P(GrpcServerTest, InvalidRequestsGiveTheirCodesOverTheWire) {
  struct Case {
    v1::StreamBatchesRequest request;
    absl::StatusCode code;
    std::string text;
  };
  std::vector<Case> cases;
  cases.push_back({Request(1), absl::StatusCode::kInvalidArgument, "batch_size"});
  cases.back().request.set_batch_size(0);
  cases.push_back({Request(1), absl::StatusCode::kInvalidArgument, "batch_size: 65 exceeds"});
  cases.back().request.set_batch_size(65);
  cases.push_back({Request(1), absl::StatusCode::kNotFound, "dataset: 'zz'"});
  cases.back().request.set_dataset("zz");
  cases.push_back({Request(1), absl::StatusCode::kInvalidArgument, "rank: 4"});
  cases.back().request.set_rank(4);
  cases.back().request.set_world_size(4);
  for (const Case& c : cases) {
    absl::Status end;
    EXPECT_TRUE(Drain(c.request, &end).empty());
    EXPECT_EQ(end.code(), c.code) << end;
    EXPECT_THAT(Message(end), HasSubstr(c.text));
  }
  // A token from another config: a stream with other overrides.
  absl::Status end;
  std::vector<StreamBatch> one = Drain(Request(1), &end);
  ASSERT_EQ(one.size(), 1u);
  v1::StreamBatchesRequest other = Request(1);
  other.set_resume_token(one[0].resume_token);
  other.mutable_overrides()->set_target_tokens(64);
  Drain(other, &end);
  EXPECT_EQ(end.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(end), HasSubstr("resume_token"));
}

TEST_P(GrpcServerTest, DescribeAndStatsOverTheWire) {
  absl::StatusOr<v1::DescribeResponse> d = DescribeFeed(MakeFeedChannel(address_));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->SerializeAsString(), server_->service().Describe().SerializeAsString());
  auto stub = v1::Feed::NewStub(MakeFeedChannel(address_));
  grpc::ClientContext context;
  v1::Stats stats;
  ASSERT_TRUE(stub->GetStats(&context, v1::GetStatsRequest(), &stats).ok());
  EXPECT_EQ(stats.active_streams(), 0u);
  EXPECT_FALSE(stats.draining());
  EXPECT_THAT(stats.prometheus_text(), HasSubstr("maskfeed_server_streams_opened_total"));
}

// A unary call of `method` with `bytes` as the request, through a generic stub.
grpc::Status RawCall(const std::string& address, const std::string& method,
                     const std::string& bytes) {
  grpc::GenericStub stub(MakeFeedChannel(address));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer in(&slice, 1), out;
  grpc::ClientContext context;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &in, &out,
                 [&](grpc::Status s) { done.set_value(s); });
  return done.get_future().get();
}

TEST_P(GrpcServerTest, UndecodableRequestsAreInvalidArgumentWithAMessage) {
  const std::string garbage = "\xff\xff\xff\xff";  // a field tag that never ends
  for (const char* method : {"Describe", "GetStats", "StreamBatches"}) {
    grpc::Status s = RawCall(address_, StrCat("/maskfeed.v1.Feed/", method), garbage);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_THAT(s.error_message(), HasSubstr("request: not a ")) << method;
  }
  EXPECT_TRUE(RawCall(address_, "/maskfeed.v1.Feed/Describe", "").ok());  // an empty request
}

// grpc.health.v1.Health/Check through a generic call (Debian ships no health stubs).
int HealthStatus(const std::string& address, const std::string& service) {
  grpc::GenericStub stub(MakeFeedChannel(address));
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0A);  // field 1, length-delimited
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  grpc::ClientContext context;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                 [&](grpc::Status s) { done.set_value(s); });
  if (!done.get_future().get().ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!out.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];  // field 1, varint
  return bytes.empty() ? 0 : -1;
}

TEST_P(GrpcServerTest, HealthReportsServing) {
  constexpr int kServing = 1;
  EXPECT_EQ(HealthStatus(address_, ""), kServing);
  EXPECT_EQ(HealthStatus(address_, "maskfeed.v1.Feed"), kServing);
}

TEST_P(GrpcServerTest, MetricsEndpointServesPrometheusText) {
  absl::Status end;
  ASSERT_EQ(Drain(Request(2), &end).size(), 2u);
  const std::string metrics = server_->metrics_address();
  ASSERT_FALSE(metrics.empty());
  testing::HttpReply reply = HttpGet(metrics, "/metrics");
  ASSERT_EQ(reply.status, 200);
  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? -?[0-9.eE+-]+$)");
  const std::regex comment(
      R"(^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$)");
  std::istringstream lines(reply.body);
  int samples = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      EXPECT_TRUE(std::regex_match(line, comment)) << line;
    } else {
      EXPECT_TRUE(std::regex_match(line, sample)) << line;
      ++samples;
    }
  }
  EXPECT_GT(samples, 10);
  EXPECT_THAT(reply.body, HasSubstr("maskfeed_server_batches_sent_total 2"));
  EXPECT_THAT(reply.body, HasSubstr("maskfeed_samples_total 32"));
  testing::HttpReply health = HttpGet(metrics, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(HttpGet(metrics, "/nope").status, 404);
}

TEST_P(GrpcServerTest, CorruptShardEndsTheStreamWithDataLossNamingTheFile) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir / "bad"));
  // Flip the first byte of every non-empty det record of shard 1 (raw records).
  const std::string victim = dir / "bad/det/shard-00001.mfs";
  std::vector<int64_t> offsets;
  {
    absl::StatusOr<std::unique_ptr<ShardReader>> reader = OpenShard(victim);
    ASSERT_TRUE(reader.ok());
    int64_t offset = 64;  // records start after the header
    for (size_t r = 0; r < (*reader)->num_records(); ++r) {
      if ((*reader)->first_dim(r) > 0) offsets.push_back(offset);
      offset += static_cast<int64_t>((*reader)->first_dim(r)) * 4;
    }
  }
  for (int64_t o : offsets) ASSERT_NO_FATAL_FAILURE(FlipByte(victim, o));
  std::unique_ptr<FeedServer> server = Start(dir / "bad", "bad");
  ASSERT_NE(server, nullptr);
  v1::StreamBatchesRequest r = Request(6);  // one epoch of 96 samples
  absl::Status end;
  Drain(r, &end, server->addresses().front());
  EXPECT_EQ(end.code(), absl::StatusCode::kDataLoss) << end;
  EXPECT_THAT(Message(end), HasSubstr(victim));

  // A BatchReader that has ended with an error keeps returning it.
  BatchReader reader(MakeFeedChannel(server->addresses().front()), r);
  std::vector<StreamBatch> got;
  const absl::Status first = testing::ReadBatches(&reader, &got);
  ASSERT_EQ(first.code(), absl::StatusCode::kDataLoss) << first;
  for (int again = 0; again < 2; ++again) EXPECT_EQ(reader.Next().status(), first);
}

TEST_P(GrpcServerTest, ShutdownEndsStreamsWithUnavailableAndATokenThatResumes) {
  // A grace far longer than the test: a shutdown that waited for it, instead of ending the
  // streams, would show.
  constexpr uint32_t kGraceS = 600;
  server_.reset();
  server_ = Start(dir_ / "d", "graceful", kGraceS);
  ASSERT_NE(server_, nullptr);
  address_ = server_->addresses().front();
  BatchReader reader(MakeFeedChannel(address_), Request(0, /*packed=*/true));
  std::vector<StreamBatch> got;
  ASSERT_TRUE(testing::ReadBatches(&reader, &got, 3).ok());
  ASSERT_EQ(got.size(), 3u);
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] { server_->Shutdown(); });
  const absl::Status end = testing::ReadBatches(&reader, &got);
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(kGraceS / 4))
      << "the streams ended without waiting out the grace";
  EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable) << end;
  EXPECT_EQ(reader.resume_token(), got.back().resume_token)
      << "the trailing metadata carries the token after the last batch received";
  EXPECT_EQ(HealthStatus(address_, ""), -1) << "the server is gone";

  // Another server resumes exactly where the first stopped.
  std::unique_ptr<FeedServer> second = Start(dir_ / "d", "second");
  ASSERT_NE(second, nullptr);
  v1::StreamBatchesRequest resume = Request(2, true);
  resume.set_resume_token(reader.resume_token());
  absl::Status resumed_end;
  std::vector<StreamBatch> rest = Drain(resume, &resumed_end, second->addresses().front());
  EXPECT_TRUE(resumed_end.ok()) << resumed_end;
  ASSERT_EQ(rest.size(), 2u);
  // How far the first server got before the shutdown depends on the machine's speed.
  const std::vector<StreamBatch> expected = InProcess(got.size() + rest.size());
  for (size_t i = 0; i < rest.size(); ++i) {
    const size_t k = got.size() + i;
    ASSERT_LT(k, expected.size());
    EXPECT_EQ(rest[i].sequence, k);
    EXPECT_TRUE(SameBatch(rest[i].batch, expected[k].batch)) << "batch " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, GrpcServerTest,
                         ::testing::Values(Transport::kTcp, Transport::kUnix),
                         [](const ::testing::TestParamInfo<Transport>& info) {
                           return info.param == Transport::kTcp ? "Tcp" : "Unix";
                         });

}  // namespace
}  // namespace maskfeed
