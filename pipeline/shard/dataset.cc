#include "pipeline/shard/dataset.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "pipeline/base/strings.h"
#include "pipeline/shard/parallel_jobs.h"
#include "pipeline/shard/url_pattern.h"

namespace maskfeed {
namespace fs = std::filesystem;
namespace {

struct FolderListing {
  std::string name;
  std::map<size_t, std::string> shards;  // shard number -> path
  std::set<ShardFormat> formats;
};

struct DirEntry {
  fs::path path;
  fs::file_type type;  // following symlinks
};

// The entries of `dir`. directory_iterator's ++ and directory_entry's is_* throw on errors;
// this asks for error codes at every step and returns them as statuses naming the folder.
absl::StatusOr<std::vector<DirEntry>> ListDirectory(const fs::path& dir) {
  std::vector<DirEntry> entries;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code status_ec;
    const fs::file_status st = it->status(status_ec);
    entries.push_back(DirEntry{it->path(), status_ec ? fs::file_type::unknown : st.type()});
  }
  if (ec) {
    const std::string message = StrCat("cannot list ", dir.string(), ": ", ec.message());
    return ec == std::errc::permission_denied ? absl::PermissionDeniedError(message)
                                              : absl::InternalError(message);
  }
  return entries;
}

absl::StatusOr<FolderListing> ListFolder(const fs::path& dir) {
  FolderListing listing;
  listing.name = dir.filename().string();
  absl::StatusOr<std::vector<DirEntry>> entries = ListDirectory(dir);
  if (!entries.ok()) return entries.status();
  for (const DirEntry& entry : *entries) {
    if (entry.type != fs::file_type::regular) continue;
    const std::string file = entry.path.filename().string();
    std::optional<std::pair<size_t, ShardFormat>> parsed = ParseShardName(file);
    if (!parsed) continue;
    auto [it, inserted] = listing.shards.emplace(parsed->first, entry.path.string());
    if (!inserted) {
      return absl::DataLossError(StrCat(dir.string(), ": shard number ", parsed->first,
                                        " appears twice (", it->second, " and ", file, ")"));
    }
    listing.formats.insert(parsed->second);
  }
  if (listing.formats.size() > 1) {
    return absl::DataLossError(
        StrCat(dir.string(), ": mixes .tar and .mfs shards; a modality folder holds one format"));
  }
  return listing;
}

}  // namespace

std::optional<std::pair<size_t, ShardFormat>> ParseShardName(std::string_view name) {
  constexpr std::string_view kPrefix = "shard-";
  if (name.size() < kPrefix.size() + 5 || name.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  std::string_view rest = name.substr(kPrefix.size());
  const size_t dot = rest.find('.');
  if (dot == 0 || dot == std::string_view::npos) return std::nullopt;
  std::string_view digits = rest.substr(0, dot), ext = rest.substr(dot);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      digits.size() > 12) {
    return std::nullopt;
  }
  ShardFormat format;
  if (ext == ShardExtension(ShardFormat::kTar)) {
    format = ShardFormat::kTar;
  } else if (ext == ShardExtension(ShardFormat::kMfs)) {
    format = ShardFormat::kMfs;
  } else {
    return std::nullopt;
  }
  return std::make_pair(static_cast<size_t>(std::stoull(std::string(digits))), format);
}

absl::StatusOr<std::unique_ptr<Dataset>> Dataset::Open(const std::string& root,
                                                       const DatasetOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(StrCat("dataset root ", root, " is not a directory"));
  }
  std::vector<FolderListing> folders;
  if (options.modalities.empty()) {
    absl::StatusOr<std::vector<DirEntry>> entries = ListDirectory(root);
    if (!entries.ok()) return entries.status();
    std::vector<fs::path> dirs;
    for (const DirEntry& entry : *entries) {
      if (entry.type == fs::file_type::directory) dirs.push_back(entry.path);
    }
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& dir : dirs) {
      absl::StatusOr<FolderListing> listing = ListFolder(dir);
      if (!listing.ok()) return listing.status();
      if (!listing->shards.empty()) folders.push_back(std::move(*listing));
    }
    if (folders.empty()) {
      return absl::NotFoundError(
          StrCat("dataset root ", root,
                 " has no modality folders holding shard-NNNNN.tar or shard-NNNNN.mfs files"));
    }
  } else {
    std::vector<std::string> names = options.modalities;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (const std::string& name : names) {
      const fs::path dir = fs::path(root) / name;
      if (!fs::is_directory(dir, ec)) {
        return absl::NotFoundError(StrCat("modality '", name, "': no folder ", dir.string()));
      }
      absl::StatusOr<FolderListing> listing = ListFolder(dir);
      if (!listing.ok()) return listing.status();
      if (listing->shards.empty()) {
        return absl::NotFoundError(StrCat("modality '", name, "': ", dir.string(),
                                          " holds no shard-NNNNN.tar/.mfs files"));
      }
      folders.push_back(std::move(*listing));
    }
  }

  std::vector<DatasetFolder> listed;
  for (FolderListing& f : folders) {
    DatasetFolder folder{.name = f.name, .shards = {}, .format = *f.formats.begin()};
    folder.shards.assign(f.shards.begin(), f.shards.end());
    listed.push_back(std::move(folder));
  }
  return OpenListed(root, std::move(listed), options);
}

