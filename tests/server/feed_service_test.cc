#include "server/feed_service.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_fixture.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::SmallConfig;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

class FeedServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir_ / "d"));
    config_ = SmallConfig(dir_ / "d", "127.0.0.1:0");
    config_.mutable_limits()->set_max_streams(3);
    absl::StatusOr<std::unique_ptr<FeedService>> service =
        FeedService::Create(config_, &arena_, &registry_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
  }

  static v1::StreamBatchesRequest Request(uint32_t batch_size = 8) {
    v1::StreamBatchesRequest r;
    r.set_batch_size(batch_size);
    r.set_seed(3);
    return r;
  }

  absl::Status OpenStatus(const v1::StreamBatchesRequest& r) {
    return service_->OpenStream(r, "test").status();
  }

  TempDir dir_;
  v1::ServerConfig config_;
  tbb::task_arena arena_{2};
  MetricsRegistry registry_;
  std::unique_ptr<FeedService> service_;
};

TEST_F(FeedServiceTest, DescribesDatasetsLayoutAndLimits) {
  const v1::DescribeResponse d = service_->Describe();
  ASSERT_EQ(d.datasets_size(), 1);
  const v1::DatasetDescription& ds = d.datasets(0);
  EXPECT_EQ(ds.name(), "d");
  EXPECT_EQ(ds.preset(), "4m-7-tokens");
  EXPECT_EQ(ds.num_samples(), testing::kServerTestSamples);
  EXPECT_EQ(ds.input_tokens(), 128u);
  EXPECT_EQ(ds.target_tokens(), 128u);
  EXPECT_EQ(ds.bytes_per_sample(), 20080u);
  ASSERT_EQ(ds.modalities_size(), 7);
  EXPECT_EQ(ds.modalities(0).name(), "caption");
  EXPECT_EQ(ds.modalities(0).type(), "seq");
  EXPECT_EQ(ds.modalities(0).max_tokens(), 514u);
  EXPECT_EQ(ds.modalities(6).name(), "tok_semseg@224");
  EXPECT_EQ(ds.modalities(6).max_tokens(), 196u);
  EXPECT_EQ(ds.modalities(6).token_dtype(), v1::DTYPE_INT32);
  EXPECT_EQ(d.limits().max_streams(), 3u);
  EXPECT_EQ(d.limits().max_batch_size(), 64u);
  // 2008 token positions per 4m-7 sample widen by 4 bytes with int64 tokens.
  EXPECT_GE(d.limits().max_message_bytes(), 64u * (20080u + 2008u * 4)) << "int64 tokens fit";
  EXPECT_THAT(std::vector<std::string>(d.presets().begin(), d.presets().end()),
              ::testing::Contains("4m-7-tokens"));
}

TEST_F(FeedServiceTest, InvalidRequestsNameTheField) {
  struct Case {
    v1::StreamBatchesRequest request;
    absl::StatusCode code;
    std::string text;
  };
  std::vector<Case> cases;
  cases.push_back({Request(0), absl::StatusCode::kInvalidArgument, "batch_size"});
  cases.push_back({Request(65), absl::StatusCode::kInvalidArgument, "batch_size: 65 exceeds"});
  v1::StreamBatchesRequest r = Request();
  r.set_dataset("nope");
  cases.push_back({r, absl::StatusCode::kNotFound, "dataset: 'nope'"});
  r = Request();
  r.set_rank(2);
  r.set_world_size(2);
  cases.push_back({r, absl::StatusCode::kInvalidArgument, "rank: 2 is not below world_size 2"});
  r = Request();
  r.mutable_overrides()->set_n_repeats(100);
  cases.push_back({r, absl::StatusCode::kInvalidArgument, "overrides.n_repeats"});
  r = Request();
  r.mutable_overrides()->set_input_tokens(5000);
  cases.push_back({r, absl::StatusCode::kInvalidArgument, "overrides.input_tokens: 5000"});
  r = Request();
  r.set_resume_token("garbage");
  cases.push_back({r, absl::StatusCode::kInvalidArgument, "resume_token"});
  r = Request();
  r.set_encoding(static_cast<v1::Encoding>(7));
  cases.push_back({r, absl::StatusCode::kInvalidArgument, "encoding"});
  for (const Case& c : cases) {
    const absl::Status s = OpenStatus(c.request);
    EXPECT_EQ(s.code(), c.code) << c.request.ShortDebugString() << ": " << s;
    EXPECT_THAT(Message(s), HasSubstr(c.text));
  }
  EXPECT_EQ(service_->GetStats().streams_rejected(), cases.size());
  EXPECT_EQ(service_->active_streams(), 0u);
}

