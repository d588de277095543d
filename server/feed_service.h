// The Feed service without a transport: opens the configured datasets once, describes them,
// and turns StreamBatches requests into streams, enforcing the server's limits. Every method
// returns a status whose code has the fixed meaning docs/server.md lists; the gRPC adapter
// (grpc_feed_service.h) only converts. Tests drive this class directly.
//
//   absl::StatusOr<std::unique_ptr<FeedService>> service = FeedService::Create(config, &arena);
//   absl::StatusOr<std::unique_ptr<FeedStream>> stream = (*service)->OpenStream(request, peer);
//   for (auto next = (*stream)->Next(); next.ok() && next->has_value(); next = (*stream)->Next()) {
//     send(**next);
//   }
//   (*service)->BeginShutdown();  // live streams end with UNAVAILABLE, new ones are refused
#ifndef MASKFEED_SERVER_FEED_SERVICE_H_
#define MASKFEED_SERVER_FEED_SERVICE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "maskfeed/v1/feed.pb.h"
#include "maskfeed/v1/server_config.pb.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/source/served_source.h"
#include "pipeline/stream/stream.h"

namespace maskfeed {

class FeedService;

// One client's stream. Not thread-safe except Cancel(), which any thread may call.
class FeedStream {
 public:
  ~FeedStream();  // frees the stream's slot and logs its close line

  // The next batch; nullopt after max_batches. UNAVAILABLE once the server drains, CANCELLED
  // after Cancel(), or the pipeline's error (DATA_LOSS naming file and record...).
  absl::StatusOr<std::optional<StreamBatch>> Next();
  // The client went away: stop producing now.
  void Cancel();
  // Resumes after the last batch Next() returned.
  const std::string& resume_token() const { return stream_->resume_token(); }
  const std::string& id() const { return id_; }
  // Records how the stream ended, for its close log line.
  void SetFinalStatus(const absl::Status& status) { final_status_ = status; }

 private:
  friend class FeedService;
  FeedStream(FeedService* service, std::string id, std::unique_ptr<Stream> stream,
             uint64_t max_batches, uint64_t reserved_bytes)
      : service_(service),
        id_(std::move(id)),
        stream_(std::move(stream)),
        max_batches_(max_batches),
        reserved_bytes_(reserved_bytes) {}

  FeedService* const service_;
  const std::string id_;
  std::unique_ptr<Stream> stream_;
  const uint64_t max_batches_;     // 0 = endless
  const uint64_t reserved_bytes_;  // of limits.max_buffered_bytes, given back on close
  const std::chrono::steady_clock::time_point opened_ = std::chrono::steady_clock::now();
  uint64_t batches_ = 0, samples_ = 0, bytes_ = 0;
  std::atomic<bool> cancelled_{false};
  absl::Status final_status_;
};

class FeedService {
 public:
  // Opens every dataset of a finalized config (FinalizeServerConfig) and checks it against its
  // masking config. Errors name the dataset ("dataset 'cc12m': ...").
  // Requires: `arena` and `registry` outlive the service and its streams.
  static absl::StatusOr<std::unique_ptr<FeedService>> Create(const v1::ServerConfig& config,
                                                             tbb::task_arena* arena,
                                                             MetricsRegistry* registry);
  ~FeedService();

  v1::DescribeResponse Describe() const;
  // INVALID_ARGUMENT naming the request field, NOT_FOUND for an unknown dataset,
  // RESOURCE_EXHAUSTED past limits.max_streams or limits.max_buffered_bytes (each stream
  // reserves Stream::BufferBudget), UNAVAILABLE while draining.
  absl::StatusOr<std::unique_ptr<FeedStream>> OpenStream(const v1::StreamBatchesRequest& request,
                                                         const std::string& peer);
  v1::Stats GetStats() const;
  // Prometheus text: the streams' metrics and the server's own counters.
  std::string RenderPrometheus() const;

  // Refuses new streams and ends live ones with UNAVAILABLE (their Next() returns promptly).
  void BeginShutdown();
  bool draining() const { return draining_; }
  size_t active_streams() const;
  // Batch buffer bytes reserved by live streams and streams being opened.
  uint64_t reserved_bytes() const;
  // The largest message a stream can produce (Limits.max_message_bytes).
  uint64_t max_message_bytes() const { return max_message_bytes_; }

 private:
  FeedService(const v1::ServerConfig& config, tbb::task_arena* arena, MetricsRegistry* registry)
      : config_(config), arena_(arena), registry_(registry) {}
  // The options of a stream of `served` for `request` (its order with the overrides applied).
  absl::StatusOr<StreamOptions> OptionsFor(const v1::StreamBatchesRequest& request,
                                           const ServedSource& served) const;
  const ServedSource* Find(const std::string& name) const;
  // Counts and logs a refused request; returns `status`.
  absl::Status Reject(const std::string& peer, absl::Status status);
  void Close(FeedStream* stream);

  friend class FeedStream;

  const v1::ServerConfig config_;
  tbb::task_arena* const arena_;
  MetricsRegistry* const registry_;
  std::vector<ServedSource> served_;  // datasets, then mixtures; fixed after Create
  v1::DescribeResponse description_;
  uint64_t max_message_bytes_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<uint64_t> next_id_{1};
  // Counters /metrics and GetStats read while streams update them.
  std::atomic<uint64_t> opened_{0}, rejected_{0}, batches_{0}, samples_{0}, bytes_{0};

  mutable std::mutex mu_;
  std::set<FeedStream*> live_;   // guarded by mu_
  size_t pending_ = 0;           // slots held by streams being opened; guarded by mu_
  uint64_t reserved_bytes_ = 0;  // of limits.max_buffered_bytes; guarded by mu_
};

}  // namespace maskfeed

#endif  // MASKFEED_SERVER_FEED_SERVICE_H_
