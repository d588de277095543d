// Shards of a remote dataset root: known by their index from the start, read from a local
// copy in the shard cache only while needed.
//
// RemoteStorage is what a process shares among its remote shards: the cache (its directory
// and byte limit), the fetch threads that bring shards in ahead of need, and the counters.
// A RemoteShard opens from its index alone — an `.mfs` by two range requests (header; trailer
// and index), a `.tar` by fetching it once into the cache and indexing it there — and then
// answers every metadata question (records, keys, layout, sizes) without the network.
// Hold() queues a fetch on the storage's threads; while held, the shard stays pinned in the
// cache and reads go to the local copy. After the last Unhold() the copy is unpinned (evicted
// when room is needed, a hit if needed again before). A read of a shard nobody holds holds it
// for the read's duration (so tools and previews work, slowly). A record whose checksum fails
// in the local copy has its copy discarded and fetched again once, then fails naming the URL.
#ifndef MASKFEED_PIPELINE_STORAGE_REMOTE_SHARD_H_
#define MASKFEED_PIPELINE_STORAGE_REMOTE_SHARD_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/shard/shard_reader.h"
#include "pipeline/storage/object_store.h"
#include "pipeline/storage/shard_cache.h"
#include "pipeline/storage/shard_index_file.h"
#include "pipeline/storage/storage_report.h"

namespace maskfeed {

struct RemoteStorageOptions {
  std::string cache_dir;     // required
  uint64_t cache_limit = 0;  // bytes; 0 = unbounded
  int fetch_threads = 4;     // shards fetched at once
};

// Counters of the shard fetches (beside the cache's and the stores' own).
struct FetchStats {
  std::atomic<uint64_t> shards_fetched{0};  // loads that went to the network (cache misses)
  std::atomic<uint64_t> fetch_ns{0};        // their total time
  std::atomic<uint64_t> fetch_failures{0};
  std::atomic<uint64_t> refetches{0};   // local copies discarded for a checksum failure
  std::atomic<uint64_t> waits{0};       // reads that waited for their shard to arrive
  std::atomic<uint64_t> held_bytes{0};  // bytes of shards someone holds now
};

class RemoteStorage final : public StorageReport {
 public:
  static absl::StatusOr<std::shared_ptr<RemoteStorage>> Create(const RemoteStorageOptions& options);
  ~RemoteStorage() override;

  ShardCache& cache() const { return *cache_; }
  const RemoteStorageOptions& options() const { return options_; }
  FetchStats& fetch_stats() const { return fetch_stats_; }
  // Counters shared by every store opened for this storage.
  const std::shared_ptr<StorageStats>& store_stats() const { return store_stats_; }
  // Runs `job` on a fetch thread, in submission order.
  void Submit(std::function<void()> job);

  v1::StorageState State() const override;
  void AppendMetrics(PrometheusText* page) const override;

 private:
  RemoteStorage(RemoteStorageOptions options, std::unique_ptr<ShardCache> cache);
  struct Pool;

  const RemoteStorageOptions options_;
  const std::unique_ptr<ShardCache> cache_;
  mutable FetchStats fetch_stats_;
  const std::shared_ptr<StorageStats> store_stats_ = std::make_shared<StorageStats>();
  // Shared with the fetch threads: the last user of the storage may be one of them (a fetched
  // shard's last reader ends there), and that thread must outlive the storage.
  std::shared_ptr<Pool> pool_;
  std::vector<std::thread> threads_;
};

class RemoteShard final : public ShardReader {
 public:
  // `name` is the shard's object name in `store` and `size` its size in bytes. Errors name the
  // URL: NOT_FOUND, PERMISSION_DENIED, UNAVAILABLE (after retries), DATA_LOSS for an index that
  // does not check.
  static absl::StatusOr<std::unique_ptr<RemoteShard>> Open(std::shared_ptr<const ObjectStore> store,
                                                           const std::string& name, uint64_t size,
                                                           std::shared_ptr<RemoteStorage> storage);
  ~RemoteShard() override;

  ShardFormat format() const override { return format_; }
  const std::string& path() const override { return url_; }
  uint64_t file_bytes() const override { return size_; }
  size_t num_records() const override { return index_.size(); }
  std::string_view key(size_t i) const override { return index_.key(i); }
  const RecordLayout& layout() const override { return index_.layout; }
  int64_t first_dim(size_t i) const override { return index_.first_dims[i]; }
  RecordKind kind(size_t i) const override { return index_.kinds[i]; }
  absl::Status Read(size_t i, Record* out) const override;
  absl::Status ReadRow(size_t i, int64_t row, Record* out) const override;
  void Prefetch(size_t) const override {}
  void PrefetchRow(size_t, int64_t) const override {}
  void PrefetchIndex(size_t) const override {}

  bool fetched_on_demand() const override { return true; }
  void Hold() const override;
  void Unhold() const override;

 private:
  RemoteShard(std::shared_ptr<const ObjectStore> store, std::string name, uint64_t size,
              std::shared_ptr<RemoteStorage> storage);
  // Checks a local copy against the index.
  absl::Status CheckCopy(const ShardReader& reader) const;
  absl::Status ReadMfsIndex();
  // A tar's index: from the cache (shard_index_file.h), else by fetching and indexing it.
  absl::Status ReadTarIndex();
  // Fetches (or finds) the local copy and opens it; the pin lives as long as the reader.
  absl::StatusOr<std::shared_ptr<const ShardReader>> LoadCopy(bool discard_first) const;
  // The fetch thread's job: loads the copy unless nobody holds the shard any more.
  void LoadInBackground(bool discard_first) const;
  // Hold() with mu_ held.
  void HoldLocked() const;
  // Hold() and the local copy, waiting for its fetch: one lock for both (every read does it).
  absl::StatusOr<std::shared_ptr<const ShardReader>> HoldCopy() const;
  // The local copy once no fetch is in flight, or the fetch's failure; `lock` holds mu_.
  absl::StatusOr<std::shared_ptr<const ShardReader>> WaitForCopy(
      std::unique_lock<std::mutex>& lock) const;
  // Reads through the local copy; on a checksum failure, discards it and reads once more.
  absl::Status ReadVia(const std::function<absl::Status(const ShardReader&)>& read) const;

  const std::shared_ptr<const ObjectStore> store_;
  const std::string name_;
  const std::string url_;
  const uint64_t size_;
  const std::shared_ptr<RemoteStorage> storage_;
  ShardFormat format_ = ShardFormat::kMfs;
  ShardIndex index_;
  bool indexed_ = false;  // index_ is filled: copies are checked against it

  enum class State { kIdle, kLoading, kLoaded, kFailed };
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable int holds_ = 0;                            // guarded by mu_
  mutable State state_ = State::kIdle;               // guarded by mu_
  mutable std::shared_ptr<const ShardReader> copy_;  // guarded by mu_: when kLoaded
  mutable absl::Status failure_;                     // guarded by mu_: when kFailed
  mutable bool refetched_ = false;  // guarded by mu_: a damaged copy was fetched again
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_REMOTE_SHARD_H_
