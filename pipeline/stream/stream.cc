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

// The order options are part of what a resume token must match.
uint64_t OrderFingerprint(uint64_t source, const StreamOptions& o) {
  uint64_t h = source;
  for (uint64_t v : {o.seed, uint64_t{o.n_repeats}, o.epoch_size, uint64_t{o.shuffle},
                     uint64_t{o.int64_tokens}}) {
    h = (h ^ v) * 0x100000001B3ull;
    h ^= h >> 29;
  }
  if (o.window_shards != 0) {  // mixed in only when set: tokens of global-order streams keep theirs
    h = (h ^ (uint64_t{o.window_shards} | (uint64_t{1} << 40))) * 0x100000001B3ull;
    h ^= h >> 29;
  }
  if (o.canonical_nodes > 1) {
    for (uint64_t v : {uint64_t{o.canonical_nodes} | (uint64_t{2} << 40), o.node_batch}) {
      h = (h ^ v) * 0x100000001B3ull;
      h ^= h >> 29;
    }
  }
  return h;
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
  if (absl::Status s = limits::CheckRange("n_repeats", n_repeats, 1, limits::kMaxRepeats);
      !s.ok()) {
    return s;
  }
  return limits::CheckRange("queue_depth", queue_depth, 1, limits::kMaxQueueDepth);
}

absl::StatusOr<std::unique_ptr<Stream>> Stream::Open(std::shared_ptr<const MixtureSource> source,
                                                     const StreamOptions& options,
                                                     tbb::task_arena* arena,
                                                     MetricsRegistry* registry) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  std::vector<double> weights;
  std::vector<uint64_t> sizes;
  for (size_t d = 0; d < source->num_datasets(); ++d) {
    weights.push_back(source->entry(d).weight);
    sizes.push_back(source->entry(d).source->dataset().num_samples());
  }
  const bool shares = options.canonical_nodes > 1;
  std::shared_ptr<const NodeShares> nodes;
  if (shares) {
    if (source->num_datasets() != 1) {
      return absl::InvalidArgumentError(
          "canonical_nodes: applies to single-dataset streams, not to a mixture");
    }
    const Dataset& ds = source->entry(0).source->dataset();
    std::vector<uint64_t> shard_sizes(ds.num_shards());
    for (size_t s = 0; s < ds.num_shards(); ++s) shard_sizes[s] = ds.shard_size(s);
    absl::StatusOr<std::shared_ptr<const NodeShares>> n =
        NodeShares::Create(shard_sizes, NodeShareOptions{.nodes = options.canonical_nodes,
                                                         .node_batch = options.node_batch,
                                                         .window_shards = options.window_shards,
                                                         .seed = options.seed});
    if (!n.ok()) return n.status();
    nodes = *std::move(n);
  }
  std::vector<std::shared_ptr<const WindowedShuffle>> windowed;
  for (size_t d = 0; !shares && options.window_shards > 0 && d < source->num_datasets(); ++d) {
    const Dataset& ds = source->entry(d).source->dataset();
    std::vector<uint64_t> shard_sizes(ds.num_shards());
    for (size_t s = 0; s < ds.num_shards(); ++s) shard_sizes[s] = ds.shard_size(s);
    absl::StatusOr<std::shared_ptr<const WindowedShuffle>> w =
        WindowedShuffle::Create(std::move(shard_sizes), options.window_shards);
    if (!w.ok()) return w.status();
    windowed.push_back(*std::move(w));
  }
  absl::StatusOr<MixtureOrder> order =
      MixtureOrder::Create(weights, sizes,
                           OrderOptions{.num_samples = 0,
                                        .seed = options.seed,
                                        .n_repeats = options.n_repeats,
                                        .epoch_size = options.epoch_size,
                                        .shuffle = options.shuffle,
                                        .windowed = nullptr,
                                        .nodes = nodes},
                           windowed);
  if (!order.ok()) return order.status();
  for (size_t d = 0;
       options.window_shards == 0 && options.hold_budget_bytes != 0 && d < source->num_datasets();
       ++d) {
    const Dataset& ds = source->entry(d).source->dataset();
    // With shares, a host needs its node's share at hand, not the dataset.
    uint64_t needed = shares ? 0 : ds.total_bytes();
    for (uint32_t c = 0; shares && c < nodes->nodes(); ++c) {
      uint64_t share = 0;
      for (uint32_t s : nodes->shards(c)) share += ds.shard_bytes(s);
      needed = std::max(needed, share);
    }
    if (ds.fetched_on_demand() && needed > options.hold_budget_bytes) {
      return absl::FailedPreconditionError(StrCat(
          "dataset ", ds.root(), " (", needed, shares ? " bytes in a node's share" : " bytes",
          ") is larger than the cache limit (", options.hold_budget_bytes,
          " bytes): a global shuffle needs every shard at hand; ",
          "stream it in shard windows (window_shards, --window-shards K) or raise --cache-limit"));
    }
  }
  ResumeState state;
  state.fingerprint = OrderFingerprint(source->fingerprint(), options);
  state.rank = options.rank;
  state.world_size = options.world_size;
  state.batch_size = options.batch_size;
  if (!options.resume_token.empty()) {
    absl::StatusOr<ResumeState> token = DecodeResumeToken(options.resume_token);
    if (!token.ok()) return token.status();
    if (absl::Status s = CheckResumeState(*token, state); !s.ok()) return s;
    state.next_batch = token->next_batch;
  }
  auto holds = std::make_unique<ShardHolds>(
      source, *order,
      ShardHoldOptions{
          .rank = options.rank,
          .world_size = options.world_size,
          .batch_size = options.batch_size,
          .window_shards = options.window_shards,
          .nodes = shares ? options.canonical_nodes : 1,
          .budget_bytes = options.hold_budget_bytes,
          .end_batch = options.max_batches == 0 ? 0 : state.next_batch + options.max_batches});
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
      producer_(std::move(source), std::move(order), ProducerOptionsFor(options), arena, metrics_),
      queue_(options.queue_depth),
      last_token_(EncodeResumeToken(state)) {}

ProducerOptions Stream::ProducerOptionsFor(const StreamOptions& options) {
  return ProducerOptions{.batch_size = options.batch_size,
                         .rank = options.rank,
                         .world_size = options.world_size,
                         .seed = options.seed,
                         .on_corrupt = options.on_corrupt,
                         .int64_tokens = options.int64_tokens,
                         .pack_for_wire = options.pack_for_wire,
                         .pooled_batches = options.queue_depth + 2,
                         .row_hook = options.row_hook};
}

size_t Stream::BufferBudget(const MixtureSource& source, const StreamOptions& options) {
  return BatchProducer::BufferBudget(source.spec(), ProducerOptionsFor(options));
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