// A megabyte of NULs as the dataset name is not echoed back (a client would see a status too
// large for gRPC's metadata, and retry) nor written raw into the log.
TEST_F(FeedServiceTest, HostileNamesAreEchoedBoundedAndEscaped) {
  v1::StreamBatchesRequest r = Request();
  r.set_dataset(std::string(1 << 20, '\0'));
  const absl::Status s = OpenStatus(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_LT(s.message().size(), 1024u);
  EXPECT_EQ(Message(s).find('\0'), std::string::npos);
  EXPECT_THAT(Message(s), HasSubstr("\\x00\\x00"));
  EXPECT_THAT(Message(s), HasSubstr("(1048576 bytes)"));
}

TEST_F(FeedServiceTest, ResumeTokenFromAnotherConfigIsRejected) {
  absl::StatusOr<std::unique_ptr<FeedStream>> s = service_->OpenStream(Request(), "t");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Next().ok());
  const std::string token = (*s)->resume_token();
  s->reset();
  v1::StreamBatchesRequest other = Request();
  other.set_resume_token(token);
  other.mutable_overrides()->set_input_tokens(64);  // another masking config
  const absl::Status st = OpenStatus(other);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(st), HasSubstr("resume_token"));
  other = Request();
  other.set_resume_token(token);
  other.set_seed(4);  // another seed
  EXPECT_EQ(OpenStatus(other).code(), absl::StatusCode::kInvalidArgument);
  other.set_seed(3);
  EXPECT_TRUE(OpenStatus(other).ok()) << "the same request resumes";
}

TEST_F(FeedServiceTest, OverridesChangeTheBudget) {
  v1::StreamBatchesRequest r = Request();
  r.mutable_overrides()->set_input_tokens(40);
  absl::StatusOr<std::unique_ptr<FeedStream>> s = service_->OpenStream(r, "t");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::optional<StreamBatch>> next = (*s)->Next();
  ASSERT_TRUE(next.ok() && next->has_value());
  const Batch& b = (*next)->batch;
  int most = 0;
  for (int64_t row = 0; row < b.size; ++row) {
    int inputs = 0;
    for (const ModalityBatch& m : b.modalities) {
      const int64_t n = m.input_mask.shape[1];
      for (int64_t i = 0; i < n; ++i) inputs += m.input_mask.as<uint8_t>()[row * n + i] == 0;
    }
    // Short sequences can leave a budget partly unused (docs/masking.md#sequence-masking), never
    // exceed it.
    EXPECT_LE(inputs, 40) << "row " << row;
    most = std::max(most, inputs);
  }
  EXPECT_EQ(most, 40);
}

TEST_F(FeedServiceTest, MaxStreamsGivesResourceExhausted) {
  std::vector<std::unique_ptr<FeedStream>> open;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::unique_ptr<FeedStream>> s = service_->OpenStream(Request(), "t");
    ASSERT_TRUE(s.ok()) << s.status();
    open.push_back(std::move(*s));
  }
  const absl::Status s = OpenStatus(Request());
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Message(s), HasSubstr("max_streams"));
  open.pop_back();
  EXPECT_TRUE(OpenStatus(Request()).ok()) << "a closed stream frees its slot";
  EXPECT_EQ(service_->active_streams(), 2u);
}

TEST_F(FeedServiceTest, BufferedBytesBoundStreamsAndComeBackWhenTheyClose) {
  // A stream of 64 rows holds at most 4 batches (queue_depth 2, one built and waiting, one
  // being written): 64 x 20,080 x 4 = 5,140,480 bytes. 13 MB holds two such streams, not
  // three.
  v1::ServerConfig config = config_;
  config.mutable_limits()->set_max_buffered_bytes(13'000'000);
  absl::StatusOr<std::unique_ptr<FeedService>> service =
      FeedService::Create(config, &arena_, &registry_);
  ASSERT_TRUE(service.ok()) << service.status();
  std::vector<std::unique_ptr<FeedStream>> open;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<FeedStream>> s = (*service)->OpenStream(Request(64), "t");
    ASSERT_TRUE(s.ok()) << s.status();
    open.push_back(std::move(*s));
  }
  EXPECT_EQ((*service)->reserved_bytes(), 2u * 5'140'480);
  absl::Status third = (*service)->OpenStream(Request(64), "t").status();
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Message(third), HasSubstr("limits.max_buffered_bytes"));
  EXPECT_THAT(Message(third), HasSubstr("needs 5140480 bytes"));
  EXPECT_TRUE((*service)->OpenStream(Request(8), "t").ok()) << "a smaller stream still fits";
  open.pop_back();
  EXPECT_TRUE((*service)->OpenStream(Request(64), "t").ok()) << "a closed stream gave back";
  open.clear();
  EXPECT_EQ((*service)->reserved_bytes(), 0u);
  EXPECT_THAT((*service)->RenderPrometheus(),
              HasSubstr("maskfeed_server_buffer_bytes_limit 13000000"));
}

TEST_F(FeedServiceTest, MemoryIsReservedForTheBatchesStreamsAskForNotTheLargestAllowed) {
  // The largest batch a request may ask for (64 rows, queued twice) would not fit the limit:
  // the server starts anyway, serves the streams that fit, and refuses one that alone cannot,
  // saying what batch size would.
  v1::ServerConfig config = config_;
  config.mutable_limits()->set_max_buffered_bytes(2'000'000);
  absl::StatusOr<std::unique_ptr<FeedService>> service =
      FeedService::Create(config, &arena_, &registry_);
  ASSERT_TRUE(service.ok()) << service.status();
  absl::StatusOr<std::unique_ptr<FeedStream>> small = (*service)->OpenStream(Request(4), "t");
  ASSERT_TRUE(small.ok()) << small.status();
  ASSERT_TRUE((*small)->Next().ok());
  absl::StatusOr<std::unique_ptr<FeedStream>> large = (*service)->OpenStream(Request(64), "t");
  ASSERT_FALSE(large.ok());
  EXPECT_EQ(large.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(large.status()), HasSubstr("limits.max_buffered_bytes"));
  EXPECT_THAT(Message(large.status()), HasSubstr("ask for batch_size "));
}

