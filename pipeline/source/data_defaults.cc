#include "pipeline/source/data_defaults.h"

#include <filesystem>
#include <system_error>

#include "pipeline/source/data_config.h"
#include "pipeline/storage/remote_dataset.h"

namespace maskfeed {

DataDefaults DefaultsForDataDir(const std::string& dir, const std::string& preset) {
  const std::filesystem::path root(dir);
  std::error_code ec;
  return DefaultsFor(std::filesystem::is_directory(root / "rgb", ec),
                     std::filesystem::is_regular_file(root / kDatasetTokenizerFile, ec)
                         ? (root / kDatasetTokenizerFile).string()
                         : std::string(),
                     preset);
}

DataDefaults DefaultsFor(bool has_rgb, const std::string& tokenizer, const std::string& preset) {
  DataDefaults d;
  d.preset = !preset.empty() ? preset : has_rgb ? "4m-7" : "4m-7-tokens";
  d.text_tokenizer = tokenizer;
  if (d.preset == "4m-7") d.main_augment_domain = "rgb@224";
  return d;
}

absl::StatusOr<DataDefaults> DefaultsForRemoteRoot(const std::string& url,
                                                   const v1::StorageConfig& config,
                                                   const std::string& preset) {
  const std::string dir = config.cache_dir().empty()
                              ? (std::filesystem::path(MaskfeedCacheDir()) / "shards").string()
                              : config.cache_dir();
  absl::StatusOr<std::shared_ptr<RemoteStorage>> storage = RemoteStorage::Create(
      {.cache_dir = dir, .cache_limit = config.cache_limit_bytes(), .fetch_threads = 1});
  if (!storage.ok()) return storage.status();
  absl::StatusOr<RemoteRoot> root = ListRemoteRoot(url, *storage);
  if (!root.ok()) return root.status();
  std::string tokenizer;
  if (root->Find(kDatasetTokenizerFile) != nullptr) {
    absl::StatusOr<std::string> fetched = FetchRootFile(*root, kDatasetTokenizerFile, *storage);
    if (!fetched.ok()) return fetched.status();
    tokenizer = *std::move(fetched);
  }
  return DefaultsFor(root->ShardFolders().count("rgb") != 0, tokenizer, preset);
}

absl::StatusOr<DataDefaults> DefaultsForRoot(const std::string& root,
                                             const v1::StorageConfig& storage,
                                             const std::string& preset) {
  if (IsRemoteUrl(root)) return DefaultsForRemoteRoot(root, storage, preset);
  return DefaultsForDataDir(root, preset);
}

}  // namespace maskfeed
