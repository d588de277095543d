// Where a remote dataset lives: an `s3://bucket/prefix` (the S3 REST API, signed) or an
// `http(s)://host/path` root (plain GET and range GET), seen as objects named relative to the
// root. S3 can list its objects; HTTP cannot, so an HTTP root carries a manifest that
// `maskfeed-shard manifest DIR` writes (kManifestName, every file under DIR with its size).
//
//   absl::StatusOr<std::shared_ptr<ObjectStore>> store = OpenObjectStore("s3://b/cc12m", {});
//   absl::StatusOr<std::vector<StoredObject>> objects = (*store)->List();  // "rgb/shard-00000.mfs"
//   absl::StatusOr<std::string> tail = (*store)->Get("rgb/shard-00000.mfs", ByteRange{n - 32, n -
//   1});
//
// Every request is retried under the store's RetryPolicy (retry.h) when it may pass on a
// second try, and counted in its StorageStats; errors name the object's URL.
#ifndef MASKFEED_PIPELINE_STORAGE_OBJECT_STORE_H_
#define MASKFEED_PIPELINE_STORAGE_OBJECT_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/storage/http_client.h"
#include "pipeline/storage/retry.h"

namespace maskfeed {

inline constexpr std::string_view kManifestName = "maskfeed-manifest.json";
// A listed size past this (1 PiB) is refused (ListRemoteRoot), so that sums of sizes — a
// dataset's bytes, the bytes streams hold — cannot wrap.
inline constexpr uint64_t kMaxObjectBytes = uint64_t{1} << 50;

// Counters of one process's object-storage traffic (exported as metrics).
struct StorageStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> failures{0};  // requests that failed after their retries
  std::atomic<uint64_t> bytes_fetched{0};
};

struct StoredObject {
  std::string name;  // relative to the root: "rgb/shard-00000.mfs"
  uint64_t size = 0;
};

struct ObjectStoreOptions {
  HttpOptions http;
  RetryPolicy retry;
  std::shared_ptr<StorageStats> stats;  // created when null
};

// Whether `path` names a remote root: s3://, http:// or https://.
bool IsRemoteUrl(std::string_view path);

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // The root without a trailing slash, as given: "s3://bucket/prefix", "https://host/data".
  const std::string& root() const { return root_; }
  std::string UrlOf(std::string_view name) const;
  StorageStats& stats() const { return *options_.stats; }
  const std::shared_ptr<StorageStats>& shared_stats() const { return options_.stats; }

  // Every object under the root, by name. S3 lists; an HTTP root reads its manifest.
  virtual absl::StatusOr<std::vector<StoredObject>> List() const = 0;
  // The object, or a range of it (retried).
  absl::StatusOr<std::string> Get(std::string_view name,
                                  const std::optional<ByteRange>& range = {}) const;

 protected:
  ObjectStore(std::string root, ObjectStoreOptions options);
  // One attempt, no retries.
  virtual absl::StatusOr<std::string> GetOnce(std::string_view name,
                                              const std::optional<ByteRange>& range) const = 0;

  std::string root_;
  ObjectStoreOptions options_;
};

// INVALID_ARGUMENT for a path that is not a remote root; S3 roots need credentials
// (S3ConfigFromEnvironment, FAILED_PRECONDITION naming what is missing).
absl::StatusOr<std::shared_ptr<ObjectStore>> OpenObjectStore(std::string_view url,
                                                             ObjectStoreOptions options = {});

// A manifest's objects (untrusted bytes: fuzzed). DATA_LOSS naming `what` when it does not
// parse, a name is empty, absolute or climbs out of the root (".."), or a size is not a
// non-negative integer.
absl::StatusOr<std::vector<StoredObject>> ParseManifest(std::string_view json,
                                                        const std::string& what);
// The manifest of `objects`, as maskfeed-shard writes it.
std::string EncodeManifest(const std::vector<StoredObject>& objects);
// Writes DIR/kManifestName listing every file under `dir` (atomically: a temporary file
// renamed); returns what it lists. Errors name the folder or file.
absl::StatusOr<std::vector<StoredObject>> WriteManifest(const std::string& dir);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_OBJECT_STORE_H_
