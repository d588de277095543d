#include "pipeline/stream/stream.h"

#include <algorithm>
#include <chrono>

#include "pipeline/base/limits.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

absl::Status StreamOptions::Validate() const {
  if (absl::Status s = limits::CheckRange("batch_size", batch_size, 1, limits::kMaxBatchSize);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = limits::CheckRange("world_size", world_size, 1, limits::kMaxWorldSize);
      !s.ok()) {
    return s;
  }
  if (rank >= world_size) {
    return absl::InvalidArgumentError(
        StrCat("rank: ", rank, " is not below world_size ", world_size));
  }
  if (end_position != 0 && !order.IsEvaluation()) {
    return absl::InvalidArgumentError(
        "end_position: an evaluation pass needs an order that reads each sample once, in "
        "order (ForEvaluation)");
  }
  return limits::CheckRange("queue_depth", queue_depth, 1, limits::kMaxQueueDepth);
}

absl::StatusOr<std::unique_ptr<Stream>> Stream::Open(std::shared_ptr<const MixtureSource> source,
                                                     const StreamOptions& options,
                                                     tbb::task_arena* arena,
                                                     MetricsRegistry* registry) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  absl::StatusOr<MixtureOrder> order =
      BuildOrder(options.order, options.seed, source->OrderDatasets(), options.hold_budget_bytes);
  if (!order.ok()) return order.status();
  ResumeState state;
  state.fingerprint =
      OrderFingerprint(source->fingerprint(), options.seed, options.order, options.int64_tokens);
  state.rank = options.rank;
  state.world_size = options.world_size;
  state.batch_size = options.batch_size;
  if (!options.resume_token.empty() && !options.resume_tokens.empty()) {
    return absl::InvalidArgumentError(
        "resume_tokens: give this rank's resume_token or the old job's resume_tokens, not both");
  }
  absl::StatusOr<ResumeState> resumed =
      ResumeFrom(options.resume_token.empty() ? options.resume_tokens
                                              : std::vector<std::string>{options.resume_token},
                 state);
  if (!resumed.ok()) return resumed.status();
  state = *resumed;
  // An evaluation pass ends after this rank's last batch: the last every rank gets (padded),
  // or its own last with a sample (partial_last).
  uint64_t end_batch = options.max_batches == 0 ? 0 : state.next_batch + options.max_batches;
  if (options.end_position != 0) {
    const uint64_t global = uint64_t{options.world_size} * options.batch_size;
    const uint64_t own_first = uint64_t{options.rank} * options.batch_size;
    const uint64_t last =
        state.first_batch + (options.partial_last
                                 ? (options.end_position > own_first
                                        ? (options.end_position - own_first + global - 1) / global
                                        : 0)
                                 : (options.end_position + global - 1) / global);
    if (state.base != 0) {
      return absl::InvalidArgumentError(
          "resume_tokens: an evaluation pass resumes only from its own ranks' tokens");
    }
    end_batch = end_batch == 0 ? last : std::min(end_batch, last);
  }
  auto holds = std::make_unique<ShardHolds>(
      source, *order,
      ShardHoldOptions{.rank = options.rank,
                       .world_size = options.world_size,
                       .batch_size = options.batch_size,
                       .layout = {.base = state.base, .first_batch = state.first_batch},
                       .order = options.order,
                       .budget_bytes = options.hold_budget_bytes,
                       .end_batch = end_batch});
  StreamOptions resolved = options;
  if (resolved.id.empty()) resolved.id = StrCat("rank", options.rank, "-", NowNs() % 1000000);
  std::vector<std::string> names;
  for (const ModalitySpec& m : source->spec().modalities) names.push_back(m.name);
  std::shared_ptr<StreamMetrics> metrics = registry != nullptr
                                               ? registry->Register(resolved.id, names)
                                               : std::make_shared<StreamMetrics>(names);
  std::unique_ptr<Stream> stream(new Stream(std::move(source), std::move(*order), resolved, arena,
                                            registry, std::move(metrics), state));
  if (holds->active()) stream->holds_ = std::move(holds);
  if (options.end_position != 0) stream->end_batch_ = end_batch;
  stream->thread_ = std::thread([s = stream.get()] { s->Run(); });
  return stream;
}

