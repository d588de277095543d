#include "server/feed_service.h"

#include <algorithm>

#include "frontend/malloc_tuning.h"  // ResidentBytes
#include "pipeline/base/log.h"
#include "pipeline/base/prometheus_text.h"
#include "pipeline/base/strings.h"
#include "server/service_description.h"

namespace maskfeed {
namespace {

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", s);
  return buf;
}

}  // namespace

// ---- FeedStream ----

FeedStream::~FeedStream() {
  stream_->Cancel();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - opened_).count();
  LogEvent(final_status_.ok() ? "info" : "warn", "stream_close",
           {{"id", id_},
            {"status", std::string(absl::StatusCodeToString(final_status_.code()))},
            {"message", std::string(ToStd(final_status_.message()))},
            {"batches", std::to_string(batches_)},
            {"samples", std::to_string(samples_)},
            {"bytes", std::to_string(bytes_)},
            {"seconds", Seconds(seconds)},
            {"samples_per_s", std::to_string(static_cast<uint64_t>(
                                  seconds > 0 ? static_cast<double>(samples_) / seconds : 0))}});
  // Take the stream out under the service's lock (BeginShutdown cancels live streams under
  // it), end it (joins its producer, unregisters its metrics), then give the slot back.
  std::unique_ptr<Stream> stream;
  {
    std::lock_guard<std::mutex> lock(service_->mu_);
    stream = std::move(stream_);
  }
  stream.reset();
  service_->Close(this);
}

absl::StatusOr<std::optional<StreamBatch>> FeedStream::Next() {
  auto unavailable = [] {
    return absl::UnavailableError(
        "the server is shutting down; reconnect with the resume token of the last batch");
  };
  // A stream that has delivered all it was asked for ends normally, draining or not.
  if (max_batches_ != 0 && batches_ == max_batches_) return std::optional<StreamBatch>();
  if (service_->draining()) return unavailable();
  absl::StatusOr<std::optional<StreamBatch>> next = stream_->Next();
  if (!next.ok()) {
    if (service_->draining()) return unavailable();
    if (cancelled_) return absl::CancelledError("the client went away");
    return next;
  }
  if (next->has_value()) {
    const Batch& b = (*next)->batch;
    batches_ += 1;
    samples_ += static_cast<uint64_t>(b.size);
    bytes_ += b.bytes();
    service_->batches_ += 1;
    service_->samples_ += static_cast<uint64_t>(b.size);
    service_->bytes_ += b.bytes();
  }
  return next;
}

void FeedStream::Cancel() {
  cancelled_ = true;
  stream_->Cancel();
}

// ---- FeedService ----

absl::StatusOr<std::unique_ptr<FeedService>> FeedService::Create(const v1::ServerConfig& config,
                                                                 tbb::task_arena* arena,
                                                                 MetricsRegistry* registry) {
  std::unique_ptr<FeedService> service(new FeedService(config, arena, registry));
  absl::StatusOr<std::vector<ServedSource>> served = OpenServedSources(config, arena);
  if (!served.ok()) return served.status();
  if (served->empty()) return absl::InvalidArgumentError("dataset: at least one is required");
  service->served_ = std::move(*served);
  absl::StatusOr<ServiceDescription> description =
      DescribeService(service->served_, config.limits());
  if (!description.ok()) return description.status();
  service->description_ = std::move(description->response);
  // What a request naming no dataset streams (FinalizeDataConfig chose it when unset).
  const std::string& fallback = service->served_.front().name;
  service->description_.set_default_dataset(
      config.default_dataset().empty() ? fallback : config.default_dataset());
  for (v1::DatasetDescription& d : *service->description_.mutable_datasets()) {
    d.set_is_default(d.name() == service->description_.default_dataset());
  }
  service->max_message_bytes_ = description->max_message_bytes;
  return service;
}

FeedService::~FeedService() { BeginShutdown(); }

v1::DescribeResponse FeedService::Describe() const {
  v1::DescribeResponse response = description_;
  for (v1::DatasetDescription& d : *response.mutable_datasets()) {
    const ServedSource* served = Find(d.name());
    if (served == nullptr) continue;
    DescribeOrder(served->order, &d);
    if (served->storage) *d.mutable_storage() = served->storage->State();
  }
  return response;
}