TEST_F(FeedServiceTest, ShutdownEndsStreamsWithUnavailableAndRefusesNewOnes) {
  absl::StatusOr<std::unique_ptr<FeedStream>> s = service_->OpenStream(Request(), "t");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Next().ok());
  const std::string token = (*s)->resume_token();
  service_->BeginShutdown();
  absl::StatusOr<std::optional<StreamBatch>> next = (*s)->Next();
  EXPECT_EQ(next.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*s)->resume_token(), token) << "the token still resumes after the last batch";
  EXPECT_EQ(OpenStatus(Request()).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(service_->GetStats().draining());
  EXPECT_THAT(service_->RenderPrometheus(), HasSubstr("maskfeed_server_draining 1"));
}

TEST_F(FeedServiceTest, AStreamThatDeliveredItsMaxBatchesEndsNormallyWhileDraining) {
  v1::StreamBatchesRequest r = Request();
  r.set_max_batches(2);
  absl::StatusOr<std::unique_ptr<FeedStream>> s = service_->OpenStream(r, "t");
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE((*s)->Next().ok());
  service_->BeginShutdown();
  absl::StatusOr<std::optional<StreamBatch>> end = (*s)->Next();
  ASSERT_TRUE(end.ok()) << end.status() << ": a client would otherwise reconnect for nothing";
  EXPECT_FALSE(end->has_value());
}

TEST_F(FeedServiceTest, CancelledStreamReportsCancelled) {
  absl::StatusOr<std::unique_ptr<FeedStream>> s = service_->OpenStream(Request(), "t");
  ASSERT_TRUE(s.ok());
  (*s)->Cancel();
  absl::Status st = absl::OkStatus();
  for (int i = 0; i < 10 && st.ok(); ++i)
    st = (*s)->Next().status();  // queued batches may come first
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled);
}

TEST(FeedServiceCreateTest, BadDatasetsNameTheDataset) {
  TempDir dir;
  v1::ServerConfig config = SmallConfig(dir / "missing", "127.0.0.1:0");
  tbb::task_arena arena(1);
  MetricsRegistry registry;
  absl::StatusOr<std::unique_ptr<FeedService>> s = FeedService::Create(config, &arena, &registry);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Message(s.status()), HasSubstr("dataset 'd'"));
  EXPECT_THAT(Message(s.status()), HasSubstr("missing"));
}

TEST(FeedServiceCreateTest, MixturesAreServedByName) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(testing::SynthSmallDataset(dir / "a"));
  v1::ServerConfig config = SmallConfig(dir / "a", "127.0.0.1:0");
  v1::DatasetConfig* b = config.add_dataset();
  *b = config.dataset(0);
  b->set_name("b");
  v1::MixtureConfig* m = config.add_mixture();
  m->set_name("mix");
  for (auto [name, weight] : {std::pair{"d", 3.0}, std::pair{"b", 1.0}}) {
    v1::MixtureComponentRef* c = m->add_component();
    c->set_dataset(name);
    c->set_weight(weight);
  }
  absl::StatusOr<v1::ServerConfig> finalized = FinalizeServerConfig(config);
  ASSERT_TRUE(finalized.ok()) << finalized.status();
  tbb::task_arena arena(2);
  MetricsRegistry registry;
  absl::StatusOr<std::unique_ptr<FeedService>> s =
      FeedService::Create(*finalized, &arena, &registry);
  ASSERT_TRUE(s.ok()) << s.status();
  const v1::DescribeResponse d = (*s)->Describe();
  ASSERT_EQ(d.datasets_size(), 3);
  EXPECT_EQ(d.datasets(2).name(), "mix");
  EXPECT_EQ(d.datasets(2).num_samples(), 2 * testing::kServerTestSamples);
  ASSERT_EQ(d.datasets(2).components_size(), 2);
  EXPECT_EQ(d.datasets(2).weights(0), 3.0);
  v1::StreamBatchesRequest r;
  r.set_dataset("mix");
  r.set_batch_size(64);
  absl::StatusOr<std::unique_ptr<FeedStream>> stream = (*s)->OpenStream(r, "t");
  ASSERT_TRUE(stream.ok()) << stream.status();
  absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
  ASSERT_TRUE(next.ok() && next->has_value());
  int from_b = 0;
  for (uint32_t ds : (*next)->batch.datasets) from_b += ds == 1;
  EXPECT_GT(from_b, 0);
  EXPECT_LT(from_b, 32) << "weights 3:1";
}

}  // namespace
}  // namespace maskfeed