absl::StatusOr<std::unique_ptr<Dataset>> Dataset::OpenPattern(
    const std::string& data_path, const std::map<std::string, std::string>& folder_names,
    const DatasetOptions& options) {
  absl::StatusOr<ModalityList> list = SplitModalityList(data_path);
  if (!list.ok()) return absl::InvalidArgumentError(StrCat("data_path: ", list.status().message()));
  if (list->names.size() == 1 && list->names[0].empty()) {
    return absl::InvalidArgumentError(
        StrCat("data_path ", data_path,
               ": needs a [folder,folder,...] group naming the modality folders"));
  }
  std::vector<DatasetFolder> folders;
  std::set<std::string> seen;
  for (size_t i = 0; i < list->names.size(); ++i) {
    const auto renamed = folder_names.find(list->names[i]);
    DatasetFolder folder;
    folder.name = renamed == folder_names.end() ? list->names[i] : renamed->second;
    if (!seen.insert(folder.name).second) {
      return absl::InvalidArgumentError(StrCat("data_path ", data_path, ": folder ", list->names[i],
                                               " gives modality ", folder.name,
                                               " twice (modality_name_map)"));
    }
    absl::StatusOr<std::vector<std::string>> shards = ExpandBraces(list->urls[i]);
    if (!shards.ok()) {
      return absl::InvalidArgumentError(StrCat("data_path: ", shards.status().message()));
    }
    std::set<ShardFormat> formats;
    for (size_t k = 0; k < shards->size(); ++k) {
      const std::string& path = (*shards)[k];
      const bool mfs = path.size() > 4 && path.compare(path.size() - 4, 4, ".mfs") == 0;
      formats.insert(mfs ? ShardFormat::kMfs : ShardFormat::kTar);
      folder.shards.emplace_back(k, path);
    }
    if (formats.size() > 1) {
      return absl::InvalidArgumentError(
          StrCat("data_path ", data_path, ": mixes .tar and .mfs shards in one folder"));
    }
    folder.format = *formats.begin();
    folders.push_back(std::move(folder));
  }
  std::sort(folders.begin(), folders.end(),
            [](const DatasetFolder& a, const DatasetFolder& b) { return a.name < b.name; });
  return OpenListed(data_path, std::move(folders), options);
}

