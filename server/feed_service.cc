#include "server/feed_service.h"

#include <algorithm>
#include <climits>

#include "pipeline/base/log.h"
#include "pipeline/base/strings.h"
#include "pipeline/collate/collator.h"

namespace maskfeed {
namespace {

// Per message beyond the tensors: names, shapes, token, per-row dataset/sample ids.
constexpr uint64_t kHeaderBytes = 64 * 1024;
constexpr uint64_t kPerRowHeaderBytes = 16;
// gRPC cannot send a message of 2 GiB or more.
constexpr uint64_t kGrpcMessageCeiling = INT_MAX;

const char* TypeName(ModalityType type) {
  switch (type) {
    case ModalityType::kImg:
      return "img";
    case ModalityType::kSeq:
      return "seq";
    case ModalityType::kSeqToken:
      return "seq_token";
    case ModalityType::kSeqEmb:
      return "seq_emb";
  }
  return "?";
}

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
    std::lock_guard<std::mutex> lock(service_->mu_);
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
  std::vector<Component> opened;
  for (const v1::DatasetConfig& d : config.dataset()) {
    auto fail = [&](const absl::Status& s) {
      return absl::Status(s.code(), StrCat("dataset '", d.name(), "': ", ToStd(s.message())));
    };
    DatasetOptions options;
    options.arena = arena;
    absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(d.path(), options);
    if (!dataset.ok()) return fail(dataset.status());
    Component c{.name = d.name(),
                .weight = 1,
                .dataset = std::move(*dataset),
                .masking = d.masking(),
                .source = nullptr};
    absl::StatusOr<std::shared_ptr<const StreamSource>> source =
        StreamSource::Create(c.dataset, c.masking);
    if (!source.ok()) return fail(source.status());
    c.source = std::move(*source);
    Served served{.name = d.name(),
                  .preset = d.preset(),
                  .components = {c},
                  .mixture = MixtureSource::Single(c.source),
                  .skip_corrupt = d.skip_corrupt_records()};
    service->served_.push_back(std::move(served));
    opened.push_back(std::move(c));
  }
  for (const v1::MixtureConfig& m : config.mixture()) {
    Served served{
        .name = m.name(), .preset = "", .components = {}, .mixture = nullptr, .skip_corrupt = true};
    std::vector<MixtureEntry> entries;
    for (const v1::MixtureComponentRef& ref : m.component()) {
      auto it = std::find_if(opened.begin(), opened.end(),
                             [&](const Component& c) { return c.name == ref.dataset(); });
      Component c = *it;  // FinalizeServerConfig checked the name
      c.weight = ref.weight();
      const v1::DatasetConfig& dc = config.dataset(static_cast<int>(it - opened.begin()));
      served.skip_corrupt &= dc.skip_corrupt_records();
      if (served.preset.empty()) served.preset = dc.preset();
      entries.push_back(MixtureEntry{.name = c.name, .weight = c.weight, .source = c.source});
      served.components.push_back(std::move(c));
    }
    absl::StatusOr<std::shared_ptr<const MixtureSource>> mixture =
        MixtureSource::Create(std::move(entries));
    if (!mixture.ok()) {
      return absl::Status(mixture.status().code(),
                          StrCat("mixture '", m.name(), "': ", ToStd(mixture.status().message())));
    }
    served.mixture = std::move(*mixture);
    service->served_.push_back(std::move(served));
  }

