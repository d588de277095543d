// A trainer's view of a maskfeed stream: batches in order, fetched ahead by a background
// thread, surviving servers that go away. On UNAVAILABLE (a server shutting down, killed, or
// unreachable) or RESOURCE_EXHAUSTED (a full server) the feed reconnects — to the next
// address of its list, with exponential backoff — and resumes from the token of the last
// batch it received, so the sequence the caller sees has no gap and no repeat.
//
//   FeedOptions options;
//   options.addresses = {"unix:/run/maskfeed/feed.sock", "10.0.0.7:50051"};
//   options.request.set_batch_size(128);
//   options.request.set_resume_token(checkpoint.token);  // or empty: from the start
//   absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(options);
//   for (auto batch = (*feed)->Next(); batch.ok() && batch->has_value();
//        batch = (*feed)->Next()) {
//     train((*batch)->batch);
//     checkpoint.token = (*feed)->state();
//   }
// client/cpp/examples/minimal_trainer.cc is this loop as a program.
#ifndef MASKFEED_CLIENT_CPP_FEED_H_
#define MASKFEED_CLIENT_CPP_FEED_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/cpp/feed_client.h"
#include "client/cpp/pixels.h"
#include "pipeline/base/bounded_queue.h"

namespace maskfeed {

struct FeedOptions {
  static constexpr uint32_t kDefaultPrefetch = 2;

  // Servers serving the same dataset and config, tried in order (and round again).
  std::vector<std::string> addresses;
  // TLS for the "host:port" addresses (LoadChannelTls); none: plaintext.
  std::optional<ChannelTls> tls;
  // The stream; its resume_token says where to start, its max_batches how many to deliver.
  v1::StreamBatchesRequest request;
  // Batches received ahead of the caller.
  uint32_t prefetch = kDefaultPrefetch;
  // Backoff between reconnection attempts: doubles from `initial_backoff` up to `max_backoff`.
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  // Gives up (Next() returns the last error) after this long without receiving a batch.
  std::chrono::milliseconds reconnect_timeout{60000};
  // A call that delivers no batch for this long while the feed waits on it is cancelled and
  // the feed fails over (a frozen server, a partition that TCP does not see). Keep it below
  // reconnect_timeout. The channel's keepalive pings (MakeFeedChannel) catch a dead transport
  // even without it.
  std::chrono::milliseconds stall_timeout{30000};
  // A pixel modality's (rgb@S) tensor: 4M's normalised float32 (B, 3, S, S), computed on the
  // feed's thread ahead of the caller, or the uint8 bytes as sent (pixels.h).
  PixelOutput pixels = PixelOutput::kNormalized;
};

class Feed {
 public:
  // INVALID_ARGUMENT without addresses. Connection problems surface from Next().
  static absl::StatusOr<std::unique_ptr<Feed>> Open(FeedOptions options);
  ~Feed();  // stops the background thread and its call

  // The next batch; nullopt after request.max_batches. Errors that reconnecting cannot fix
  // (INVALID_ARGUMENT, NOT_FOUND, DATA_LOSS, or the reconnect timeout) end the feed, and every
  // later call returns the same error.
  absl::StatusOr<std::optional<StreamBatch>> Next();
  // The token resuming right after the last batch Next() returned (what to checkpoint).
  const std::string& state() const { return state_; }
  // Connections opened so far (1 + reconnections), for logs and tests.
  int connections() const;

 private:
  explicit Feed(FeedOptions options);
  void Run();
  // Cancels the call in progress when it has kept the feed waiting past stall_timeout.
  void Watch();
  // Sleeps `d` unless stopped; false when stopped.
  bool Sleep(std::chrono::milliseconds d);

  const FeedOptions options_;
  std::shared_ptr<BufferPool> pixel_pool_;  // the normalised pixel tensors' buffers
  BoundedQueue<absl::StatusOr<std::optional<StreamBatch>>> queue_;
  std::string state_;   // consumer side
  bool ended_ = false;  // consumer side
  absl::Status final_;  // consumer side: how the feed ended; Next() keeps returning it

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;          // guarded by mu_
  BatchReader* reader_ = nullptr;  // guarded by mu_: the call in progress, to cancel it
  int connections_ = 0;            // guarded by mu_
  // guarded by mu_: since when the feed waits on reader_->Next() (nullopt: not waiting), and
  // whether the watchdog cancelled the call in progress.
  std::optional<std::chrono::steady_clock::time_point> waiting_since_;
  bool stalled_ = false;
  std::thread thread_;
  std::thread watchdog_;
};

}  // namespace maskfeed

#endif  // MASKFEED_CLIENT_CPP_FEED_H_