absl::StatusOr<std::unique_ptr<Dataset>> Dataset::OpenListed(const std::string& root,
                                                             std::vector<DatasetFolder> folders,
                                                             const DatasetOptions& options) {
  // Every modality must have the same shard numbers.
  std::set<size_t> numbers;
  std::vector<std::map<size_t, std::string>> by_number(folders.size());
  for (size_t m = 0; m < folders.size(); ++m) {
    for (const auto& [n, path] : folders[m].shards) {
      numbers.insert(n);
      by_number[m].emplace(n, path);
    }
  }
  for (size_t m = 0; m < folders.size(); ++m) {
    for (size_t n : numbers) {
      if (by_number[m].count(n)) continue;
      const size_t other =
          static_cast<size_t>(std::find_if(by_number.begin(), by_number.end(),
                                           [&](const auto& g) { return g.count(n); }) -
                              by_number.begin());
      return absl::DataLossError(StrCat(root, "/", folders[m].name, ": shard ", n, " is missing (",
                                        by_number[other].at(n),
                                        " exists); every modality needs the same shards"));
    }
  }

  std::unique_ptr<Dataset> dataset(new Dataset());
  dataset->root_ = root;
  const std::vector<size_t> shard_numbers(numbers.begin(), numbers.end());
  const size_t num_shards = shard_numbers.size();
  dataset->modalities_.resize(folders.size());
  for (size_t m = 0; m < folders.size(); ++m) {
    dataset->modalities_[m].name = folders[m].name;
    dataset->modalities_[m].format = folders[m].format;
    dataset->modalities_[m].shards.resize(num_shards);
  }

  // Index every shard (in parallel when given an arena); report the first error in order.
  // Remote shards wait on the network, not the CPU: they open on threads of their own.
  auto open_one = [&](size_t j) {
    const size_t m = j / num_shards, s = j % num_shards;
    const std::string& path = by_number[m].at(shard_numbers[s]);
    absl::StatusOr<std::unique_ptr<ShardReader>> reader =
        options.open_shard ? options.open_shard(path) : OpenShard(path);
    if (!reader.ok()) return reader.status();
    dataset->modalities_[m].shards[s] = std::move(*reader);
    return absl::OkStatus();
  };
  const absl::Status opened =
      options.open_shard
          ? RunJobsOnThreads(folders.size() * num_shards, options.parallel_opens, open_one)
          : RunJobs(folders.size() * num_shards, options.arena, open_one);
  if (!opened.ok()) return opened;

  for (size_t s = 0; s < num_shards; ++s) {
    dataset->shard_starts_.push_back(dataset->shard_starts_.back() +
                                     dataset->modalities_[0].shards[s]->num_records());
  }
  if (absl::Status s = dataset->CheckAlignment(); !s.ok()) return s;
  if (dataset->num_samples() == 0) {
    return absl::FailedPreconditionError(StrCat("dataset ", root, " holds no samples"));
  }
  if (std::optional<size_t> crop = dataset->FindModality(kCropSettings)) {
    dataset->crop_modality_ = crop;
  } else {
    for (size_t m = 0; m < dataset->modalities_.size(); ++m) {
      if (dataset->modalities_[m].layout.rank == 2) {
        dataset->crop_modality_ = m;
        break;
      }
    }
  }
  return dataset;
}

absl::Status Dataset::CheckAlignment() {
  const Modality& first = modalities_[0];
  for (size_t s = 0; s < num_shards(); ++s) {
    const ShardReader& ref = *first.shards[s];
    for (const Modality& mod : modalities_) {
      const ShardReader& shard = *mod.shards[s];
      if (shard.num_records() != ref.num_records()) {
        return absl::DataLossError(StrCat(shard.path(), " has ", shard.num_records(),
                                          " records but ", ref.path(), " has ", ref.num_records()));
      }
      for (size_t r = 0; r < shard.num_records(); ++r) {
        if (shard.key(r) != ref.key(r)) {
          return RecordError(
              shard.path(), r, shard.key(r),
              StrCat("key differs from ", ref.path(), " record ", r, " (key ", ref.key(r),
                     "); modalities must list the same samples in order"));
        }
      }
    }
  }
  // Layouts: every non-empty shard of a modality agrees with the modality's first one.
  for (Modality& mod : modalities_) {
    const ShardReader* layout_source = nullptr;
    for (const auto& shard : mod.shards) {
      if (shard->num_records() == 0) continue;
      if (layout_source == nullptr) {
        layout_source = shard.get();
        mod.layout = shard->layout();
      } else if (!(shard->layout() == mod.layout)) {
        return RecordError(shard->path(), 0, shard->key(0),
                           StrCat("records are ", shard->layout().ToString(), " but ",
                                  layout_source->path(), " holds ", mod.layout.ToString(),
                                  "; a modality has one dtype and record shape"));
      }
    }
  }
  for (Modality& mod : modalities_) {
    if (!mod.layout.raw) continue;
    std::set<RecordKind> kinds;
    for (const auto& shard : mod.shards) {
      for (size_t r = 0; r < shard->num_records(); ++r) kinds.insert(shard->kind(r));
    }
    mod.kinds.assign(kinds.begin(), kinds.end());
  }
  // Crop variants: every (n_crops, n_tokens) modality agrees with crop_settings.
  std::optional<size_t> crops = FindModality(kCropSettings);
  if (!crops) return absl::OkStatus();
  const Modality& crop = modalities_[*crops];
  if (crop.layout.rank != 2 || crop.layout.inner[0] != 5 || !IsInteger(crop.layout.dtype)) {
    return absl::DataLossError(StrCat(root_, "/", kCropSettings, " holds ", crop.layout.ToString(),
                                      " records; expected integer (n_crops, 5)"));
  }
  for (const Modality& mod : modalities_) {
    if (&mod == &crop || mod.layout.rank != 2) continue;
    for (size_t s = 0; s < num_shards(); ++s) {
      for (size_t r = 0; r < mod.shards[s]->num_records(); ++r) {
        const int64_t want = crop.shards[s]->first_dim(r), got = mod.shards[s]->first_dim(r);
        if (want != got) {
          return RecordError(
              mod.shards[s]->path(), r, mod.shards[s]->key(r),
              StrCat(got, " crop variants but ", crop.shards[s]->path(), " has ", want));
        }
      }
    }
  }
  return absl::OkStatus();
}

