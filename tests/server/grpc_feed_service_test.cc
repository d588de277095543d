// The gRPC adapter alone: GrpcFeedService over a FeedService on a bare grpc::Server (no
// FeedServer, no HTTP endpoint, no signal handling). Statuses keep their code and message;
// batches arrive as the service makes them; a stream that ends with an error after batches
// carries the token resuming after the last one in its trailing metadata; each stream's pump
// thread ends with its call.
#include "server/grpc_feed_service.h"

#include <chrono>

#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/server_fixture.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

TEST(ToGrpcStatusTest, KeepsTheCodeAndTheMessage) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  for (const absl::Status& s :
       {absl::InvalidArgumentError("batch_size: required"), absl::NotFoundError("no dataset"),
        absl::DataLossError("shard-00001.mfs: record 3"), absl::ResourceExhaustedError("full"),
        absl::UnavailableError("draining"), absl::CancelledError("gone"),
        absl::FailedPreconditionError("cache"), absl::InternalError("bug")}) {
    const grpc::Status g = ToGrpcStatus(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), static_cast<int>(s.code()));
    EXPECT_EQ(g.error_message(), std::string(s.message()));
  }
}

class GrpcFeedServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "d"));
    const std::string address = "unix:" + (dir_ / "feed.sock");
    absl::StatusOr<std::unique_ptr<FeedService>> service =
        FeedService::Create(testing::SmallConfig(dir_ / "d", address), &arena_, &registry_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    adapter_ = std::make_unique<GrpcFeedService>(service_.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials());
    builder.RegisterService(adapter_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Feed::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (service_) service_->BeginShutdown();
    if (server_) server_->Shutdown();
    if (adapter_) {
      EXPECT_TRUE(adapter_->WaitForPumpsUntil(Deadline()));
    }
  }

  static std::chrono::steady_clock::time_point Deadline() {
    return std::chrono::steady_clock::now() + std::chrono::seconds(10);
  }

  static v1::StreamBatchesRequest Request(uint64_t max_batches) {
    v1::StreamBatchesRequest r;
    r.set_batch_size(16);
    r.set_seed(9);
    r.set_max_batches(max_batches);
    return r;
  }

  TempDir dir_;
  tbb::task_arena arena_{2};
  MetricsRegistry registry_;
  std::unique_ptr<FeedService> service_;
  std::unique_ptr<GrpcFeedService> adapter_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Feed::Stub> stub_;
};

TEST_F(GrpcFeedServiceTest, BatchesArriveAsTheServiceMakesThem) {
  BatchReader reader(MakeFeedChannel("unix:" + (dir_ / "feed.sock")), Request(3));
  std::vector<StreamBatch> got;
  ASSERT_TRUE(testing::ReadBatches(&reader, &got).ok());
  StreamOptions o;
  o.batch_size = 16;
  o.seed = 9;
  o.max_batches = 3;
  const std::vector<StreamBatch> want = testing::InProcessBatches(dir_ / "d", o);
  ASSERT_EQ(got.size(), 3u);
  ASSERT_EQ(want.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(testing::SameBatch(got[i].batch, want[i].batch)) << "batch " << i;
    EXPECT_EQ(got[i].resume_token, want[i].resume_token);
  }

  grpc::ClientContext context;
  v1::DescribeResponse described;
  ASSERT_TRUE(stub_->Describe(&context, v1::DescribeRequest(), &described).ok());
  EXPECT_EQ(described.SerializeAsString(), service_->Describe().SerializeAsString());
}

TEST_F(GrpcFeedServiceTest, RefusedStreamsKeepTheServicesCodeAndMessage) {
  v1::StreamBatchesRequest unknown = Request(1);
  unknown.set_dataset("nope");
  v1::StreamBatchesRequest no_size = Request(1);
  no_size.set_batch_size(0);
  for (const auto& [request, code, message] :
       {std::tuple{unknown, grpc::StatusCode::NOT_FOUND, "dataset: 'nope' is not served here"},
        std::tuple{no_size, grpc::StatusCode::INVALID_ARGUMENT, "batch_size: required"}}) {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::Batch>> reader = stub_->StreamBatches(&context, request);
    v1::Batch batch;
    EXPECT_FALSE(reader->Read(&batch));
    const grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), code);
    EXPECT_THAT(status.error_message(), HasSubstr(message));
  }
}

// Shutdown in the middle of a stream: UNAVAILABLE, and the trailing metadata holds the token
// of the last batch the client received.
TEST_F(GrpcFeedServiceTest, AnErrorAfterBatchesCarriesTheResumeTokenInTheTrailers) {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::Batch>> reader =
      stub_->StreamBatches(&context, Request(0));
  v1::Batch batch;
  std::string last_token;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(reader->Read(&batch));
    last_token = batch.resume_token();
  }
  service_->BeginShutdown();
  while (reader->Read(&batch)) last_token = batch.resume_token();
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(kResumeTokenMetadataKey);
  ASSERT_NE(it, trailers.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), last_token);
}

// A client that goes away mid-stream: its pump thread ends, and its stream gives back its
// slot in the service.
TEST_F(GrpcFeedServiceTest, EachPumpEndsWithItsCall) {
  {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::Batch>> reader =
        stub_->StreamBatches(&context, Request(0));
    v1::Batch batch;
    ASSERT_TRUE(reader->Read(&batch));
    EXPECT_EQ(service_->active_streams(), 1u);
    context.TryCancel();
    while (reader->Read(&batch)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  service_->BeginShutdown();  // WaitForPumps requires that no new stream can start
  EXPECT_TRUE(adapter_->WaitForPumpsUntil(Deadline()));
  EXPECT_EQ(service_->active_streams(), 0u);
}

}  // namespace
}  // namespace maskfeed
