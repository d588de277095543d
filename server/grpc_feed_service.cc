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
        trim_(owner->trim_),
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
  ~BatchWriter() override { trim_->Request(); }  // after the stream's last buffers are freed

  void Pump() {
    absl::Status status;
    bool sent_any = false;
    while (true) {
      // Take the next batch only when the last one has been written: a stream then holds one
      // batch in gRPC's hands beside its queue, however slowly its client reads.
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !writing_ || broken_; });
        if (broken_) {
          status = absl::CancelledError("the client went away");
          break;
        }
      }
      absl::StatusOr<std::optional<StreamBatch>> next = stream_->Next();
      if (!next.ok()) {
        status = next.status();
        break;
      }
      if (!next->has_value()) break;  // max_batches sent
      std::string token = (*next)->resume_token;
      grpc::ByteBuffer message = EncodeBatch(std::move(**next));
      std::unique_lock<std::mutex> lock(mu_);
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
  std::atomic<int> refs_{2};                  // the pump thread and gRPC
  const std::shared_ptr<DeferredTrim> trim_;  // shared: gRPC may delete this after the service

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

// Parses a request's bytes as `T`; false when they are not one.
template <typename T>
bool ParseRequest(const grpc::ByteBuffer* request, T* parsed) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (request->Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return parsed->ParseFromString(bytes);
}

grpc::Status NotA(std::string_view message_name) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, StrCat("request: not a ", message_name));
}

// A unary call answered at once: `make()` serialised into `response`, or `NotA(Request)` when
// the request's bytes do not decode.
template <typename Request, typename Make>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                                 Make make) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Request parsed;
  if (!ParseRequest(request, &parsed)) {
    reactor->Finish(NotA(Request::descriptor()->name()));
    return reactor;
  }
  const std::string bytes = make().SerializeAsString();
  grpc::Slice slice(bytes);
  *response = grpc::ByteBuffer(&slice, 1);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* GrpcFeedService::Describe(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return Answer<v1::DescribeRequest>(context, request, response,
                                     [&] { return service_->Describe(); });
}

grpc::ServerUnaryReactor* GrpcFeedService::GetStats(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return Answer<v1::GetStatsRequest>(context, request, response,
                                     [&] { return service_->GetStats(); });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* GrpcFeedService::StreamBatches(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  v1::StreamBatchesRequest parsed;
  if (!ParseRequest(request, &parsed)) {
    return new RejectedWriter(absl::InvalidArgumentError("request: not a StreamBatchesRequest"));
  }
  absl::StatusOr<std::unique_ptr<FeedStream>> stream =
      service_->OpenStream(parsed, context->peer());
  if (!stream.ok()) return new RejectedWriter(stream.status());
  return new BatchWriter(this, context, std::move(*stream));
}

}  // namespace maskfeed
