// The gRPC face of FeedService: a thin callback-API adapter. Describe and GetStats convert
// and return; StreamBatches runs one reactor per stream with one write in flight. A stream's
// batches come from FeedStream::Next(), which blocks while the pipeline works, so each reactor
// has a pump thread that waits for batches and starts writes; the reactor's callbacks only
// signal it and never block. Batches go out through EncodeBatch (no tensor copies).
//
// When a stream ends with an error after batches were sent (UNAVAILABLE on shutdown,
// DATA_LOSS...), the token resuming after the last batch sent is in the trailing metadata
// under kResumeTokenMetadataKey.
#ifndef MASKFEED_SERVER_GRPC_FEED_SERVICE_H_
#define MASKFEED_SERVER_GRPC_FEED_SERVICE_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "maskfeed/v1/feed.grpc.pb.h"
#include "server/deferred_trim.h"
#include "server/feed_service.h"

namespace maskfeed {

inline constexpr char kResumeTokenMetadataKey[] = "maskfeed-resume-token-bin";

grpc::Status ToGrpcStatus(const absl::Status& status);

// Every method takes raw bytes so that a request that does not decode is answered
// INVALID_ARGUMENT with a message (typed handlers would answer a bare UNIMPLEMENTED).
class GrpcFeedService final
    : public v1::Feed::WithRawCallbackMethod_Describe<v1::Feed::WithRawCallbackMethod_GetStats<
          v1::Feed::WithRawCallbackMethod_StreamBatches<v1::Feed::CallbackService>>> {
 public:
  // Requires: `service` outlives this adapter.
  explicit GrpcFeedService(FeedService* service) : service_(service) {}
  ~GrpcFeedService() override { WaitForPumps(); }
  // Waits until every stream's pump thread has exited (each has finished its call).
  // Requires: no new streams can start (the service drains or the server is shut down).
  void WaitForPumps();
  // The same, giving up at `deadline`; false if some are still running then.
  bool WaitForPumpsUntil(std::chrono::steady_clock::time_point deadline);

  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamBatches(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;

 private:
  friend class BatchWriter;
  void PumpStarted();
  void PumpExited();

  FeedService* const service_;
  // Returns the memory of ended streams to the system (their writers request it).
  const std::shared_ptr<DeferredTrim> trim_ =
      std::make_shared<DeferredTrim>(std::chrono::milliseconds(300));
  std::mutex mu_;
  std::condition_variable pumps_done_;
  int pumps_ = 0;  // guarded by mu_
};

}  // namespace maskfeed

#endif  // MASKFEED_SERVER_GRPC_FEED_SERVICE_H_
