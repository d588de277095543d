// Metrics of streams, with no transport: counters each stream updates lock-free, and a
// registry that lists live streams, keeps totals of closed ones, and renders everything in
// the Prometheus text format for whoever serves it.
#ifndef MASKFEED_PIPELINE_STREAM_STREAM_METRICS_H_
#define MASKFEED_PIPELINE_STREAM_STREAM_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace maskfeed {

struct StreamMetrics {
  explicit StreamMetrics(std::vector<std::string> modality_names);

  const std::vector<std::string> modalities;
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> samples{0};
  std::atomic<uint64_t> bytes{0};            // tensor bytes produced
  std::atomic<uint64_t> skipped_records{0};  // corrupt samples masked out under the skip policy
  // Samples whose budget draws never met every modality's min_tokens within 100 attempts
  // (4M warns and uses the last draw; so do we, and count it).
  std::atomic<uint64_t> budget_minimums_unmet{0};
  std::atomic<uint64_t> produce_ns{0};        // time spent building batches
  std::atomic<uint64_t> consumer_wait_ns{0};  // time the consumer waited for a batch
  std::atomic<uint64_t> queue_depth{0};       // batches ready, gauge
  // Per modality (same order as `modalities`): input and target tokens handed out.
  std::unique_ptr<std::atomic<uint64_t>[]> input_tokens;
  std::unique_ptr<std::atomic<uint64_t>[]> target_tokens;
};

class MetricsRegistry {
 public:
  // A new stream's metrics; `id` labels it ("rank0-seed7", a connection id...).
  std::shared_ptr<StreamMetrics> Register(const std::string& id,
                                          std::vector<std::string> modality_names);
  // Folds a closed stream's counters into the totals and forgets it.
  void Unregister(const std::string& id);

  size_t active_streams() const;
  // Prometheus text exposition: totals, per-stream gauges, per-modality token counters.
  std::string RenderPrometheus() const;

 private:
  struct Totals {
    uint64_t batches = 0, samples = 0, bytes = 0, skipped = 0, unmet = 0, streams_closed = 0;
    std::map<std::string, uint64_t> input_tokens, target_tokens;
    void Add(const StreamMetrics& m);  // a stream's counters, not streams_closed
  };
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<StreamMetrics>> live_;  // guarded by mu_
  Totals closed_;                                               // guarded by mu_
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STREAM_STREAM_METRICS_H_
