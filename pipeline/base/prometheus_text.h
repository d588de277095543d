// Builds a page of the Prometheus text exposition format (version 0.0.4): each metric family
// with its HELP and TYPE lines, then its samples, labels escaped as the format requires.
// Everything maskfeed exports at /metrics goes through this one writer.
//
//   PrometheusText page;
//   page.Counter("maskfeed_batches_total", "Batches produced.", 42);
//   page.Family("maskfeed_stream_queue_depth", "gauge", "Batches ready in a stream's queue.");
//   page.Sample("maskfeed_stream_queue_depth", {{"stream", "s1-rank0"}}, 2);
//   std::string text = page.Take();
#ifndef MASKFEED_PIPELINE_BASE_PROMETHEUS_TEXT_H_
#define MASKFEED_PIPELINE_BASE_PROMETHEUS_TEXT_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace maskfeed {

class PrometheusText {
 public:
  using Label = std::pair<std::string_view, std::string_view>;

  // HELP and TYPE lines of a family ("counter" or "gauge"); its samples follow.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // A family with one unlabelled sample.
  void Counter(std::string_view name, std::string_view help, double value);
  void Gauge(std::string_view name, std::string_view help, double value);

  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_PROMETHEUS_TEXT_H_
