// A bounded local cache of whole remote objects (shards) in a directory (--cache-dir,
// --cache-limit). An object is fetched into a temporary file and renamed into place, so a
// reader never sees half of one; its size is checked when known. When room is needed the
// objects needed least recently go first (a file's mtime is its last use, shared by every
// process using the directory); objects this process holds are never evicted. Several server
// processes may share the directory: a lock file per object makes one of them fetch it while
// the others wait and then find it; an evicted file stays readable to whoever has it open.
// What is in the directory is reused after a restart.
//
//   absl::StatusOr<std::unique_ptr<ShardCache>> cache = ShardCache::Open({dir, 8 << 30});
//   absl::StatusOr<std::string> path = (*cache)->Acquire("s3://b/rgb/shard-00000.mfs", size,
//       [&](const std::string& tmp) { return DownloadTo(tmp); });
//   ... open *path ...
//   (*cache)->Release("s3://b/rgb/shard-00000.mfs");
#ifndef MASKFEED_PIPELINE_STORAGE_SHARD_CACHE_H_
#define MASKFEED_PIPELINE_STORAGE_SHARD_CACHE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace maskfeed {

struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;  // fetches started
  uint64_t evictions = 0;
  uint64_t bytes_fetched = 0;
};

class ShardCache {
 public:
  struct Options {
    std::string dir;
    uint64_t limit_bytes = 0;  // 0: unbounded
  };
  // Writes the object into `tmp_path` (a new file); errors pass through.
  using Fetch = std::function<absl::Status(const std::string& tmp_path)>;

  // Creates the directory if needed; removes temporary files that dead processes left.
  static absl::StatusOr<std::unique_ptr<ShardCache>> Open(const Options& options);

  // The local path of object `name`, fetched first when it is not cached. `size` is its size
  // when known (0: unknown), checked after the fetch (DATA_LOSS on a mismatch). Pinned until
  // a matching Release. RESOURCE_EXHAUSTED naming the directory when the object cannot fit
  // under the limit beside the pinned ones; errors of the file system name the directory.
  absl::StatusOr<std::string> Acquire(const std::string& name, uint64_t size, const Fetch& fetch);
  void Release(const std::string& name);
  // Removes the cached copy of `name` (found corrupt), pinned or not: those who have it open
  // keep reading their copy; the next Acquire fetches it again.
  void Discard(const std::string& name);

  // Writes a fetched object's `body` into the new file `path` (a Fetch's temporary file);
  // errors name the directory and the object, RESOURCE_EXHAUSTED for a full disk.
  absl::Status WriteFetched(const std::string& path, std::string_view body,
                            const std::string& name) const;

  CacheStats stats() const;
  // Bytes of cached objects in the directory (all processes'), as last seen.
  uint64_t used_bytes() const;
  const std::string& dir() const { return dir_; }

 private:
  ShardCache(std::string dir, uint64_t limit) : dir_(std::move(dir)), limit_(limit) {}
  // The file an object is kept in (a hash of the name, and its last component for people).
  std::string FileFor(const std::string& name) const;
  // Evicts least recently needed unpinned files until `incoming` more bytes fit.
  absl::Status MakeRoom(uint64_t incoming, const std::string& name);

  const std::string dir_;
  const uint64_t limit_;
  mutable std::mutex mu_;
  std::map<std::string, int> pins_;  // guarded by mu_: file name -> holders
  CacheStats stats_;                 // guarded by mu_
  uint64_t used_ = 0;                // guarded by mu_
  uint64_t reserved_ = 0;            // guarded by mu_: bytes of this process's fetches in flight
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_SHARD_CACHE_H_