bool Dataset::fetched_on_demand() const {
  for (const Modality& mod : modalities_) {
    if (!mod.shards.empty() && mod.shards[0]->fetched_on_demand()) return true;
  }
  return false;
}

uint64_t Dataset::shard_bytes(size_t s) const {
  uint64_t bytes = 0;
  for (const Modality& mod : modalities_) bytes += mod.shards[s]->file_bytes();
  return bytes;
}

void Dataset::HoldShard(size_t s) const {
  for (const Modality& mod : modalities_) mod.shards[s]->Hold();
}

void Dataset::UnholdShard(size_t s) const {
  for (const Modality& mod : modalities_) mod.shards[s]->Unhold();
}

uint64_t Dataset::total_bytes() const {
  uint64_t bytes = 0;
  for (size_t s = 0; s < num_shards(); ++s) bytes += shard_bytes(s);
  return bytes;
}

std::optional<size_t> Dataset::FindModality(std::string_view name) const {
  for (size_t m = 0; m < modalities_.size(); ++m) {
    if (modalities_[m].name == name) return m;
  }
  return std::nullopt;
}

Dataset::Location Dataset::Locate(size_t sample) const {
  auto it = std::upper_bound(shard_starts_.begin(), shard_starts_.end(), sample);
  const size_t shard = static_cast<size_t>(it - shard_starts_.begin()) - 1;
  return {shard, sample - shard_starts_[shard]};
}

std::string_view Dataset::key(size_t sample) const {
  const Location loc = Locate(sample);
  return modalities_[0].shards[loc.shard]->key(loc.record);
}

absl::Status Dataset::Read(size_t m, size_t sample, Record* out) const {
  const Location loc = Locate(sample);
  return modalities_[m].shards[loc.shard]->Read(loc.record, out);
}

absl::Status Dataset::ReadSample(size_t sample, std::vector<Record>* out) const {
  const Location loc = Locate(sample);
  out->resize(modalities_.size());
  for (size_t m = 0; m < modalities_.size(); ++m) {
    if (absl::Status s = modalities_[m].shards[loc.shard]->Read(loc.record, &(*out)[m]); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

int64_t Dataset::NumCropVariants(const Location& loc) const {
  if (!crop_modality_) return 1;
  return modalities_[*crop_modality_].shards[loc.shard]->first_dim(loc.record);
}

v1::DatasetInfo Dataset::Describe() const {
  v1::DatasetInfo info;
  info.set_root(root_);
  info.set_num_samples(num_samples());
  for (const Modality& mod : modalities_) {
    v1::ModalityInfo* m = info.add_modalities();
    m->set_name(mod.name);
    m->set_format(mod.format == ShardFormat::kTar ? v1::SHARD_FORMAT_TAR : v1::SHARD_FORMAT_MFS);
    m->set_dtype(static_cast<v1::DType>(mod.layout.dtype));
    m->set_record_rank(mod.layout.rank);
    for (int d = 1; d < mod.layout.rank; ++d) m->add_record_inner_shape(mod.layout.inner[d - 1]);
    uint64_t bytes = 0;
    for (const auto& shard : mod.shards) bytes += shard->file_bytes();
    m->set_bytes_on_disk(bytes);
    std::vector<std::string> kinds;
    for (RecordKind kind : mod.kinds) kinds.emplace_back(RecordKindName(kind));
    std::sort(kinds.begin(), kinds.end());
    for (std::string& kind : kinds) m->add_record_kinds(std::move(kind));
  }
  for (size_t s = 0; s < num_shards(); ++s) {
    info.add_shard_sizes(shard_starts_[s + 1] - shard_starts_[s]);
  }
  return info;
}

}  // namespace maskfeed