  // Describe once; derive the message limit from the widest sample at int64 tokens.
  v1::DescribeResponse& desc = service->description_;
  const v1::ServerLimits& limits = config.limits();
  uint64_t widest_row = 0;
  for (const Served& s : service->served_) {
    v1::DatasetDescription* d = desc.add_datasets();
    d->set_name(s.name);
    d->set_preset(s.preset);
    const MaskingSpec& first = s.components.front().source->spec();
    d->set_input_tokens(static_cast<uint32_t>(first.input_max));
    d->set_target_tokens(static_cast<uint32_t>(first.target_max));
    uint64_t samples = 0;
    for (const Component& c : s.components) {
      samples += c.dataset->num_samples();
      *d->add_sources() = c.dataset->Describe();
      if (s.components.size() > 1 || s.name != c.name) {
        d->add_components(c.name);
        d->add_weights(c.weight);
      }
    }
    d->set_num_samples(samples);
    const MaskingSpec& spec = s.mixture->spec();
    const Batch row = Collator(spec, {}).Allocate(1);
    const Batch wide = Collator(spec, {.int64_tokens = true}).Allocate(1);
    d->set_bytes_per_sample(row.bytes());
    widest_row = std::max<uint64_t>(widest_row, wide.bytes());
    for (size_t m = 0; m < spec.modalities.size(); ++m) {
      const ModalitySpec& ms = spec.modalities[m];
      v1::ModalityLayout* l = d->add_modalities();
      l->set_name(ms.name);
      l->set_type(TypeName(ms.type));
      l->set_max_tokens(static_cast<uint32_t>(ms.length()));
      l->set_token_dtype(static_cast<v1::DType>(row.modalities[m].tensor.dtype));
      l->set_id(ms.id);
    }
  }
  service->max_message_bytes_ =
      limits.max_batch_size() * (widest_row + kPerRowHeaderBytes) + kHeaderBytes;
  if (service->max_message_bytes_ >= kGrpcMessageCeiling) {
    return absl::InvalidArgumentError(
        StrCat("limits.max_batch_size: batches of ", limits.max_batch_size(), " samples reach ",
               service->max_message_bytes_, " bytes, over gRPC's 2 GiB message limit"));
  }
  v1::Limits* l = desc.mutable_limits();
  l->set_max_streams(limits.max_streams());
  l->set_max_batch_size(limits.max_batch_size());
  l->set_max_message_bytes(service->max_message_bytes_);
  l->set_max_repeats(limits.max_repeats());
  for (const std::string& p : PresetNames()) desc.add_presets(p);
  desc.set_version(MASKFEED_VERSION);
  return service;
}

FeedService::~FeedService() { BeginShutdown(); }

v1::DescribeResponse FeedService::Describe() const { return description_; }

absl::StatusOr<StreamOptions> FeedService::OptionsFor(
    const v1::StreamBatchesRequest& request) const {
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
  o.max_batches = request.max_batches();
  o.queue_depth = limits.queue_depth();
  const v1::StreamOverrides& ov = request.overrides();
  if (ov.n_repeats() > limits.max_repeats()) {
    return absl::InvalidArgumentError(StrCat("overrides.n_repeats: ", ov.n_repeats(),
                                             " exceeds this server's limit of ",
                                             limits.max_repeats(), " (limits.max_repeats)"));
  }
  o.n_repeats = std::max<uint32_t>(1, ov.n_repeats());
  o.epoch_size = ov.epoch_size();
  o.int64_tokens = ov.int64_tokens();
  o.pack_for_wire = request.encoding() == v1::ENCODING_PACKED;
  return o;
}

absl::StatusOr<std::shared_ptr<const MixtureSource>> FeedService::SourceFor(
    const Served& served, const v1::StreamOverrides& overrides) const {
  if (overrides.input_tokens() == 0 && overrides.target_tokens() == 0) return served.mixture;
  std::vector<MixtureEntry> entries;
  for (const Component& c : served.components) {
    uint64_t room = 0;
    for (const ModalitySpec& m : c.source->spec().modalities) room += m.max_tokens;
    v1::MaskingConfig masking = c.masking;
    for (auto [value, field, range] :
         {std::tuple{overrides.input_tokens(), "overrides.input_tokens",
                     masking.mutable_input_tokens()},
          std::tuple{overrides.target_tokens(), "overrides.target_tokens",
                     masking.mutable_target_tokens()}}) {
      if (value == 0) continue;
      if (value > room) {
        return absl::InvalidArgumentError(StrCat(field, ": ", value, " exceeds the ", room,
                                                 " tokens the modalities of '", c.name, "' hold"));
      }
      range->set_max(value);
      range->set_min(value);
      range->set_min_is_zero(false);
    }
    absl::StatusOr<std::shared_ptr<const StreamSource>> source =
        StreamSource::Create(c.dataset, masking);
    if (!source.ok()) return source.status();
    entries.push_back(MixtureEntry{.name = c.name, .weight = c.weight, .source = *source});
  }
  if (entries.size() == 1 && served.components.front().name == served.name) {
    return MixtureSource::Single(entries.front().source);
  }
  return MixtureSource::Create(std::move(entries));
}

absl::StatusOr<std::unique_ptr<FeedStream>> FeedService::OpenStream(
    const v1::StreamBatchesRequest& request, const std::string& peer) {
  auto reject = [&](absl::Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      rejected_ += 1;
    }
    LogEvent("warn", "stream_rejected",
             {{"peer", peer},
              {"status", std::string(absl::StatusCodeToString(status.code()))},
              {"message", std::string(ToStd(status.message()))}});
    return status;
  };
  if (draining_) return reject(absl::UnavailableError("the server is shutting down"));
  const Served* served = nullptr;
  if (request.dataset().empty()) {
    served = &served_.front();
  } else {
    for (const Served& s : served_) {
      if (s.name == request.dataset()) served = &s;
    }
  }
  if (served == nullptr) {
    std::string names;
    for (const Served& s : served_) StrAppend(&names, names.empty() ? "" : ", ", s.name);
    return reject(absl::NotFoundError(
        StrCat("dataset: '", request.dataset(), "' is not served here (served: ", names, ")")));
  }
  absl::StatusOr<StreamOptions> options = OptionsFor(request);
  if (!options.ok()) return reject(options.status());
  options->on_corrupt =
      served->skip_corrupt ? CorruptRecordPolicy::kSkip : CorruptRecordPolicy::kFail;
  const std::string id = StrCat("s", next_id_++, "-rank", options->rank);
  options->id = id;
  absl::StatusOr<std::shared_ptr<const MixtureSource>> source =
      SourceFor(*served, request.overrides());
  if (!source.ok()) return reject(source.status());