absl::StatusOr<StreamOptions> FeedService::OptionsFor(const v1::StreamBatchesRequest& request,
                                                      const ServedSource& served) const {
  const v1::ServerLimits& limits = config_.limits();
  StreamOptions o;
  if (request.batch_size() == 0) {
    return absl::InvalidArgumentError(StrCat("batch_size: required, 1..", limits.max_batch_size()));
  }
  if (request.batch_size() > limits.max_batch_size()) {
    return absl::InvalidArgumentError(StrCat("batch_size: ", request.batch_size(),
                                             " exceeds this server's limit of ",
                                             limits.max_batch_size(), " (limits.max_batch_size)"));
  }
  o.batch_size = request.batch_size();
  if (!v1::Encoding_IsValid(request.encoding())) {
    return absl::InvalidArgumentError(
        StrCat("encoding: unknown value ", static_cast<int>(request.encoding())));
  }
  o.world_size = std::max<uint32_t>(1, request.world_size());
  if (request.rank() >= o.world_size) {
    return absl::InvalidArgumentError(
        StrCat("rank: ", request.rank(), " is not below world_size ", o.world_size));
  }
  o.rank = request.rank();
  o.seed = request.seed();
  o.resume_token = request.resume_token();
  o.resume_tokens.assign(request.resume_tokens().begin(), request.resume_tokens().end());
  o.max_batches = request.max_batches();
  o.queue_depth = limits.queue_depth();
  absl::StatusOr<OrderSpec> order =
      WithOverrides(served.order, request.overrides(), limits.max_repeats());
  if (!order.ok()) return order.status();
  o.order = *order;
  if (request.has_eval()) {
    if (served.components.size() > 1) {
      std::string names;
      for (const ServedComponent& c : served.components) {
        StrAppend(&names, names.empty() ? "" : ", ", c.name);
      }
      return absl::InvalidArgumentError(StrCat("eval: a pass reads one dataset; '", served.name,
                                               "' mixes ", names,
                                               ": evaluate each of them on its own (dataset)"));
    }
    if (request.overrides().n_repeats() != 0 || request.overrides().epoch_size() != 0) {
      return absl::InvalidArgumentError(
          "eval: a pass reads each sample once; leave overrides.n_repeats and epoch_size unset");
    }
    o.order = ForEvaluation(o.order);
    o.end_position = served.components.front().dataset->num_samples();
    o.partial_last = request.eval().last_batch() == v1::EvalPass::LAST_BATCH_PARTIAL;
  }
  o.hold_budget_bytes = served.hold_budget_bytes;
  o.int64_tokens = request.overrides().int64_tokens();
  o.pack_for_wire = request.encoding() == v1::ENCODING_PACKED;
  o.on_corrupt = served.skip_corrupt ? CorruptRecordPolicy::kSkip : CorruptRecordPolicy::kFail;
  return o;
}

const ServedSource* FeedService::Find(const std::string& name) const {
  if (name.empty()) {
    if (description_.default_dataset().empty()) return &served_.front();
    return Find(description_.default_dataset());
  }
  for (const ServedSource& s : served_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

absl::Status FeedService::Reject(const std::string& peer, absl::Status status) {
  rejected_ += 1;
  LogEvent("warn", "stream_rejected",
           {{"peer", peer},
            {"status", std::string(absl::StatusCodeToString(status.code()))},
            {"message", std::string(ToStd(status.message()))}});
  return status;
}

absl::StatusOr<std::unique_ptr<FeedStream>> FeedService::OpenStream(
    const v1::StreamBatchesRequest& request, const std::string& peer) {
  if (draining_) return Reject(peer, absl::UnavailableError("the server is shutting down"));
  const ServedSource* served = Find(request.dataset());
  if (served == nullptr) {
    std::string names;
    for (const ServedSource& s : served_) StrAppend(&names, names.empty() ? "" : ", ", s.name);
    return Reject(peer, absl::NotFoundError(StrCat("dataset: '", Printable(request.dataset()),
                                                   "' is not served here (served: ", names, ")")));
  }
  absl::StatusOr<StreamOptions> options = OptionsFor(request, *served);
  if (!options.ok()) return Reject(peer, options.status());
  const std::string id = StrCat("s", next_id_++, "-rank", options->rank);
  options->id = id;
  absl::StatusOr<std::shared_ptr<const MixtureSource>> source =
      SourceWithOverrides(*served, request.overrides(), request.has_eval());
  if (!source.ok()) return Reject(peer, source.status());

  // Hold a slot and the stream's buffer bytes before the producer starts, so neither
  // max_streams nor max_buffered_bytes is ever exceeded.
  const uint64_t need = Stream::BufferBudget(**source, *options);
  const uint64_t budget = config_.limits().max_buffered_bytes();
  bool full = false, no_room = false;
  size_t live = 0;
  uint64_t reserved = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    live = live_.size();
    reserved = reserved_bytes_;
    full = live + pending_ >= config_.limits().max_streams();
    no_room = !full && need > budget - reserved_bytes_;
    if (!full && !no_room) {
      pending_ += 1;
      reserved_bytes_ += need;
    }
  }
  if (full) {
    return Reject(peer, absl::ResourceExhaustedError(
                            StrCat("this server already serves ", live,
                                   " streams (limits.max_streams); retry later or elsewhere")));
  }
  // Memory is reserved for the batches streams ask for, not for the largest a request may
  // ask for: a stream that alone would pass the limit is refused (retrying cannot help).
  if (no_room && need > budget) {
    const uint64_t per_row =
        std::max<uint64_t>(1, need / std::max<uint32_t>(1, options->batch_size));
    return Reject(peer,
                  absl::InvalidArgumentError(StrCat(
                      "batch_size: a stream of ", options->batch_size, " rows of '", served->name,
                      "' holds up to ", need, " bytes of batches (", options->queue_depth,
                      " queued, limits.queue_depth), more than the ", budget,
                      " all streams may hold (limits.max_buffered_bytes); ask for "
                      "batch_size ",
                      std::max<uint64_t>(1, budget / per_row),
                      " or less, or raise limits.max_buffered_bytes")));
  }
  if (no_room) {
    return Reject(peer, absl::ResourceExhaustedError(
                            StrCat("this stream needs ", need, " bytes of batch buffers and ", live,
                                   " streams hold ", reserved, " of the server's ", budget,
                                   " (limits.max_buffered_bytes); retry later or elsewhere")));
  }
  absl::StatusOr<std::unique_ptr<Stream>> stream =
      Stream::Open(std::move(*source), *options, arena_, registry_);
  std::unique_ptr<FeedStream> feed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ -= 1;
    if (!stream.ok()) reserved_bytes_ -= need;
    if (stream.ok()) {
      feed.reset(new FeedStream(this, id, std::move(*stream), options->max_batches, need));
      if (draining_) feed->stream_->Cancel();
      live_.insert(feed.get());
    }
  }
  if (feed == nullptr) return Reject(peer, stream.status());
  opened_ += 1;
  LogEvent("info", "stream_open",
           {{"id", id},
            {"peer", peer},
            {"dataset", served->name},
            {"rank", std::to_string(options->rank)},
            {"world_size", std::to_string(options->world_size)},
            {"batch_size", std::to_string(options->batch_size)},
            {"seed", std::to_string(options->seed)},
            {"resumed",
             request.resume_token().empty() && request.resume_tokens().empty() ? "false" : "true"},
            {"max_batches", std::to_string(options->max_batches)}});
  return feed;
}

