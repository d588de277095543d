// A stream: the endless (or max_batches-long), reproducible sequence of batches of one rank,
// produced ahead of the consumer on the process's shared TBB arena into a bounded queue.
//
//   absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(source, options, &arena);
//   while (true) {
//     absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
//     if (!next.ok()) ...           // the stream ended with this error (DATA_LOSS, ...)
//     if (!next->has_value()) break;  // max_batches delivered
//     train((*next)->batch); checkpoint((*next)->resume_token);
//   }
//
// A producer thread builds one batch at a time (its rows in parallel on the arena) and blocks
// while the queue holds queue_depth batches: with the one it has built and the one the
// consumer holds, a stream has at most queue_depth + 2 batches alive, however slowly it is
// read (buffer_bytes() says how many bytes).
// Cancel() (or destroying the stream) stops it promptly: no work keeps running afterwards.
// One thread consumes a stream (Next); Cancel may be called from any thread.
#ifndef MASKFEED_PIPELINE_STREAM_STREAM_H_
#define MASKFEED_PIPELINE_STREAM_STREAM_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/base/bounded_queue.h"
#include "pipeline/batch/batch.h"
#include "pipeline/order/order_spec.h"
#include "pipeline/stream/batch_producer.h"
#include "pipeline/stream/resume_token.h"
#include "pipeline/stream/shard_holds.h"
#include "pipeline/stream/stream_metrics.h"
#include "pipeline/stream/stream_source.h"

namespace maskfeed {

struct StreamOptions {
  static constexpr uint32_t kDefaultQueueDepth = 2;

  uint32_t batch_size = 0;  // required
  uint32_t rank = 0;
  uint32_t world_size = 1;
  uint64_t seed = 0;
  // Repeats, epochs, shuffling, shard windows, per-host shares (order_spec.h). Part of the
  // resume token's fingerprint.
  OrderSpec order;
  // Data fetched on demand (remote roots): the most bytes of shards the stream holds ahead of
  // need (the shard cache's limit; shard_holds.h); 0 = unbounded. A global order (no
  // window_shards) over such data is refused when the data is larger than this.
  uint64_t hold_budget_bytes = 0;
  bool int64_tokens = false;
  // Build batches in their compact wire forms (for ENCODING_PACKED streams): tensors that
  // pack have ModalityBatch::packed set and no plain buffer. The same values and resume
  // tokens as an unpacked stream.
  bool pack_for_wire = false;
  CorruptRecordPolicy on_corrupt = CorruptRecordPolicy::kFail;
  // Continue after the batch this token was issued with; empty = from the start.
  std::string resume_token;
  // Instead: the last tokens of every rank of an earlier job with another world size or batch
  // size, to go on where they stopped together (resume_token.h: ResumeFrom).
  std::vector<std::string> resume_tokens;
  uint32_t queue_depth = kDefaultQueueDepth;
  // Batches to deliver, then end normally; 0 = endless.
  uint64_t max_batches = 0;
  // An evaluation pass (with an order that does not shuffle or repeat): positions from this
  // one on hold no sample, and the stream ends after its last batch with a sample — padded
  // with fully masked rows to the batch size, and as many batches as every rank gets, or
  // (partial_last) cut to the rows it has. 0 = an endless stream.
  uint64_t end_position = 0;
  bool partial_last = false;
  // Label of the stream in metrics; empty = "rank<r>-<n>".
  std::string id;
  // ProducerOptions::row_hook (tests only).
  std::function<void(uint64_t batch, uint32_t row)> row_hook;

  // INVALID_ARGUMENT naming the field (the order is checked when it is built).
  absl::Status Validate() const;
};

class Stream {
 public:
  static absl::StatusOr<std::unique_ptr<Stream>> Open(std::shared_ptr<const MixtureSource> source,
                                                      const StreamOptions& options,
                                                      tbb::task_arena* arena,
                                                      MetricsRegistry* registry = nullptr);
  // A stream over one dataset.
  static absl::StatusOr<std::unique_ptr<Stream>> Open(std::shared_ptr<const StreamSource> source,
                                                      const StreamOptions& options,
                                                      tbb::task_arena* arena,
                                                      MetricsRegistry* registry = nullptr) {
    return Open(MixtureSource::Single(std::move(source)), options, arena, registry);
  }
  ~Stream();

  // The bytes of batch buffers a stream of `source` with `options` holds at most (what
  // buffer_bytes() stays within while its consumer holds one batch at a time).
  static size_t BufferBudget(const MixtureSource& source, const StreamOptions& options);

  // The next batch; nullopt after max_batches. An error ends the stream: every later call
  // returns the same error (never a clean end a training loop could mistake for the data's).
  absl::StatusOr<std::optional<StreamBatch>> Next();
  // Stops production promptly; Next() then returns CANCELLED.
  void Cancel();

  // The token to resume after the last batch Next() returned (the start, if none yet).
  const std::string& resume_token() const { return last_token_; }
  const StreamMetrics& metrics() const { return *metrics_; }
  // Bytes of batch buffers the stream holds (queued, being built, the consumer's, cached):
  // at most (queue_depth + 2) batches' worth.
  size_t buffer_bytes() const { return producer_.buffer_bytes(); }
  // The most batches the queue held at once (never above queue_depth).
  size_t queue_high_water() const { return queue_.high_water(); }

 private:
  Stream(std::shared_ptr<const MixtureSource> source, MixtureOrder order,
         const StreamOptions& options, tbb::task_arena* arena, MetricsRegistry* registry,
         std::shared_ptr<StreamMetrics> metrics, ResumeState state);
  static ProducerOptions ProducerOptionsFor(const StreamOptions& options, const ResumeState& state);
  void Run();
  // producer_.Produce with any exception turned into a status.
  absl::StatusOr<Batch> ProduceCatching(uint64_t index);

  const StreamOptions options_;
  MetricsRegistry* registry_;
  std::shared_ptr<StreamMetrics> metrics_;
  ResumeState state_;                  // next_batch = the first batch to produce
  uint64_t end_batch_ = ~uint64_t{0};  // an evaluation pass ends before this batch
  BatchProducer producer_;
  BoundedQueue<absl::StatusOr<StreamBatch>> queue_;
  std::atomic<bool> cancelled_{false};
  std::unique_ptr<ShardHolds> holds_;  // producer thread only
  std::string last_token_;
  bool ended_ = false;  // consumer side only
  absl::Status final_;  // consumer side only: how the stream ended; Next() keeps returning it
  std::thread thread_;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STREAM_STREAM_H_