  // Hold a slot before the producer starts, so max_streams is never exceeded.
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (live_.size() + pending_ >= config_.limits().max_streams()) {
      rejected_ += 1;
      const absl::Status s = absl::ResourceExhaustedError(
          StrCat("this server already serves ", live_.size(),
                 " streams (limits.max_streams); retry later or elsewhere"));
      LogEvent("warn", "stream_rejected", {{"peer", peer}, {"status", "RESOURCE_EXHAUSTED"}});
      return s;
    }
    pending_ += 1;
  }
  absl::StatusOr<std::unique_ptr<Stream>> stream =
      Stream::Open(std::move(*source), *options, arena_, registry_);
  std::lock_guard<std::mutex> lock(mu_);
  pending_ -= 1;
  if (!stream.ok()) {
    rejected_ += 1;
    LogEvent("warn", "stream_rejected",
             {{"peer", peer},
              {"status", std::string(absl::StatusCodeToString(stream.status().code()))},
              {"message", std::string(ToStd(stream.status().message()))}});
    return stream.status();
  }
  std::unique_ptr<FeedStream> feed(
      new FeedStream(this, id, std::move(*stream), options->max_batches));
  if (draining_) feed->stream_->Cancel();
  live_.insert(feed.get());
  opened_ += 1;
  LogEvent("info", "stream_open",
           {{"id", id},
            {"peer", peer},
            {"dataset", served->name},
            {"rank", std::to_string(options->rank)},
            {"world_size", std::to_string(options->world_size)},
            {"batch_size", std::to_string(options->batch_size)},
            {"seed", std::to_string(options->seed)},
            {"resumed", request.resume_token().empty() ? "false" : "true"},
            {"max_batches", std::to_string(options->max_batches)}});
  return feed;
}

void FeedService::Close(FeedStream* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(stream);
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats.set_active_streams(static_cast<uint32_t>(live_.size()));
    stats.set_streams_opened(opened_);
    stats.set_streams_rejected(rejected_);
    stats.set_batches_sent(batches_);
    stats.set_samples_sent(samples_);
    stats.set_bytes_sent(bytes_);
  }
  stats.set_draining(draining_);
  stats.set_prometheus_text(RenderPrometheus());
  return stats;
}

std::string FeedService::RenderPrometheus() const {
  std::string text = registry_ != nullptr ? registry_->RenderPrometheus() : "";
  std::lock_guard<std::mutex> lock(mu_);
  auto metric = [&](const char* name, const char* type, const char* help, uint64_t value) {
    StrAppend(&text, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, " ",
              value, "\n");
  };
  metric("maskfeed_server_active_streams", "gauge", "Streams being served.", live_.size());
  metric("maskfeed_server_streams_opened_total", "counter", "Streams opened.", opened_);
  metric("maskfeed_server_streams_rejected_total", "counter",
         "StreamBatches requests refused (invalid, unknown dataset, over limits, draining).",
         rejected_);
  metric("maskfeed_server_batches_sent_total", "counter", "Batches handed to clients.", batches_);
  metric("maskfeed_server_samples_sent_total", "counter", "Samples handed to clients.", samples_);
  metric("maskfeed_server_bytes_sent_total", "counter", "Tensor bytes handed to clients.", bytes_);
  metric("maskfeed_server_draining", "gauge", "1 while the server shuts down.", draining_ ? 1 : 0);
  return text;
}

}  // namespace maskfeed
