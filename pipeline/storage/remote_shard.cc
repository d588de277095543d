#include "pipeline/storage/remote_shard.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>

#include "pipeline/base/crc32c.h"
#include "pipeline/base/log.h"
#include "pipeline/base/strings.h"
#include "pipeline/shard/mfs_format.h"

namespace maskfeed {
namespace {

// The tail read when opening an .mfs shard: the trailer and, for shards of up to about a
// thousand records, the whole index, in one request (a larger index takes one more); at most
// a sixteenth of a small shard (whose index is small too).
constexpr uint64_t kTailBytes = 64 << 10;
constexpr uint64_t kMinTailBytes = 4 << 10;

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

// RemoteStorage ---------------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<RemoteStorage>> RemoteStorage::Create(
    const RemoteStorageOptions& options) {
  absl::StatusOr<std::unique_ptr<ShardCache>> cache =
      ShardCache::Open({.dir = options.cache_dir, .limit_bytes = options.cache_limit});
  if (!cache.ok()) return cache.status();
  return std::shared_ptr<RemoteStorage>(new RemoteStorage(options, *std::move(cache)));
}

struct RemoteStorage::Pool {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;  // guarded by mu
  bool stopping = false;                   // guarded by mu

  static void Work(const std::shared_ptr<Pool>& pool) {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(pool->mu);
        pool->cv.wait(lock, [&] { return pool->stopping || !pool->jobs.empty(); });
        if (pool->jobs.empty()) return;  // stopping, and nothing left
        job = std::move(pool->jobs.front());
        pool->jobs.pop_front();
      }
      job();
    }
  }
};

RemoteStorage::RemoteStorage(RemoteStorageOptions options, std::unique_ptr<ShardCache> cache)
    : options_(std::move(options)), cache_(std::move(cache)), pool_(std::make_shared<Pool>()) {
  const int n = std::clamp(options_.fetch_threads, 1, 64);
  for (int i = 0; i < n; ++i) threads_.emplace_back([pool = pool_] { Pool::Work(pool); });
}

RemoteStorage::~RemoteStorage() {
  {
    std::lock_guard<std::mutex> lock(pool_->mu);
    pool_->stopping = true;
  }
  pool_->cv.notify_all();
  for (std::thread& t : threads_) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // ending here, in its own job: it finishes on the pool it shares
    } else {
      t.join();
    }
  }
}

void RemoteStorage::Submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(pool_->mu);
    pool_->jobs.push_back(std::move(job));
  }
  pool_->cv.notify_one();
}

// RemoteShard -----------------------------------------------------------------------------------

RemoteShard::RemoteShard(std::shared_ptr<const ObjectStore> store, std::string name, uint64_t size,
                         std::shared_ptr<RemoteStorage> storage)
    : store_(std::move(store)),
      name_(std::move(name)),
      url_(store_->UrlOf(name_)),
      size_(size),
      storage_(std::move(storage)) {}

RemoteShard::~RemoteShard() {
  // A fetch thread's job refers to this shard: wait for it to finish.
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return state_ != State::kLoading; });
}

absl::StatusOr<std::unique_ptr<RemoteShard>> RemoteShard::Open(
    std::shared_ptr<const ObjectStore> store, const std::string& name, uint64_t size,
    std::shared_ptr<RemoteStorage> storage) {
  std::unique_ptr<RemoteShard> shard(
      new RemoteShard(std::move(store), name, size, std::move(storage)));
  if (name.ends_with(ShardExtension(ShardFormat::kMfs))) {
    shard->format_ = ShardFormat::kMfs;
    if (absl::Status s = shard->ReadMfsIndex(); !s.ok()) return s;
    return shard;
  }
  if (!name.ends_with(ShardExtension(ShardFormat::kTar))) {
    return absl::InvalidArgumentError(
        StrCat(shard->url_, ": not a shard (.tar or .mfs) by its name"));
  }
  shard->format_ = ShardFormat::kTar;
  if (absl::Status s = shard->ReadTarIndex(); !s.ok()) return s;
  return shard;
}

