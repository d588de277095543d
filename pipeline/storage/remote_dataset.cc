#include "pipeline/storage/remote_dataset.h"

#include <algorithm>
#include <map>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// "rgb/shard-00012.mfs" -> folder "rgb", shard 12, format; other names -> nullopt.
struct ShardName {
  std::string folder;
  size_t number;
  ShardFormat format;
};
std::optional<ShardName> ParseObjectName(std::string_view name) {
  const size_t slash = name.find('/');
  if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
  std::string_view file = name.substr(slash + 1);
  if (file.find('/') != std::string_view::npos) return std::nullopt;
  std::optional<std::pair<size_t, ShardFormat>> parsed = ParseShardName(file);
  if (!parsed) return std::nullopt;
  return ShardName{std::string(name.substr(0, slash)), parsed->first, parsed->second};
}

}  // namespace

std::set<std::string> RemoteRoot::ShardFolders() const {
  std::set<std::string> folders;
  for (const StoredObject& o : objects) {
    if (std::optional<ShardName> n = ParseObjectName(o.name)) folders.insert(n->folder);
  }
  return folders;
}

const StoredObject* RemoteRoot::Find(std::string_view name) const {
  auto it = std::lower_bound(objects.begin(), objects.end(), name,
                             [](const StoredObject& o, std::string_view n) { return o.name < n; });
  return it != objects.end() && it->name == name ? &*it : nullptr;
}

absl::StatusOr<RemoteRoot> ListRemoteRoot(const std::string& url,
                                          const std::shared_ptr<RemoteStorage>& storage,
                                          const HttpOptions& http) {
  absl::StatusOr<std::shared_ptr<ObjectStore>> store = OpenObjectStore(
      url, ObjectStoreOptions{.http = http, .retry = {}, .stats = storage->store_stats()});
  if (!store.ok()) return store.status();
  absl::StatusOr<std::vector<StoredObject>> objects = (*store)->List();
  if (!objects.ok()) return objects.status();
  for (const StoredObject& o : *objects) {
    if (o.size > kMaxObjectBytes) {
      return absl::DataLossError(StrCat((*store)->UrlOf(o.name), ": listed as ", o.size,
                                        " bytes, more than any shard can be"));
    }
  }
  std::sort(objects->begin(), objects->end(),
            [](const StoredObject& a, const StoredObject& b) { return a.name < b.name; });
  return RemoteRoot{*std::move(store), *std::move(objects)};
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenRemoteDataset(
    const RemoteRoot& root, const std::shared_ptr<RemoteStorage>& storage, DatasetOptions options) {
  const std::string& url = root.store->root();
  std::map<std::string, DatasetFolder> folders;
  std::map<std::string, std::set<ShardFormat>> formats;
  std::map<std::string, uint64_t> sizes;  // object URL -> bytes
  for (const StoredObject& o : root.objects) {
    std::optional<ShardName> n = ParseObjectName(o.name);
    if (!n) continue;
    DatasetFolder& folder = folders[n->folder];
    folder.name = n->folder;
    folder.format = n->format;
    for (const auto& [number, existing] : folder.shards) {
      if (number == n->number) {
        return absl::DataLossError(StrCat(url, "/", n->folder, ": shard number ", number,
                                          " appears twice (", existing, " and ", o.name, ")"));
      }
    }
    folder.shards.emplace_back(n->number, root.store->UrlOf(o.name));
    formats[n->folder].insert(n->format);
    sizes[root.store->UrlOf(o.name)] = o.size;
  }
  for (const auto& [name, f] : formats) {
    if (f.size() > 1) {
      return absl::DataLossError(StrCat(url, "/", name,
                                        ": mixes .tar and .mfs shards; a modality folder holds "
                                        "one format"));
    }
  }
  std::vector<DatasetFolder> listed;
  if (options.modalities.empty()) {
    for (auto& [name, folder] : folders) listed.push_back(std::move(folder));
  } else {
    std::set<std::string> names(options.modalities.begin(), options.modalities.end());
    for (const std::string& name : names) {
      auto it = folders.find(name);
      if (it == folders.end()) {
        return absl::NotFoundError(
            StrCat("modality '", name, "': no shards under ", url, "/", name, "/"));
      }
      listed.push_back(std::move(it->second));
    }
  }
  if (listed.empty()) {
    return absl::NotFoundError(
        StrCat("dataset root ", url,
               " has no modality folders holding shard-NNNNN.tar or shard-NNNNN.mfs objects"));
  }
  for (DatasetFolder& folder : listed) std::sort(folder.shards.begin(), folder.shards.end());
  std::shared_ptr<const ObjectStore> store = root.store;
  const size_t root_prefix = url.size() + 1;
  options.open_shard =
      [&](const std::string& shard_url) -> absl::StatusOr<std::unique_ptr<ShardReader>> {
    absl::StatusOr<std::unique_ptr<RemoteShard>> shard =
        RemoteShard::Open(store, shard_url.substr(root_prefix), sizes.at(shard_url), storage);
    if (!shard.ok()) return shard.status();
    return std::unique_ptr<ShardReader>(*std::move(shard));
  };
  return Dataset::OpenListed(url, std::move(listed), options);
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenRemotePattern(
    const std::string& data_path, const std::map<std::string, std::string>& folder_names,
    const std::shared_ptr<RemoteStorage>& storage, DatasetOptions options) {
  const size_t bracket = data_path.find('[');
  const size_t slash = data_path.rfind('/', bracket);
  if (bracket == std::string::npos || slash == std::string::npos) {
    return absl::InvalidArgumentError(
        StrCat("data_path ", data_path,
               ": needs a [folder,folder,...] group naming the modality folders"));
  }
  absl::StatusOr<RemoteRoot> root = ListRemoteRoot(data_path.substr(0, slash), storage);
  if (!root.ok()) return root.status();
  const std::string prefix = StrCat(root->store->root(), "/");
  std::shared_ptr<const ObjectStore> store = root->store;
  options.open_shard = [&](const std::string& url) -> absl::StatusOr<std::unique_ptr<ShardReader>> {
    const StoredObject* object = url.compare(0, prefix.size(), prefix) == 0
                                     ? root->Find(url.substr(prefix.size()))
                                     : nullptr;
    if (object == nullptr) {
      return absl::NotFoundError(
          StrCat(url, ": no such object (named by data_path ", data_path, ")"));
    }
    absl::StatusOr<std::unique_ptr<RemoteShard>> shard =
        RemoteShard::Open(store, object->name, object->size, storage);
    if (!shard.ok()) return shard.status();
    return std::unique_ptr<ShardReader>(*std::move(shard));
  };
  return Dataset::OpenPattern(data_path, folder_names, options);
}

absl::StatusOr<std::string> FetchRootFile(const RemoteRoot& root, const std::string& name,
                                          const std::shared_ptr<RemoteStorage>& storage) {
  const StoredObject* object = root.Find(name);
  if (object == nullptr) {
    return absl::NotFoundError(StrCat(root.store->UrlOf(name), ": no such object"));
  }
  const std::string url = root.store->UrlOf(name);
  ShardCache& cache = storage->cache();
  absl::StatusOr<std::string> path = cache.Acquire(url, object->size, [&](const std::string& tmp) {
    absl::StatusOr<std::string> body = root.store->Get(name);
    if (!body.ok()) return body.status();
    return cache.WriteFetched(tmp, *body, url);
  });
  if (!path.ok()) return path.status();
  cache.Release(url);  // read at once by the caller; a later eviction does not matter
  return path;
}

}  // namespace maskfeed
