// Opening a dataset root that lives in object storage (`--data s3://bucket/prefix`,
// `--data https://host/path`): its objects are listed (S3) or read from its manifest (HTTP),
// the modality folders and shard numbers come from the names as for a local root
// (`<root>/<modality>/shard-NNNNN.mfs|.tar`), and each shard opens as a RemoteShard — from its
// index only for `.mfs`; a `.tar` is fetched once to be indexed. Nothing else is downloaded
// until a stream holds the shards it reads next.
//
//   absl::StatusOr<RemoteRoot> root = ListRemoteRoot("s3://bucket/cc12m", storage);
//   absl::StatusOr<std::unique_ptr<Dataset>> dataset = OpenRemoteDataset(*root, storage);
#ifndef MASKFEED_PIPELINE_STORAGE_REMOTE_DATASET_H_
#define MASKFEED_PIPELINE_STORAGE_REMOTE_DATASET_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/shard/dataset.h"
#include "pipeline/storage/object_store.h"
#include "pipeline/storage/remote_shard.h"

namespace maskfeed {

struct RemoteRoot {
  std::shared_ptr<const ObjectStore> store;
  std::vector<StoredObject> objects;  // every object under the root, by name

  // Folders holding shard-NNNNN files, sorted.
  std::set<std::string> ShardFolders() const;
  // The object named `name`, if listed.
  const StoredObject* Find(std::string_view name) const;
};

// Lists `url` with `storage`'s counters. Errors name the URL.
absl::StatusOr<RemoteRoot> ListRemoteRoot(const std::string& url,
                                          const std::shared_ptr<RemoteStorage>& storage,
                                          const HttpOptions& http = {});

// Opens the dataset at `root` (options.modalities as Dataset::Open; options.open_shard is
// set here). NOT_FOUND when no folder holds shards or a requested modality is missing.
absl::StatusOr<std::unique_ptr<Dataset>> OpenRemoteDataset(
    const RemoteRoot& root, const std::shared_ptr<RemoteStorage>& storage,
    DatasetOptions options = {});

// Opens a 4M data_path over a remote root ("s3://b/cc12m/[rgb,caption]/shard-{00000..00099}
// .mfs", Dataset::OpenPattern): the folder above the bracket group is listed once for the
// shards' sizes; a name the pattern gives that is not there is NOT_FOUND naming its URL.
absl::StatusOr<std::unique_ptr<Dataset>> OpenRemotePattern(
    const std::string& data_path, const std::map<std::string, std::string>& folder_names,
    const std::shared_ptr<RemoteStorage>& storage, DatasetOptions options = {});

// The local path of root file `name` (a tokenizer.json beside the shards), fetched into the
// cache when not there. NOT_FOUND when the root has no such object.
absl::StatusOr<std::string> FetchRootFile(const RemoteRoot& root, const std::string& name,
                                          const std::shared_ptr<RemoteStorage>& storage);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_REMOTE_DATASET_H_