absl::Status RemoteShard::ReadMfsIndex() {
  auto corrupt = [&](std::string_view why) { return absl::DataLossError(StrCat(url_, ": ", why)); };
  if (size_ < mfs::kHeaderBytes + mfs::kTrailerBytes) {
    return corrupt(StrCat("object of ", size_, " bytes is too short for an .mfs shard"));
  }
  absl::StatusOr<std::string> head = store_->Get(name_, ByteRange{0, mfs::kHeaderBytes - 1});
  if (!head.ok()) return head.status();
  absl::StatusOr<mfs::Header> header = mfs::DecodeHeader(*head, url_);
  if (!header.ok()) return header.status();
  const uint64_t tail_bytes =
      std::min(size_, std::max(kMinTailBytes, std::min(kTailBytes, size_ / 16)));
  absl::StatusOr<std::string> tail = store_->Get(name_, ByteRange{size_ - tail_bytes, size_ - 1});
  if (!tail.ok()) return tail.status();
  if (tail->size() != tail_bytes) return corrupt("the store answered a short range");
  absl::StatusOr<mfs::Trailer> trailer = mfs::DecodeTrailerAt(
      std::string_view(*tail).substr(tail_bytes - mfs::kTrailerBytes), size_, url_);
  if (!trailer.ok()) return trailer.status();
  if (mfs::kHeaderBytes + uint64_t{header->dict_bytes} > trailer->index_offset) {
    return corrupt("dictionary runs past the records");
  }
  std::string index;
  const uint64_t tail_start = size_ - tail_bytes;
  if (trailer->index_offset >= tail_start) {
    index = tail->substr(trailer->index_offset - tail_start, trailer->index_bytes);
  } else {
    absl::StatusOr<std::string> got =
        store_->Get(name_, ByteRange{trailer->index_offset, size_ - mfs::kTrailerBytes - 1});
    if (!got.ok()) return got.status();
    index = *std::move(got);
  }
  if (index.size() != trailer->index_bytes) return corrupt("the store answered a short range");
  if (Crc32c(index.data(), index.size()) != trailer->index_crc) {
    return corrupt("index checksum mismatch (corrupt)");
  }
  const uint64_t data_begin = mfs::kHeaderBytes + header->dict_bytes;
  const uint64_t data_end = size_ - mfs::kTrailerBytes - index.size();
  absl::StatusOr<mfs::Index> parsed = mfs::DecodeIndex(index, *header, data_begin, data_end, url_);
  if (!parsed.ok()) return parsed.status();
  index_.layout = header->layout;
  const size_t row_bytes = index_.layout.RowBytes();
  if (row_bytes == 0) return corrupt("records have a zero-sized inner dimension");
  for (const mfs::Entry& e : parsed->entries) {
    index_.first_dims.push_back(static_cast<int64_t>(e.raw_bytes / row_bytes));
    index_.kinds.push_back(mfs::EntryKind(e.flags));
  }
  index_.keys = std::string(parsed->keys);
  index_.key_offsets = std::move(parsed->key_offsets);
  indexed_ = true;
  return absl::OkStatus();
}

absl::Status RemoteShard::ReadTarIndex() {
  ShardCache& cache = storage_->cache();
  // Named by the object and its size: a replaced object of another size is indexed anew.
  const std::string name = StrCat(url_, "#maskfeed-index@", size_);
  absl::Status damaged;
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::string> path = cache.Acquire(name, 0, [&](const std::string& tmp) {
      absl::StatusOr<std::shared_ptr<const ShardReader>> copy = LoadCopy(false);
      if (!copy.ok()) return copy.status();
      return cache.WriteFetched(tmp, EncodeShardIndex(ShardIndex::Of(**copy)), name);
    });
    if (!path.ok()) return path.status();
    std::ifstream in(*path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    cache.Release(name);
    absl::StatusOr<ShardIndex> index = DecodeShardIndex(bytes, *path);
    if (index.ok()) {
      index_ = *std::move(index);
      indexed_ = true;
      return absl::OkStatus();
    }
    damaged = index.status();
    cache.Discard(name);  // damaged: index the shard again
  }
  return damaged;
}

absl::Status RemoteShard::CheckCopy(const ShardReader& reader) const {
  bool same = reader.num_records() == num_records() && reader.file_bytes() == size_;
  for (size_t i = 0; same && i < num_records(); ++i) same = reader.key(i) == key(i);
  if (same) return absl::OkStatus();
  return absl::DataLossError(StrCat(url_, ": the object changed since the dataset was opened (",
                                    reader.num_records(), " records, ", num_records(),
                                    " when opened); restart to serve the new data"));
}