void FeedService::Close(FeedStream* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(stream);
  reserved_bytes_ -= stream->reserved_bytes_;
}

uint64_t FeedService::reserved_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reserved_bytes_;
}

void FeedService::BeginShutdown() {
  draining_ = true;
  // Cancel is non-blocking (a flag and the stream queue's own lock), so it runs under mu_,
  // which keeps the streams alive while they are cancelled.
  std::lock_guard<std::mutex> lock(mu_);
  for (FeedStream* s : live_) {
    if (s->stream_ != nullptr) s->stream_->Cancel();
  }
}

size_t FeedService::active_streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_.size();
}

v1::Stats FeedService::GetStats() const {
  v1::Stats stats;
  stats.set_active_streams(static_cast<uint32_t>(active_streams()));
  stats.set_streams_opened(opened_);
  stats.set_streams_rejected(rejected_);
  stats.set_batches_sent(batches_);
  stats.set_samples_sent(samples_);
  stats.set_bytes_sent(bytes_);
  stats.set_draining(draining_);
  stats.set_prometheus_text(RenderPrometheus());
  return stats;
}

std::string FeedService::RenderPrometheus() const {
  PrometheusText page;
  page.Gauge("maskfeed_server_active_streams", "Streams being served.", active_streams());
  page.Counter("maskfeed_server_streams_opened_total", "Streams opened.", opened_);
  page.Counter("maskfeed_server_streams_rejected_total",
               "StreamBatches requests refused (invalid, unknown dataset, over limits, draining).",
               rejected_);
  page.Counter("maskfeed_server_batches_sent_total", "Batches handed to clients.", batches_);
  page.Counter("maskfeed_server_samples_sent_total", "Samples handed to clients.", samples_);
  page.Counter("maskfeed_server_bytes_sent_total", "Tensor bytes handed to clients.", bytes_);
  page.Gauge("maskfeed_server_draining", "1 while the server shuts down.", draining_ ? 1 : 0);
  page.Gauge("maskfeed_server_buffer_bytes_reserved",
             "Batch buffer bytes reserved by live streams (at most limits.max_buffered_bytes).",
             reserved_bytes());
  page.Gauge("maskfeed_server_buffer_bytes_limit", "limits.max_buffered_bytes.",
             config_.limits().max_buffered_bytes());
  page.Gauge("maskfeed_server_resident_bytes", "The server's resident set size.", ResidentBytes());
  for (const ServedSource& served : served_) {
    if (!served.storage) continue;
    // One storage serves every remote dataset: the first one found says it all.
    served.storage->AppendMetrics(&page);
    break;
  }
  return (registry_ != nullptr ? registry_->RenderPrometheus() : "") + page.Take();
}

}  // namespace maskfeed
