#include "pipeline/source/data_defaults.h"

#include <filesystem>
#include <system_error>

#include "pipeline/source/data_config.h"
#include "pipeline/storage/remote_dataset.h"

namespace maskfeed {

DataDefaults DefaultsForDataDir(const std::string& dir, const std::string& preset) {
  const std::filesystem::path root(dir);
  std::error_code ec;
  RootContents contents;
  contents.has_rgb = std::filesystem::is_directory(root / "rgb", ec);
  contents.has_t5_caption = std::filesystem::is_directory(root / "t5_caption", ec);
  if (std::filesystem::is_regular_file(root / kDatasetTokenizerFile, ec)) {
    contents.tokenizer = (root / kDatasetTokenizerFile).string();
  }
  return DefaultsFor(contents, preset);
}

DataDefaults DefaultsFor(const RootContents& contents, const std::string& preset) {
  DataDefaults d;
  if (!preset.empty()) {
    d.preset = preset;
  } else if (contents.has_rgb && contents.has_t5_caption) {
    d.preset = "4m-21";
    d.why = "the folder has rgb images and T5 captions";
  } else if (contents.has_rgb) {
    d.preset = "4m-7";
    d.why = "the folder has rgb images";
  } else {
    d.preset = "4m-7-tokens";
    d.why = "the folder has no rgb images";
  }
  d.text_tokenizer = contents.tokenizer;
  if (d.preset == "4m-7" || d.preset == "4m-21") d.main_augment_domain = "rgb@224";
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
  RootContents contents;
  if (root->Find(kDatasetTokenizerFile) != nullptr) {
    absl::StatusOr<std::string> fetched = FetchRootFile(*root, kDatasetTokenizerFile, *storage);
    if (!fetched.ok()) return fetched.status();
    contents.tokenizer = *std::move(fetched);
  }
  contents.has_rgb = root->ShardFolders().count("rgb") != 0;
  contents.has_t5_caption = root->ShardFolders().count("t5_caption") != 0;
  return DefaultsFor(contents, preset);
}

absl::StatusOr<DataDefaults> DefaultsForRoot(const std::string& root,
                                             const v1::StorageConfig& storage,
                                             const std::string& preset) {
  if (IsRemoteUrl(root)) return DefaultsForRemoteRoot(root, storage, preset);
  return DefaultsForDataDir(root, preset);
}

}  // namespace maskfeed