absl::StatusOr<std::shared_ptr<const ShardReader>> RemoteShard::LoadCopy(bool discard_first) const {
  ShardCache& cache = storage_->cache();
  FetchStats& stats = storage_->fetch_stats();
  if (discard_first) cache.Discard(url_);
  const uint64_t start = NowNs();
  bool fetched = false;
  absl::StatusOr<std::string> path = cache.Acquire(url_, size_, [&](const std::string& tmp) {
    fetched = true;
    absl::StatusOr<std::string> body = store_->Get(name_);
    if (!body.ok()) return body.status();
    if (body->size() != size_) {
      return absl::DataLossError(
          StrCat(url_, ": fetched ", body->size(), " bytes, the listing said ", size_));
    }
    return cache.WriteFetched(tmp, *body, url_);
  });
  if (!path.ok()) {
    ++stats.fetch_failures;
    LogEvent("warn", "shard_fetch_failed",
             {{"url", url_}, {"error", std::string(path.status().message())}});
    return path.status();
  }
  if (fetched) {
    const uint64_t ns = NowNs() - start;
    ++stats.shards_fetched;
    stats.fetch_ns += ns;
    LogEvent("debug", "shard_fetched",
             {{"url", url_},
              {"bytes", std::to_string(size_)},
              {"ms", std::to_string(ns / 1000000)},
              {"cache", *path}});
  }
  absl::StatusOr<std::unique_ptr<ShardReader>> opened = OpenShard(*path);
  absl::Status checked = opened.ok() ? absl::OkStatus() : opened.status();
  if (checked.ok() && indexed_) checked = CheckCopy(**opened);
  if (!checked.ok()) {
    cache.Release(url_);
    if (!discard_first && checked.code() == absl::StatusCode::kDataLoss) {
      ++stats.refetches;
      return LoadCopy(true);  // a damaged local copy: fetch it once more
    }
    return absl::Status(checked.code(),
                        StrCat(url_, " (cached as ", *path, "): ", ToStd(checked.message())));
  }
  // The pin ends with the last user of the reader.
  std::shared_ptr<RemoteStorage> storage = storage_;
  std::string url = url_;
  return std::shared_ptr<const ShardReader>(
      opened->release(),
      [storage = std::move(storage), url = std::move(url)](const ShardReader* r) {
        delete r;
        storage->cache().Release(url);
      });
}

void RemoteShard::Hold() const {
  std::lock_guard<std::mutex> lock(mu_);
  HoldLocked();
}

void RemoteShard::HoldLocked() const {
  if (holds_++ == 0) storage_->fetch_stats().held_bytes += size_;
  if (state_ == State::kIdle || state_ == State::kFailed) {  // a failed fetch: try again
    state_ = State::kLoading;
    storage_->Submit([this] { LoadInBackground(false); });
  }
}

void RemoteShard::Unhold() const {
  std::shared_ptr<const ShardReader> dropped;  // released outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  if (--holds_ > 0) return;
  storage_->fetch_stats().held_bytes -= size_;
  if (state_ == State::kLoaded || state_ == State::kFailed) {
    dropped = std::move(copy_);
    copy_.reset();
    state_ = State::kIdle;
  }
}

void RemoteShard::LoadInBackground(bool discard_first) const {
  absl::StatusOr<std::shared_ptr<const ShardReader>> copy = LoadCopy(discard_first);
  std::lock_guard<std::mutex> lock(mu_);
  if (holds_ == 0) {                  // nobody needs it any more
    copy = absl::CancelledError("");  // unpins it, before the shard may go
    state_ = State::kIdle;
  } else if (copy.ok()) {
    copy_ = *std::move(copy);
    state_ = State::kLoaded;
  } else {
    failure_ = copy.status();
    state_ = State::kFailed;
  }
  // Under the lock: once it is released, the shard may be destroyed.
  cv_.notify_all();
}

absl::StatusOr<std::shared_ptr<const ShardReader>> RemoteShard::HoldCopy() const {
  std::unique_lock<std::mutex> lock(mu_);
  HoldLocked();
  return WaitForCopy(lock);
}

absl::StatusOr<std::shared_ptr<const ShardReader>> RemoteShard::WaitForCopy(
    std::unique_lock<std::mutex>& lock) const {
  if (state_ != State::kLoaded) {
    ++storage_->fetch_stats().waits;
    cv_.wait(lock, [&] { return state_ != State::kLoading; });
  }
  if (state_ == State::kLoaded) return copy_;
  return failure_;
}

absl::Status RemoteShard::ReadVia(
    const std::function<absl::Status(const ShardReader&)>& read) const {
  absl::StatusOr<std::shared_ptr<const ShardReader>> copy = HoldCopy();
  absl::Status status = copy.ok() ? read(**copy) : copy.status();
  if (status.code() == absl::StatusCode::kDataLoss && copy.ok()) {
    // The local copy is damaged (the object itself checked when it was written): discard it,
    // fetch it again, read once more.
    absl::StatusOr<std::shared_ptr<const ShardReader>> again;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (state_ == State::kLoaded && copy_ == *copy && !refetched_) {
        refetched_ = true;  // once: a second failure is the object's, not the copy's
        copy_.reset();
        state_ = State::kLoading;
        ++storage_->fetch_stats().refetches;
        storage_->Submit([this] { LoadInBackground(true); });
      }
      copy->reset();  // ours only: other readers keep the copy they hold
      again = WaitForCopy(lock);
    }
    status = again.ok() ? read(**again) : again.status();
  }
  Unhold();
  if (status.ok() || !copy.ok()) return status;
  return absl::Status(status.code(), StrCat(url_, ": ", ToStd(status.message())));
}

absl::Status RemoteShard::Read(size_t i, Record* out) const {
  return ReadVia([&](const ShardReader& r) { return r.Read(i, out); });
}

absl::Status RemoteShard::ReadRow(size_t i, int64_t row, Record* out) const {
  return ReadVia([&](const ShardReader& r) { return r.ReadRow(i, row, out); });
}

}  // namespace maskfeed
