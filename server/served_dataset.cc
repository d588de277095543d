#include "server/served_dataset.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/match.h"
#include "pipeline/base/log.h"
#include "pipeline/base/strings.h"
#include "pipeline/storage/remote_dataset.h"

namespace maskfeed {
namespace {

absl::Status Named(std::string_view kind, std::string_view name, const absl::Status& s) {
  return absl::Status(s.code(), StrCat(kind, " '", name, "': ", ToStd(s.message())));
}

}  // namespace

absl::StatusOr<std::vector<ServedDataset>> OpenServedDatasets(const v1::ServerConfig& config,
                                                              tbb::task_arena* arena) {
  std::vector<ServedDataset> served;
  std::vector<ServedComponent> opened;
  // Tokenizers by path: datasets naming the same file share one.
  std::map<std::string, std::shared_ptr<const text::WordPieceTokenizer>> tokenizers;
  std::shared_ptr<RemoteStorage> storage;  // made for the first remote dataset
  for (const v1::DatasetConfig& d : config.dataset()) {
    const bool remote = IsRemoteUrl(d.path()) || IsRemoteUrl(d.data_path());
    if (remote && storage == nullptr) {
      absl::StatusOr<std::shared_ptr<RemoteStorage>> made = RemoteStorage::Create(
          {.cache_dir = config.storage().cache_dir(),
           .cache_limit = config.storage().cache_limit_bytes(),
           .fetch_threads = static_cast<int>(config.storage().fetch_threads())});
      if (!made.ok()) return Named("dataset", d.name(), made.status());
      storage = *std::move(made);
    }
    RawOptions raw{.tokenizer = nullptr,
                   .main_augment_domain = d.main_augment_domain(),
                   .aligned_captions = !d.unaligned_captions(),
                   .pixels = {.fast = d.fast_pixels(),
                              .max_pixels = d.max_image_pixels() != 0 ? d.max_image_pixels()
                                                                      : kDefaultMaxImagePixels}};
    if (!d.text_tokenizer().empty()) {
      auto [it, inserted] = tokenizers.emplace(d.text_tokenizer(), nullptr);
      if (inserted) {
        absl::StatusOr<std::unique_ptr<text::WordPieceTokenizer>> t =
            text::WordPieceTokenizer::FromFile(d.text_tokenizer());
        if (!t.ok()) return Named("dataset", d.name(), t.status());
        it->second = std::move(*t);
      }
      raw.tokenizer = it->second;
    }
    DatasetOptions options;
    options.arena = arena;
    const std::map<std::string, std::string> folder_names(d.modality_name_map().begin(),
                                                          d.modality_name_map().end());
    absl::StatusOr<std::unique_ptr<Dataset>> dataset;
    if (!d.data_path().empty()) {
      dataset = remote ? OpenRemotePattern(d.data_path(), folder_names, storage, options)
                       : Dataset::OpenPattern(d.data_path(), folder_names, options);
    } else if (remote) {
      LogEvent("info", "dataset_listing", {{"dataset", d.name()}, {"root", d.path()}});
      absl::StatusOr<RemoteRoot> root = ListRemoteRoot(d.path(), storage);
      dataset = root.ok() ? OpenRemoteDataset(*root, storage, options)
                          : absl::StatusOr<std::unique_ptr<Dataset>>(root.status());
    } else {
      dataset = Dataset::Open(d.path(), options);
    }
    if (!dataset.ok()) return Named("dataset", d.name(), dataset.status());
    const uint64_t limit = config.storage().cache_limit_bytes();
    if (remote && d.window_shards() == 0 && d.canonical_nodes() <= 1 && limit != 0 &&
        (*dataset)->total_bytes() > limit) {
      return Named("dataset", d.name(),
                   absl::FailedPreconditionError(StrCat(
                       d.path().empty() ? d.data_path() : d.path(), " holds ",
                       (*dataset)->total_bytes(), " bytes, more than the cache limit (", limit,
                       " bytes), and a global shuffle needs every shard at hand: stream it in "
                       "shard windows (window_shards, --window-shards K) or raise --cache-limit")));
    }
    if (remote) {
      LogEvent("info", "dataset_remote",
               {{"dataset", d.name()},
                {"root", (*dataset)->root()},
                {"shards", std::to_string((*dataset)->num_shards())},
                {"bytes", std::to_string((*dataset)->total_bytes())},
                {"cache_dir", storage->cache().dir()},
                {"cache_limit", std::to_string(limit)}});
    }
    ServedComponent c{.name = d.name(),
                      .weight = 1,
                      .dataset = std::move(*dataset),
                      .masking = d.masking(),
                      .raw = raw,
                      .source = nullptr};
    absl::StatusOr<std::shared_ptr<const StreamSource>> source =
        StreamSource::Create(c.dataset, c.masking, c.raw);
    if (!source.ok() && source.status().code() == absl::StatusCode::kNotFound &&
        d.preset() == "4m-7" && absl::StrContains(source.status().message(), "rgb@224")) {
      // The recipe's name changed: say what pre-tokenized data is served with now.
      return Named("dataset", d.name(),
                   absl::NotFoundError(StrCat(ToStd(source.status().message()),
                                              "; preset 4m-7 serves rgb@224 pixels from images, "
                                              "pre-tokenized data without them is 4m-7-tokens")));
    }
    if (!source.ok()) return Named("dataset", d.name(), source.status());
    c.source = std::move(*source);
    served.push_back(ServedDataset{.name = d.name(),
                                   .preset = d.preset(),
                                   .components = {c},
                                   .mixture = MixtureSource::Single(c.source),
                                   .skip_corrupt = d.skip_corrupt_records(),
                                   .n_repeats = std::max<uint32_t>(1, d.n_repeats()),
                                   .window_shards = d.window_shards(),
                                   .canonical_nodes = d.canonical_nodes(),
                                   .node_batch = d.node_batch(),
                                   .storage = remote ? storage : nullptr});
    opened.push_back(std::move(c));
  }
  for (const v1::MixtureConfig& m : config.mixture()) {
    ServedDataset mixture{.name = m.name(),
                          .preset = "",
                          .components = {},
                          .mixture = nullptr,
                          .skip_corrupt = true,
                          .n_repeats = 0,
                          .window_shards = 0,
                          .canonical_nodes = 0,
                          .node_batch = 0,
                          .storage = nullptr};
    std::vector<MixtureEntry> entries;
    for (const v1::MixtureComponentRef& ref : m.component()) {
      auto it = std::find_if(opened.begin(), opened.end(),
                             [&](const ServedComponent& c) { return c.name == ref.dataset(); });
      if (it == opened.end()) {  // FinalizeServerConfig checks the names; a config it did not
                                 // finalize still gets an error, not a crash
        return Named("mixture", m.name(),
                     absl::InvalidArgumentError(StrCat("no dataset named '", ref.dataset(), "'")));
      }
      ServedComponent c = *it;
      c.weight = ref.weight();
      const v1::DatasetConfig& dc = config.dataset(static_cast<int>(it - opened.begin()));
      mixture.skip_corrupt &= dc.skip_corrupt_records();
      const uint32_t repeats = std::max<uint32_t>(1, dc.n_repeats());
      mixture.n_repeats = mixture.n_repeats == 0 || mixture.n_repeats == repeats ? repeats : 1;
      if (mixture.preset.empty()) mixture.preset = dc.preset();
      if (mixture.components.empty()) {
        mixture.window_shards = dc.window_shards();
      } else if (mixture.window_shards != dc.window_shards()) {
        return Named("mixture", m.name(),
                     absl::InvalidArgumentError(
                         StrCat("its datasets differ in window_shards (", mixture.window_shards,
                                " and ", dc.window_shards(), "): a mixture streams one order")));
      }
      if (dc.canonical_nodes() > 1) {
        return Named("mixture", m.name(),
                     absl::InvalidArgumentError(StrCat(
                         "its dataset '", dc.name(), "' has canonical_nodes ", dc.canonical_nodes(),
                         ": per-host shares apply to single datasets")));
      }
      if (c.dataset->fetched_on_demand()) mixture.storage = storage;
      entries.push_back(MixtureEntry{.name = c.name, .weight = c.weight, .source = c.source});
      mixture.components.push_back(std::move(c));
    }
    absl::StatusOr<std::shared_ptr<const MixtureSource>> source =
        MixtureSource::Create(std::move(entries));
    if (!source.ok()) return Named("mixture", m.name(), source.status());
    mixture.mixture = std::move(*source);
    served.push_back(std::move(mixture));
  }
  return served;
}

absl::StatusOr<std::shared_ptr<const MixtureSource>> SourceWithOverrides(
    const ServedDataset& served, const v1::StreamOverrides& overrides) {
  if (overrides.input_tokens() == 0 && overrides.target_tokens() == 0) return served.mixture;
  std::vector<MixtureEntry> entries;
  for (const ServedComponent& c : served.components) {
    uint64_t room = 0;
    for (const ModalitySpec& m : c.source->spec().modalities) room += m.max_tokens;
    v1::MaskingConfig masking = c.masking;
    for (auto [value, field, range] :
         {std::tuple{overrides.input_tokens(), "overrides.input_tokens",
                     masking.mutable_input_tokens()},
          std::tuple{overrides.target_tokens(), "overrides.target_tokens",
                     masking.mutable_target_tokens()}}) {
      if (value == 0) continue;
      if (value > room) {
        return absl::InvalidArgumentError(StrCat(field, ": ", value, " exceeds the ", room,
                                                 " tokens the modalities of '", c.name, "' hold"));
      }
      range->set_max(value);
      range->set_min(value);
      range->set_min_is_zero(false);
    }
    absl::StatusOr<std::shared_ptr<const StreamSource>> source =
        StreamSource::Create(c.dataset, masking, c.raw);
    if (!source.ok()) return source.status();
    entries.push_back(MixtureEntry{.name = c.name, .weight = c.weight, .source = *source});
  }
  if (entries.size() == 1 && served.components.front().name == served.name) {
    return MixtureSource::Single(entries.front().source);
  }
  return MixtureSource::Create(std::move(entries));
}

}  // namespace maskfeed
