#include "frontend/data_flags.h"

#include <map>
#include <utility>

#include "absl/strings/str_split.h"
#include "pipeline/base/log.h"
#include "pipeline/base/status_fields.h"
#include "pipeline/base/strings.h"
#include "pipeline/source/data_config.h"
#include "pipeline/source/data_defaults.h"
#include "pipeline/source/fourm_config.h"

namespace maskfeed {
namespace {

// A setting of every dataset, given as an integer flag: the flag, its range, the field.
struct DatasetSetting {
  const char* flag;
  int64_t lo, hi;
  void (*set)(v1::DatasetConfig* d, int64_t value);
};
const DatasetSetting kDatasetSettings[] = {
    {"window-shards", 1, 65536,
     [](v1::DatasetConfig* d, int64_t v) { d->set_window_shards(static_cast<uint32_t>(v)); }},
    {"n-repeats", 1, 1024,
     [](v1::DatasetConfig* d, int64_t v) { d->set_n_repeats(static_cast<uint32_t>(v)); }},
    {"repeat-spread", 1, 1 << 24,
     [](v1::DatasetConfig* d, int64_t v) { d->set_repeat_spread(static_cast<uint32_t>(v)); }},
};

// A switch that turns a setting on for every dataset.
struct DatasetSwitch {
  const char* flag;
  void (*set)(v1::DatasetConfig* d);
};
const DatasetSwitch kDatasetSwitches[] = {
    {"fast-pixels", [](v1::DatasetConfig* d) { d->set_fast_pixels(true); }},
    {"skip-corrupt", [](v1::DatasetConfig* d) { d->set_skip_corrupt_records(true); }},
};

// The flag of each config field a library status may name (status_fields.h).
const std::map<std::string, std::string>& FieldFlags() {
  static const auto* flags = new std::map<std::string, std::string>{
      {"window_shards", "--window-shards K"},
      {"n_repeats", "--n-repeats R"},
      {"repeat_spread", "--repeat-spread V"},
      {"canonical_nodes", "--canonical-nodes C"},
      {"node_batch", "--node-batch U"},
      {"text_tokenizer", "--text-tokenizer FILE"},
      {"main_augment_domain", "--main-augment-domain M"},
      {"storage.cache_limit_bytes", "--cache-limit BYTES"},
      {"storage.cache_dir", "--cache-dir DIR"},
  };
  return *flags;
}

const char* const kValueFlags[] = {
    "config",     "data",      "preset",       "text-tokenizer", "main-augment-domain",
    "4m-config",  "4m-root",   "4m-data-path", "4m-datasets",    "canonical-nodes",
    "node-batch", "cache-dir", "cache-limit",  "fetch-threads",
};

// The shard cache's flags, applied before any root is listed.
absl::Status ApplyStorageFlags(const CliArgs& args, v1::StorageConfig* storage) {
  if (args.Has("cache-dir")) storage->set_cache_dir(args.GetString("cache-dir"));
  if (args.Has("cache-limit")) {
    absl::StatusOr<uint64_t> limit = args.GetBytes("cache-limit", 0);
    if (!limit.ok()) return limit.status();
    storage->set_cache_limit_bytes(*limit);
  }
  if (args.Has("fetch-threads")) {
    absl::StatusOr<int64_t> n = args.GetInt("fetch-threads", 0, 1, 64);
    if (!n.ok()) return n.status();
    storage->set_fetch_threads(static_cast<uint32_t>(*n));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ServerConfig> ImportFourM(const CliArgs& args) {
  FourMImport import;
  import.files = args.GetAll("4m-config");
  import.root = args.GetString("4m-root", ".");
  import.text_tokenizer = args.GetString("text-tokenizer");
  for (const std::string& p : args.GetAll("4m-data-path")) {
    const size_t eq = p.find('=');
    const bool named = eq != std::string::npos && p.find('/') > eq;
    import.data_paths[named ? p.substr(0, eq) : ""] = named ? p.substr(eq + 1) : p;
  }
  if (args.Has("4m-datasets")) {
    import.datasets = absl::StrSplit(args.GetString("4m-datasets"), ',', absl::SkipEmpty());
  }
  return ImportFourMConfig(import);
}

// A dataset root: the preset by what it holds unless named, its own tokenizer.json, 4M's
// main_augment_domain for 4m-7 and 4m-21.
absl::Status AddRoot(const CliArgs& args, const std::string& name, const std::string& path,
                     v1::ServerConfig* config) {
  absl::StatusOr<DataDefaults> found =
      DefaultsForRoot(path, config->storage(), args.GetString("preset"));
  if (!found.ok()) return found.status();
  if (!args.Has("preset")) {
    LogEvent("info", "preset_chosen",
             {{"dataset", name}, {"preset", found->preset}, {"why", found->why}});
  }
  v1::DatasetConfig* d = config->add_dataset();
  d->set_name(name);
  d->set_path(path);
  d->set_preset(found->preset);
  d->set_main_augment_domain(found->main_augment_domain);
  d->set_text_tokenizer(args.GetString("text-tokenizer", found->text_tokenizer));
  return absl::OkStatus();
}

// The settings every dataset takes from the flags.
absl::Status ApplyDatasetFlags(const CliArgs& args, v1::ServerConfig* config) {
  if (args.Has("main-augment-domain")) {
    if (!args.Has("data")) {
      return absl::InvalidArgumentError(
          "--main-augment-domain goes with --data; a config names it per dataset");
    }
    config->mutable_dataset(0)->set_main_augment_domain(args.GetString("main-augment-domain"));
  }
  if (args.Has("text-tokenizer")) {
    for (v1::DatasetConfig& d : *config->mutable_dataset()) {
      if (d.text_tokenizer().empty()) d.set_text_tokenizer(args.GetString("text-tokenizer"));
    }
  }
  for (const DatasetSwitch& s : kDatasetSwitches) {
    if (!args.Has(s.flag)) continue;
    for (v1::DatasetConfig& d : *config->mutable_dataset()) s.set(&d);
  }
  for (const DatasetSetting& s : kDatasetSettings) {
    if (!args.Has(s.flag)) continue;
    absl::StatusOr<int64_t> v = args.GetInt(s.flag, 0, s.lo, s.hi);
    if (!v.ok()) return v.status();
    for (v1::DatasetConfig& d : *config->mutable_dataset()) s.set(&d, *v);
  }
  if (args.Has("canonical-nodes") != args.Has("node-batch")) {
    return absl::InvalidArgumentError("--canonical-nodes and --node-batch go together");
  }
  if (args.Has("canonical-nodes")) {
    absl::StatusOr<int64_t> c = args.GetInt("canonical-nodes", 0, 1, 65536);
    if (!c.ok()) return c.status();
    absl::StatusOr<int64_t> u = args.GetInt("node-batch", 0, 1, int64_t{1} << 32);
    if (!u.ok()) return u.status();
    for (v1::DatasetConfig& d : *config->mutable_dataset()) {
      d.set_canonical_nodes(static_cast<uint32_t>(*c));
      d.set_node_batch(static_cast<uint64_t>(*u));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const char kDataFlagsHelp[] =
    R"(  --config FILE         a ServerConfig in protobuf text format (proto/maskfeed/v1/
                        server_config.proto): datasets, mixtures, the shard cache, and for
                        the server its limits and addresses
  --data DIR|URL        one dataset root (name "default"): a folder, or a root in object
                        storage: s3://bucket/prefix (AWS_* variables, ~/.aws/credentials;
                        AWS_ENDPOINT_URL for S3-compatible stores) or http(s)://host/path
                        (with the manifest `maskfeed-shard manifest` writes)
  --preset NAME         masking preset for --data: 4m-7 (rgb@224 pixels, 5 tok_*, caption,
                        det), 4m-7-tokens (no pixels), 4m-21 or 4m-21-tokens; default: 4m-21
                        when the root has rgb and t5_caption folders, 4m-7 when it has an rgb
                        folder, else 4m-7-tokens
  --text-tokenizer FILE 4M's text tokenizer (tokenizer.json) for datasets holding raw text
                        (caption, det, metadata, ... as .txt/.json) that name none; default
                        for --data: the root's tokenizer.json when it has one
  --main-augment-domain M  the image modality det/human_poses take sizes from (--data only;
                        default rgb@224 with presets 4m-7 and 4m-21)
  --4m-config YAML      what 4M's own YAML files say: a model config (its data_config is
                        read), a data config, or both; repeatable
  --4m-root DIR         what relative paths in them are relative to (default: the working
                        directory, as in 4M)
  --4m-data-path P      replace the data_path of every dataset (or NAME=P: of one); 4M's
                        shipped configs hold placeholders
  --4m-datasets A,B     import only these train datasets (weights renormalised)
  --fast-pixels         decode large JPEG crops at a reduced DCT scale (not Pillow's bytes;
                        docs/pixels.md); default: exact
  --skip-corrupt        mask out corrupt records (counted, logged) instead of DATA_LOSS
  --n-repeats R         views of each sample per epoch, each masked on its own (4M's
                        wds_n_repeats; default 1 or the config's)
  --repeat-spread V     spread those copies: segments of about V views hold at most one copy
                        of a sample (4M's wds_shuffle_buffer_repeat; default 1000)
  --window-shards K     each epoch streams windows of K shards (a seeded shard order, samples
                        shuffled within a window) instead of permuting the whole dataset
  --canonical-nodes C   per-host shares: the shards are dealt to C nodes and positions go to
  --node-batch U        them in turns of U (ranks per host x batch size per rank), so each of
                        a multiple of C hosts fetches only its share
  --cache-dir DIR       where remote shards are kept while needed; processes may share it
                        (default $MASKFEED_CACHE_DIR/shards, ~/.cache/maskfeed/shards)
  --cache-limit BYTES   most bytes kept there (8G, 500M, ...; default: no limit); remote data
                        larger than it needs --window-shards
  --fetch-threads N     shards fetched at once (default 4)
)";

std::set<std::string> WithDataFlags(std::set<std::string> flags) {
  for (const char* f : kValueFlags) flags.insert(f);
  for (const DatasetSetting& s : kDatasetSettings) flags.insert(s.flag);
  return flags;
}

std::set<std::string> WithDataSwitches(std::set<std::string> switches) {
  for (const DatasetSwitch& s : kDatasetSwitches) switches.insert(s.flag);
  return switches;
}

std::string FirstDataFlag(const CliArgs& args) {
  for (const std::set<std::string>& flags : {WithDataFlags({}), WithDataSwitches({})}) {
    for (const std::string& f : flags) {
      if (args.Has(f)) return f;
    }
  }
  return "";
}

absl::StatusOr<v1::ServerConfig> DataConfigFromFlags(
    const CliArgs& args, const std::function<absl::StatusOr<std::string>()>& no_data) {
  v1::ServerConfig config;
  if (args.Has("config")) {
    absl::StatusOr<v1::ServerConfig> loaded = LoadServerConfigFile(args.GetString("config"));
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  const bool fourm = args.Has("4m-config");
  if (fourm) {
    if (args.Has("config") || args.Has("data")) {
      return absl::InvalidArgumentError("--4m-config: give it instead of --config or --data");
    }
    absl::StatusOr<v1::ServerConfig> imported = ImportFourM(args);
    if (!imported.ok()) return imported.status();
    config = *std::move(imported);
  } else if (args.Has("4m-root") || args.Has("4m-data-path") || args.Has("4m-datasets")) {
    return absl::InvalidArgumentError(
        "--4m-root, --4m-data-path and --4m-datasets go with --4m-config");
  }
  if (absl::Status s = ApplyStorageFlags(args, config.mutable_storage()); !s.ok()) return s;
  if (args.Has("data")) {
    if (args.Has("config")) {
      return absl::InvalidArgumentError("--data and --config: give one or the other");
    }
    if (absl::Status s = AddRoot(args, "default", args.GetString("data"), &config); !s.ok()) {
      return s;
    }
  } else if (args.Has("preset") && args.Has("config")) {
    return absl::InvalidArgumentError("--preset goes with --data; a config names its presets");
  }
  // Only no data flag at all means `no_data`: a config that lists no dataset (empty, or
  // truncated) must not stream something else to a training run.
  if (!args.Has("config") && !args.Has("data") && !fourm) {
    if (!no_data) {
      return absl::InvalidArgumentError(
          "no data: give --data DIR|URL, --config FILE or --4m-config YAML");
    }
    absl::StatusOr<std::string> root = no_data();
    if (!root.ok()) return root.status();
    if (absl::Status s = AddRoot(args, "demo", *root, &config); !s.ok()) return s;
  }
  if (absl::Status s = ApplyDatasetFlags(args, &config); !s.ok()) return s;
  if (config.dataset_size() == 0) {
    return absl::InvalidArgumentError(
        StrCat(args.GetString("config"), ": dataset: the config lists no dataset",
               no_data ? " (a config never means the demo; run without flags for it)" : ""));
  }
  return config;
}

absl::Status WithFlagHints(absl::Status status) {
  std::string flags;
  for (const std::string& field : FieldsOf(status)) {
    auto it = FieldFlags().find(field);
    if (it != FieldFlags().end()) StrAppend(&flags, flags.empty() ? "" : ", ", it->second);
  }
  if (flags.empty()) return status;
  absl::Status hinted(status.code(), StrCat(ToStd(status.message()), "; flags: ", flags));
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { hinted.SetPayload(url, payload); });
  return hinted;
}

}  // namespace maskfeed
