#include "pipeline/source/served_source.h"

#include <algorithm>
#include <map>
#include <span>
#include <tuple>

#include "pipeline/base/log.h"
#include "pipeline/base/status_fields.h"
#include "pipeline/base/strings.h"
#include "pipeline/storage/remote_dataset.h"

namespace maskfeed {
namespace {

absl::Status Named(std::string_view kind, std::string_view name, const absl::Status& s) {
  absl::Status named(s.code(), StrCat(kind, " '", name, "': ", ToStd(s.message())));
  s.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { named.SetPayload(url, payload); });
  return named;
}

// What every dataset of one config shares: tokenizers by path, and the shard cache of its
// remote roots, made for the first one.
struct OpenContext {
  const v1::ServerConfig& config;
  tbb::task_arena* arena;
  std::map<std::string, std::shared_ptr<const text::WordPieceTokenizer>> tokenizers;
  std::shared_ptr<RemoteStorage> storage;
};

absl::StatusOr<RawOptions> RawOptionsOf(const v1::DatasetConfig& d, OpenContext* ctx) {
  RawOptions raw{.tokenizer = nullptr,
                 .main_augment_domain = d.main_augment_domain(),
                 .aligned_captions = !d.unaligned_captions(),
                 .pixels = {.fast = d.fast_pixels(),
                            .max_pixels = d.max_image_pixels() != 0 ? d.max_image_pixels()
                                                                    : kDefaultMaxImagePixels},
                 .random_crop = RandomCropParams{},
                 .center_crop = false};
  const v1::RandomCropConfig& crop = d.random_crop();
  if (crop.scale_min() != 0 || crop.scale_max() != 0) {
    raw.random_crop.scale_min = crop.scale_min();
    raw.random_crop.scale_max = crop.scale_max();
  }
  if (crop.ratio_min() != 0 || crop.ratio_max() != 0) {
    raw.random_crop.ratio_min = crop.ratio_min();
    raw.random_crop.ratio_max = crop.ratio_max();
  }
  if (crop.has_hflip()) raw.random_crop.hflip = crop.hflip();
  if (d.text_tokenizer().empty()) return raw;
  auto [it, inserted] = ctx->tokenizers.emplace(d.text_tokenizer(), nullptr);
  if (inserted) {
    absl::StatusOr<std::unique_ptr<text::WordPieceTokenizer>> t =
        text::WordPieceTokenizer::FromFile(d.text_tokenizer());
    if (!t.ok()) {
      ctx->tokenizers.erase(it);
      return t.status();
    }
    it->second = std::move(*t);
  }
  raw.tokenizer = it->second;
  return raw;
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenDataset(const v1::DatasetConfig& d, OpenContext* ctx) {
  const bool remote = IsRemoteUrl(d.path()) || IsRemoteUrl(d.data_path());
  if (remote && ctx->storage == nullptr) {
    const v1::StorageConfig& st = ctx->config.storage();
    absl::StatusOr<std::shared_ptr<RemoteStorage>> made =
        RemoteStorage::Create({.cache_dir = st.cache_dir(),
                               .cache_limit = st.cache_limit_bytes(),
                               .fetch_threads = static_cast<int>(st.fetch_threads())});
    if (!made.ok()) return made.status();
    ctx->storage = *std::move(made);
  }
  DatasetOptions options;
  options.arena = ctx->arena;
  const std::map<std::string, std::string> folder_names(d.modality_name_map().begin(),
                                                        d.modality_name_map().end());
  if (!d.data_path().empty()) {
    return remote ? OpenRemotePattern(d.data_path(), folder_names, ctx->storage, options)
                  : Dataset::OpenPattern(d.data_path(), folder_names, options);
  }
  if (!remote) return Dataset::Open(d.path(), options);
  LogEvent("info", "dataset_listing", {{"dataset", d.name()}, {"root", d.path()}});
  absl::StatusOr<RemoteRoot> root = ListRemoteRoot(d.path(), ctx->storage);
  if (!root.ok()) return root.status();
  absl::StatusOr<std::unique_ptr<Dataset>> dataset =
      OpenRemoteDataset(*root, ctx->storage, options);
  if (dataset.ok()) {
    LogEvent("info", "dataset_remote",
             {{"dataset", d.name()},
              {"root", (*dataset)->root()},
              {"shards", std::to_string((*dataset)->num_shards())},
              {"bytes", std::to_string((*dataset)->total_bytes())},
              {"cache_dir", ctx->storage->cache().dir()},
              {"cache_limit", std::to_string(ctx->config.storage().cache_limit_bytes())}});
  }
  return dataset;
}

// Whether any component of `served` reads its shards on demand.
bool FetchedOnDemand(const ServedSource& served) {
  return std::any_of(served.components.begin(), served.components.end(),
                     [](const ServedComponent& c) { return c.dataset->fetched_on_demand(); });
}

// Sets what follows from where the data lives, and builds the order once (seed 0) so that a
// setting its data cannot stream is refused now rather than by every stream.
absl::Status Complete(ServedSource* served, const OpenContext& ctx) {
  if (FetchedOnDemand(*served)) {
    served->storage = ctx.storage;
    served->hold_budget_bytes = ctx.config.storage().cache_limit_bytes();
  }
  return BuildOrder(served->order, 0, served->mixture->OrderDatasets(), served->hold_budget_bytes)
      .status();
}

absl::StatusOr<ServedSource> OpenMixture(const v1::MixtureConfig& m,
                                         std::span<const ServedSource> datasets) {
  ServedSource mixture;
  mixture.name = m.name();
  mixture.skip_corrupt = true;
  std::vector<MixtureEntry> entries;
  std::vector<std::string> names;
  std::vector<OrderSpec> orders;
  for (const v1::MixtureComponentRef& ref : m.component()) {
    auto it = std::find_if(datasets.begin(), datasets.end(),
                           [&](const ServedSource& s) { return s.name == ref.dataset(); });
    if (it == datasets.end()) {  // FinalizeDataConfig checks the names; a config it did not
                                 // finalize still gets an error, not a crash
      return absl::InvalidArgumentError(StrCat("no dataset named '", ref.dataset(), "'"));
    }
    ServedComponent c = it->components.front();
    c.weight = ref.weight();
    mixture.skip_corrupt &= it->skip_corrupt;
    if (mixture.preset.empty()) mixture.preset = it->preset;
    names.push_back(c.name);
    orders.push_back(it->order);
    entries.push_back(MixtureEntry{.name = c.name, .weight = c.weight, .source = c.source});
    mixture.components.push_back(std::move(c));
  }
  absl::StatusOr<OrderSpec> order = MixtureOrderSpec(names, orders);
  if (!order.ok()) return order.status();
  mixture.order = *order;
  absl::StatusOr<std::shared_ptr<const MixtureSource>> source =
      MixtureSource::Create(std::move(entries));
  if (!source.ok()) return source.status();
  mixture.mixture = *std::move(source);
  return mixture;
}

}  // namespace

absl::StatusOr<std::vector<ServedSource>> OpenServedSources(const v1::ServerConfig& config,
                                                            tbb::task_arena* arena) {
  OpenContext ctx{.config = config, .arena = arena, .tokenizers = {}, .storage = nullptr};
  std::vector<ServedSource> served;
  for (const v1::DatasetConfig& d : config.dataset()) {
    absl::StatusOr<RawOptions> raw = RawOptionsOf(d, &ctx);
    if (!raw.ok()) return Named("dataset", d.name(), raw.status());
    absl::StatusOr<std::unique_ptr<Dataset>> dataset = OpenDataset(d, &ctx);
    if (!dataset.ok()) return Named("dataset", d.name(), dataset.status());
    ServedComponent c{.name = d.name(),
                      .weight = 1,
                      .dataset = std::move(*dataset),
                      .masking = d.masking(),
                      .raw = *raw,
                      .source = nullptr};
    absl::StatusOr<std::shared_ptr<const StreamSource>> source =
        StreamSource::Create(c.dataset, c.masking, c.raw);
    if (!source.ok()) return Named("dataset", d.name(), source.status());
    c.source = *std::move(source);
    ServedSource s;
    s.name = d.name();
    s.preset = d.preset();
    s.mixture = MixtureSource::Single(c.source, c.name);
    s.components = {std::move(c)};
    s.order = OrderSpecFromConfig(d);
    s.skip_corrupt = d.skip_corrupt_records();
    if (absl::Status st = Complete(&s, ctx); !st.ok()) return Named("dataset", d.name(), st);
    served.push_back(std::move(s));
  }
  const size_t num_datasets = served.size();
  for (const v1::MixtureConfig& m : config.mixture()) {
    absl::StatusOr<ServedSource> mixture =
        OpenMixture(m, std::span<const ServedSource>(served.data(), num_datasets));
    if (!mixture.ok()) return Named("mixture", m.name(), mixture.status());
    if (absl::Status st = Complete(&*mixture, ctx); !st.ok()) {
      return Named("mixture", m.name(), st);
    }
    served.push_back(*std::move(mixture));
  }
  return served;
}

absl::StatusOr<std::shared_ptr<const MixtureSource>> SourceWithOverrides(
    const ServedSource& served, const v1::StreamOverrides& overrides, bool evaluation) {
  if (overrides.input_tokens() == 0 && overrides.target_tokens() == 0 && !evaluation) {
    return served.mixture;
  }
  std::vector<MixtureEntry> entries;
  for (const ServedComponent& c : served.components) {
    uint64_t room = 0;
    for (const ModalitySpec& m : c.source->spec().modalities) room += m.max_tokens;
    v1::MaskingConfig masking = c.masking;
    if (evaluation) masking.set_no_crop_augmentation(true);
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
    // 4M evaluates datasets without crop_settings on the centre square
    // (CenterCropImageAugmenter).
    RawOptions raw = c.raw;
    raw.center_crop = evaluation;
    absl::StatusOr<std::shared_ptr<const StreamSource>> source =
        StreamSource::Create(c.dataset, masking, raw);
    if (!source.ok()) return source.status();
    entries.push_back(MixtureEntry{.name = c.name, .weight = c.weight, .source = *source});
  }
  if (entries.size() == 1 && served.components.front().name == served.name) {
    return MixtureSource::Single(entries.front().source, entries.front().name);
  }
  return MixtureSource::Create(std::move(entries));
}

}  // namespace maskfeed
