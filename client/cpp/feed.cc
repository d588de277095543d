#include "client/cpp/feed.h"

#include <algorithm>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// Worth another server (or the same one later): it went away, could not be reached, or is full.
bool Retryable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kResourceExhausted;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Feed>> Feed::Open(FeedOptions options) {
  if (options.addresses.empty()) return absl::InvalidArgumentError("addresses: at least one");
  if (options.prefetch == 0) options.prefetch = 1;
  std::unique_ptr<Feed> feed(new Feed(std::move(options)));
  feed->thread_ = std::thread([f = feed.get()] { f->Run(); });
  feed->watchdog_ = std::thread([f = feed.get()] { f->Watch(); });
  return feed;
}

Feed::Feed(FeedOptions options)
    : options_(std::move(options)),
      // Holds the float tensors of the batches in flight (queue, caller) for reuse.
      pixel_pool_(BufferPool::Create(size_t{512} << 20)),
      queue_(options_.prefetch),
      state_(options_.request.resume_token()) {}

Feed::~Feed() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (reader_ != nullptr) reader_->Cancel();
    wake_.notify_all();
  }
  queue_.Cancel();
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

void Feed::Watch() {
  // Checks a few times per stall_timeout; a stall is noticed within 1.25 timeouts.
  const auto tick = std::max(std::chrono::milliseconds(10), options_.stall_timeout / 4);
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, tick, [&] { return stopping_; })) {
    if (reader_ != nullptr && waiting_since_ && !stalled_ &&
        std::chrono::steady_clock::now() - *waiting_since_ > options_.stall_timeout) {
      stalled_ = true;
      reader_->Cancel();
    }
  }
}

int Feed::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}

bool Feed::Sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !wake_.wait_for(lock, d, [&] { return stopping_; });
}

void Feed::Run() {
  using Clock = std::chrono::steady_clock;
  std::string token = options_.request.resume_token();  // after the last batch received
  const uint64_t limit = options_.request.max_batches();
  uint64_t received = 0;
  size_t next_address = 0;
  std::chrono::milliseconds backoff = options_.initial_backoff;
  Clock::time_point last_progress = Clock::now();
  while (true) {
    if (limit != 0 && received == limit) {  // a server may end with an error after the last
      queue_.Push(std::optional<StreamBatch>());
      return;
    }
    v1::StreamBatchesRequest request = options_.request;
    request.set_resume_token(token);
    if (limit != 0) request.set_max_batches(limit - received);
    const std::string& address = options_.addresses[next_address];
    next_address = (next_address + 1) % options_.addresses.size();
    BatchReader reader(MakeFeedChannel(address, options_.tls ? &*options_.tls : nullptr), request);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      reader_ = &reader;
      stalled_ = false;  // per call: set when the watchdog cancels this one
      ++connections_;
    }
    absl::Status end;
    bool finished = false;
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        waiting_since_ = Clock::now();
      }
      absl::StatusOr<std::optional<StreamBatch>> next = reader.Next();
      bool stalled = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        waiting_since_.reset();
        // Not cleared here: the watchdog may cancel just as a batch arrives, and then the
        // call's next read fails with CANCELLED, which is still the stall.
        stalled = stalled_;
      }
      if (!next.ok()) {
        end = stalled ? absl::UnavailableError(
                            StrCat("no batch for ", options_.stall_timeout.count(),
                                   " ms (stall_timeout): the server may be frozen or unreachable"))
                      : next.status();
        break;
      }
      if (!next->has_value()) {
        finished = true;
        break;
      }
      if (options_.pixels == PixelOutput::kNormalized) {
        if (absl::Status s = NormalizeBatchPixels(&(*next)->batch, pixel_pool_.get()); !s.ok()) {
          end = absl::DataLossError(std::string(ToStd(s.message())));
          break;
        }
      }
      token = (*next)->resume_token;
      ++received;
      last_progress = Clock::now();
      backoff = options_.initial_backoff;
      if (!queue_.Push(std::move(next))) break;  // the caller went away
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      reader_ = nullptr;
      if (stopping_) return;
    }
    if (finished) {
      queue_.Push(std::optional<StreamBatch>());
      return;
    }
    // A token in the trailing metadata resumes after the last batch this call delivered;
    // ours (from the last batch received) is the same or, when the call ended before any
    // batch, the one we asked with.
    if (!Retryable(end) || Clock::now() - last_progress > options_.reconnect_timeout) {
      queue_.Push(absl::Status(end.code(), StrCat(address, ": ", ToStd(end.message()))));
      return;
    }
    // Try the next address at once after a failure mid-stream; back off once every address
    // has failed in a row.
    if (next_address == 0 && !Sleep(backoff)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::StatusOr<std::optional<StreamBatch>> Feed::Next() {
  if (ended_) {
    if (final_.ok()) return std::optional<StreamBatch>();
    return final_;
  }
  std::optional<absl::StatusOr<std::optional<StreamBatch>>> item = queue_.Pop();
  if (!item.has_value()) return absl::CancelledError("the feed was closed");
  if (!item->ok()) {
    ended_ = true;
    final_ = item->status();
    return final_;
  }
  if (!(*item)->has_value()) {
    ended_ = true;
    return std::optional<StreamBatch>();
  }
  state_ = (**item)->resume_token;
  return std::move(*item);
}

}  // namespace maskfeed
