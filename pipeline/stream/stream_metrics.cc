#include "pipeline/stream/stream_metrics.h"

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
  const StreamMetrics& m = *it->second;
  closed_.batches += m.batches;
  closed_.samples += m.samples;
  closed_.bytes += m.bytes;
  closed_.skipped += m.skipped_records;
  closed_.unmet += m.budget_minimums_unmet;
  ++closed_.streams_closed;
  for (size_t i = 0; i < m.modalities.size(); ++i) {
    closed_.input_tokens[m.modalities[i]] += m.input_tokens[i];
    closed_.target_tokens[m.modalities[i]] += m.target_tokens[i];
  }
  live_.erase(it);
}

size_t MetricsRegistry::active_streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_.size();
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  Totals t = closed_;
  for (const auto& [id, m] : live_) {
    t.batches += m->batches;
    t.samples += m->samples;
    t.bytes += m->bytes;
    t.skipped += m->skipped_records;
    t.unmet += m->budget_minimums_unmet;
    for (size_t i = 0; i < m->modalities.size(); ++i) {
      t.input_tokens[m->modalities[i]] += m->input_tokens[i];
      t.target_tokens[m->modalities[i]] += m->target_tokens[i];
    }
  }
  std::string out;
  auto counter = [&](std::string_view name, std::string_view help, uint64_t value) {
    StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ", value,
              "\n");
  };
  counter("maskfeed_batches_total", "Batches produced.", t.batches);
  counter("maskfeed_samples_total", "Samples produced.", t.samples);
  counter("maskfeed_bytes_total", "Tensor bytes produced.", t.bytes);
  counter("maskfeed_skipped_records_total", "Corrupt samples masked out under the skip policy.",
          t.skipped);
  counter("maskfeed_budget_minimums_unmet_total",
          "Samples whose budget draws missed a modality's min_tokens after 100 attempts.", t.unmet);
  counter("maskfeed_streams_closed_total", "Streams that have ended.", t.streams_closed);
  StrAppend(&out, "# HELP maskfeed_active_streams Streams open now.\n",
            "# TYPE maskfeed_active_streams gauge\nmaskfeed_active_streams ", live_.size(), "\n");
  StrAppend(&out, "# HELP maskfeed_stream_queue_depth Batches ready in a stream's queue.\n",
            "# TYPE maskfeed_stream_queue_depth gauge\n");
  for (const auto& [id, m] : live_) {
    StrAppend(&out, "maskfeed_stream_queue_depth{stream=\"", id, "\"} ", m->queue_depth.load(),
              "\n");
  }
  StrAppend(&out,
            "# HELP maskfeed_stream_consumer_wait_seconds Time a consumer waited for batches.\n",
            "# TYPE maskfeed_stream_consumer_wait_seconds counter\n");
  for (const auto& [id, m] : live_) {
    StrAppend(&out, "maskfeed_stream_consumer_wait_seconds{stream=\"", id, "\"} ",
              m->consumer_wait_ns.load() / 1e9, "\n");
  }
  for (const auto& [kind, tokens] :
       {std::pair{"input", &t.input_tokens}, {"target", &t.target_tokens}}) {
    StrAppend(&out, "# HELP maskfeed_", kind, "_tokens_total ", kind, " tokens handed out.\n",
              "# TYPE maskfeed_", kind, "_tokens_total counter\n");
    for (const auto& [name, value] : *tokens) {
      StrAppend(&out, "maskfeed_", kind, "_tokens_total{modality=\"", name, "\"} ", value, "\n");
    }
  }
  return out;
}

}  // namespace maskfeed