Stream::Stream(std::shared_ptr<const MixtureSource> source, MixtureOrder order,
               const StreamOptions& options, tbb::task_arena* arena, MetricsRegistry* registry,
               std::shared_ptr<StreamMetrics> metrics, ResumeState state)
    : options_(options),
      registry_(registry),
      metrics_(std::move(metrics)),
      state_(state),
      producer_(std::move(source), std::move(order), ProducerOptionsFor(options, state), arena,
                metrics_),
      queue_(options.queue_depth),
      last_token_(EncodeResumeToken(state)) {}

ProducerOptions Stream::ProducerOptionsFor(const StreamOptions& options, const ResumeState& state) {
  return ProducerOptions{.batch_size = options.batch_size,
                         .rank = options.rank,
                         .world_size = options.world_size,
                         .layout = {.base = state.base, .first_batch = state.first_batch},
                         .end_position = options.end_position,
                         .partial_last = options.partial_last,
                         .seed = options.seed,
                         .on_corrupt = options.on_corrupt,
                         .int64_tokens = options.int64_tokens,
                         .pack_for_wire = options.pack_for_wire,
                         .pooled_batches = options.queue_depth + 2,
                         .row_hook = options.row_hook};
}

size_t Stream::BufferBudget(const MixtureSource& source, const StreamOptions& options) {
  return BatchProducer::BufferBudget(source.spec(), ProducerOptionsFor(options, ResumeState{}));
}

Stream::~Stream() {
  Cancel();
  if (thread_.joinable()) thread_.join();
  if (registry_ != nullptr) registry_->Unregister(options_.id);
}

void Stream::Cancel() {
  cancelled_ = true;
  queue_.Cancel();
}

void Stream::Run() {
  for (uint64_t produced = 0; !cancelled_; ++produced) {
    if (options_.max_batches != 0 && produced == options_.max_batches) break;
    const uint64_t index = state_.next_batch + produced;
    if (index >= end_batch_) break;  // an evaluation pass's last batch was delivered
    const uint64_t start = NowNs();
    if (holds_) holds_->Advance(index);
    absl::StatusOr<Batch> batch = ProduceCatching(index);
    metrics_->produce_ns += NowNs() - start;
    if (!batch.ok()) {
      queue_.Push(batch.status());
      break;
    }
    StreamBatch out;
    out.sequence = index;
    ResumeState after = state_;
    after.next_batch = index + 1;
    out.resume_token = EncodeResumeToken(after);
    metrics_->batches += 1;
    metrics_->samples += batch->size;
    metrics_->bytes += batch->bytes();
    out.batch = std::move(*batch);
    if (!queue_.Push(std::move(out))) break;  // cancelled while waiting for room
    metrics_->queue_depth = queue_.size();
  }
  queue_.Close();
}

absl::StatusOr<Batch> Stream::ProduceCatching(uint64_t index) {
  // An exception from a TBB task (the arena rethrows it here) or from the producer itself ends
  // this stream with a status; escaping this thread it would terminate the whole process.
  try {
    return producer_.Produce(index);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        StrCat("out of memory while producing batch ", index, " of stream ", options_.id));
  } catch (const std::exception& e) {
    return absl::InternalError(
        StrCat("batch ", index, " of stream ", options_.id, " failed: ", e.what()));
  } catch (...) {
    return absl::InternalError(
        StrCat("batch ", index, " of stream ", options_.id, " failed with an unknown exception"));
  }
}

absl::StatusOr<std::optional<StreamBatch>> Stream::Next() {
  if (ended_) {
    if (final_.ok()) return std::optional<StreamBatch>();
    return final_;
  }
  const uint64_t start = NowNs();
  std::optional<absl::StatusOr<StreamBatch>> item = queue_.Pop();
  metrics_->consumer_wait_ns += NowNs() - start;
  metrics_->queue_depth = queue_.size();
  if (!item.has_value()) {
    if (cancelled_) return absl::CancelledError("the stream was cancelled");
    ended_ = true;
    return std::optional<StreamBatch>();
  }
  if (!item->ok()) {
    ended_ = true;
    final_ = item->status();
    return final_;
  }
  last_token_ = (*item)->resume_token;
  return std::optional<StreamBatch>(std::move(**item));
}

}  // namespace maskfeed
