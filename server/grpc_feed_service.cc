#include "server/grpc_feed_service.h"

#include <atomic>
#include <thread>

#include "pipeline/base/strings.h"
#include "server/batch_wire.h"

namespace maskfeed {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(ToStd(status.message())));
}

namespace {

// Ends a call that failed before a stream existed.
class RejectedWriter final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit RejectedWriter(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

// One StreamBatches call. Owned jointly by the pump thread and gRPC (until OnDone): whichever
// lets go last deletes it.
class BatchWriter final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  BatchWriter(GrpcFeedService* owner, grpc::CallbackServerContext* context,
              std::unique_ptr<FeedStream> stream)
      : owner_(owner),
        context_(context),
        stream_(std::move(stream)),
        last_token_(stream_->resume_token()) {
    owner_->PumpStarted();
    std::thread([this] { Pump(); }).detach();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) broken_ = true;
    cv_.notify_all();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (stream_ != nullptr) stream_->Cancel();  // unblocks the pump if it waits for a batch
    broken_ = true;
    cv_.notify_all();
  }

  void OnDone() override { Unref(); }

 private:
  void Pump() {
    absl::Status status;
    bool sent_any = false;
    while (true) {
      absl::StatusOr<std::optional<StreamBatch>> next = stream_->Next();
      if (!next.ok()) {
        status = next.status();
        break;
      }
      if (!next->has_value()) break;  // max_batches sent
      std::string token = (*next)->resume_token;
      grpc::ByteBuffer message = EncodeBatch(std::move(**next));
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !writing_ || broken_; });
      if (broken_) {
        status = absl::CancelledError("the client went away");
        break;
      }
      writing_ = true;
      message_ = std::move(message);  // lives until OnWriteDone
      last_token_ = std::move(token);
      sent_any = true;
      StartWrite(&message_);
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !writing_; });  // Finish only after the last write completes
      if (broken_ && status.ok()) status = absl::CancelledError("the client went away");
    }
    if (!status.ok() && status.code() != absl::StatusCode::kCancelled &&
        (sent_any || status.code() == absl::StatusCode::kUnavailable)) {
      context_->AddTrailingMetadata(kResumeTokenMetadataKey, last_token_);
    }
    std::unique_ptr<FeedStream> ended;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ended = std::move(stream_);
    }
    ended->SetFinalStatus(status);
    ended.reset();  // frees the stream's slot before the client sees the end
    Finish(ToGrpcStatus(status));
    GrpcFeedService* owner = owner_;
    Unref();
    owner->PumpExited();
  }

  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  GrpcFeedService* const owner_;
  grpc::CallbackServerContext* const context_;
  // Set once; reset only by the pump, under mu_, which OnCancel holds while cancelling it.
  std::unique_ptr<FeedStream> stream_;
  std::atomic<int> refs_{2};  // the pump thread and gRPC

  std::mutex mu_;
  std::condition_variable cv_;
  bool writing_ = false;  // guarded by mu_: a write is in flight
  bool broken_ = false;   // guarded by mu_: cancelled or a write failed
  grpc::ByteBuffer message_;
  std::string last_token_;  // resumes after the last batch whose write started
};

void GrpcFeedService::WaitForPumps() {
  std::unique_lock<std::mutex> lock(mu_);
  pumps_done_.wait(lock, [&] { return pumps_ == 0; });
}

bool GrpcFeedService::WaitForPumpsUntil(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return pumps_done_.wait_until(lock, deadline, [&] { return pumps_ == 0; });
}

void GrpcFeedService::PumpStarted() {
  std::lock_guard<std::mutex> lock(mu_);
  ++pumps_;
}

void GrpcFeedService::PumpExited() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--pumps_ == 0) pumps_done_.notify_all();
}

namespace {

// A unary call answered at once with `value`.
template <typename T>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, T value, T* response) {
  *response = std::move(value);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* GrpcFeedService::Describe(grpc::CallbackServerContext* context,
                                                    const v1::DescribeRequest* /*request*/,
                                                    v1::DescribeResponse* response) {
  return Answer(context, service_->Describe(), response);
}

grpc::ServerUnaryReactor* GrpcFeedService::GetStats(grpc::CallbackServerContext* context,
                                                    const v1::GetStatsRequest* /*request*/,
                                                    v1::Stats* response) {
  return Answer(context, service_->GetStats(), response);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* GrpcFeedService::StreamBatches(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  std::vector<grpc::Slice> slices;
  v1::StreamBatchesRequest parsed;
  std::string bytes;
  if (request->Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  if (!parsed.ParseFromString(bytes)) {
    return new RejectedWriter(absl::InvalidArgumentError("request: not a StreamBatchesRequest"));
  }
  absl::StatusOr<std::unique_ptr<FeedStream>> stream =
      service_->OpenStream(parsed, context->peer());
  if (!stream.ok()) return new RejectedWriter(stream.status());
  return new BatchWriter(this, context, std::move(*stream));
}

}  // namespace maskfeed
