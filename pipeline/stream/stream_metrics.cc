#include "pipeline/stream/stream_metrics.h"

#include "pipeline/base/prometheus_text.h"
#include "pipeline/base/strings.h"

namespace maskfeed {

StreamMetrics::StreamMetrics(std::vector<std::string> names)
    : modalities(std::move(names)),
      input_tokens(new std::atomic<uint64_t>[modalities.size()]),
      target_tokens(new std::atomic<uint64_t>[modalities.size()]) {
  for (size_t m = 0; m < modalities.size(); ++m) {
    input_tokens[m] = 0;
    target_tokens[m] = 0;
  }
}

void MetricsRegistry::Totals::Add(const StreamMetrics& m) {
  batches += m.batches;
  samples += m.samples;
  bytes += m.bytes;
  skipped += m.skipped_records;
  unmet += m.budget_minimums_unmet;
  for (size_t i = 0; i < m.modalities.size(); ++i) {
    input_tokens[m.modalities[i]] += m.input_tokens[i];
    target_tokens[m.modalities[i]] += m.target_tokens[i];
  }
}

std::shared_ptr<StreamMetrics> MetricsRegistry::Register(const std::string& id,
                                                         std::vector<std::string> names) {
  auto metrics = std::make_shared<StreamMetrics>(std::move(names));
  std::lock_guard<std::mutex> lock(mu_);
  live_[id] = metrics;
  return metrics;
}

void MetricsRegistry::Unregister(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return;
  closed_.Add(*it->second);
  ++closed_.streams_closed;
  live_.erase(it);
}

size_t MetricsRegistry::active_streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_.size();
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  Totals t = closed_;
  for (const auto& [id, m] : live_) t.Add(*m);
  PrometheusText page;
  page.Counter("maskfeed_batches_total", "Batches produced.", t.batches);
  page.Counter("maskfeed_samples_total", "Samples produced.", t.samples);
  page.Counter("maskfeed_bytes_total", "Tensor bytes produced.", t.bytes);
  page.Counter("maskfeed_skipped_records_total",
               "Corrupt samples masked out under the skip policy.", t.skipped);
  page.Counter("maskfeed_budget_minimums_unmet_total",
               "Samples whose budget draws missed a modality's min_tokens after 100 attempts.",
               t.unmet);
  page.Counter("maskfeed_streams_closed_total", "Streams that have ended.", t.streams_closed);
  page.Gauge("maskfeed_active_streams", "Streams open now.", live_.size());
  page.Family("maskfeed_stream_queue_depth", "gauge", "Batches ready in a stream's queue.");
  for (const auto& [id, m] : live_) {
    page.Sample("maskfeed_stream_queue_depth", {{"stream", id}}, m->queue_depth.load());
  }
  page.Family("maskfeed_stream_consumer_wait_seconds", "counter",
              "Time a consumer waited for batches.");
  for (const auto& [id, m] : live_) {
    page.Sample("maskfeed_stream_consumer_wait_seconds", {{"stream", id}},
                m->consumer_wait_ns.load() / 1e9);
  }
  for (const auto& [kind, tokens] :
       {std::pair{"input", &t.input_tokens}, {"target", &t.target_tokens}}) {
    const std::string name = StrCat("maskfeed_", kind, "_tokens_total");
    page.Family(name, "counter", StrCat(kind, " tokens handed out."));
    for (const auto& [modality, value] : *tokens) {
      page.Sample(name, {{"modality", modality}}, value);
    }
  }
  return page.Take();
}

}  // namespace maskfeed
