#include "pipeline/masking/masking_config.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_join.h"
#include "pipeline/base/sha256.h"
#include "pipeline/base/strings.h"
#include "pipeline/base/text_proto.h"

namespace maskfeed {
namespace {

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(field, ": ", what));
}

// 4M-7 as its alphas file has it (docs/pipeline.md#masking, docs/4m-configs.md):
// rgb@224 pixels (input only), five 196-token image modalities, caption and det; 128/128
// tokens; "rgb2all" (rgb gets the input budget) and "all2all" (alpha 0.5), equal weight.
constexpr std::string_view k4m7 = R"pb(
  modalities { name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }
  modalities { name: "det" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }
  modalities { name: "rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 pixel_size: 224 }
  modalities { name: "tok_clip@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 8192 }
  modalities { name: "tok_depth@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 8192 }
  modalities { name: "tok_normal@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 8192 }
  modalities { name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }
  modalities { name: "tok_semseg@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 4096 }
  input_tokens { max: 128 }
  target_tokens { max: 128 }
  mixture {
    name: "rgb2all"
    input_alpha { key: "rgb@224" value: 1000 }
    target_alpha { key: "caption" value: 0.5 }
    target_alpha { key: "det" value: 0.5 }
    target_alpha { key: "tok_clip@224" value: 0.5 }
    target_alpha { key: "tok_depth@224" value: 0.5 }
    target_alpha { key: "tok_normal@224" value: 0.5 }
    target_alpha { key: "tok_rgb@224" value: 0.5 }
    target_alpha { key: "tok_semseg@224" value: 0.5 }
  }
  mixture { name: "all2all" }
)pb";

// Modalities of 4M-21 that have tokenized shards (docs/masking.md#modalities). Left out: rgb@224
// (pixels, not tokens).
struct RegistryRow {
  const char* name;
  v1::ModalityType type;
  uint32_t max_tokens;
  uint32_t vocab;
};
constexpr RegistryRow k4m21Modalities[] = {
    {"caption", v1::MODALITY_TYPE_SEQ, 256, 30000},
    {"color_palette", v1::MODALITY_TYPE_SEQ, 23, 30000},
    {"det", v1::MODALITY_TYPE_SEQ, 256, 30000},
    {"human_poses", v1::MODALITY_TYPE_SEQ, 275, 30000},
    {"metadata", v1::MODALITY_TYPE_SEQ, 40, 30000},
    {"sam_instance", v1::MODALITY_TYPE_SEQ, 290, 30000},
    {"t5_caption", v1::MODALITY_TYPE_SEQ_EMB, 77, 0},
    {"tok_canny_edge@224", v1::MODALITY_TYPE_IMG, 196, 8192},
    {"tok_clip@224", v1::MODALITY_TYPE_IMG, 196, 8192},
    {"tok_depth@224", v1::MODALITY_TYPE_IMG, 196, 8192},
    {"tok_dinov2@224", v1::MODALITY_TYPE_IMG, 256, 8192},
    {"tok_dinov2_global", v1::MODALITY_TYPE_IMG, 16, 8192},
    {"tok_imagebind@224", v1::MODALITY_TYPE_IMG, 256, 8192},
    {"tok_imagebind_global", v1::MODALITY_TYPE_IMG, 16, 8192},
    {"tok_normal@224", v1::MODALITY_TYPE_IMG, 196, 8192},
    {"tok_rgb@224", v1::MODALITY_TYPE_IMG, 196, 16384},
    {"tok_sam_edge@224", v1::MODALITY_TYPE_IMG, 196, 8192},
    {"tok_semseg@224", v1::MODALITY_TYPE_IMG, 196, 4096},
};

v1::Modality RegistryModality(const RegistryRow& row) {
  v1::Modality m;
  m.set_name(row.name);
  m.set_type(row.type);
  m.set_max_tokens(row.max_tokens);
  m.set_vocab_size(row.vocab);
  if (row.type == v1::MODALITY_TYPE_SEQ_EMB) m.set_embedding_dim(4096);
  if (std::string_view(row.name) == "metadata") m.set_chunk_tokens(2);
  return m;
}

// 4M-21 as its alphas file has it (mix_mod21_all2allmix_rgb2all_capT5bias;
// docs/pipeline.md#masking): the 18 tokenized modalities and rgb@224 pixels, 256/256 tokens, seven
// components with weights [1, 1, 1, 1, 1, .5, .5]: all2all at alpha 0.01, 0.1, 1 and 10 (rgb never
// a target); rgb2all (rgb@224 input 1000, every other input 0, every target but rgb 0.5); caption-
// and T5-biased (that modality input 5 with keep `all` and target 0, the other caption modality
// input 0, everything else input 0.05, every target but rgb and the biased one 0.5).
// color_palette keeps `binary` everywhere; t5_caption has an embedding width of 4096.
v1::MaskingConfig Make4m21() {
  v1::MaskingConfig c;
  for (const RegistryRow& row : k4m21Modalities) *c.add_modalities() = RegistryModality(row);
  *c.add_modalities() = *FourMModality("rgb@224");
  c.mutable_input_tokens()->set_max(256);
  c.mutable_target_tokens()->set_max(256);
  auto add = [&](const std::string& name, double weight) {
    v1::MixtureComponent* comp = c.add_mixture();
    comp->set_name(name);
    comp->set_weight(weight);
    (*comp->mutable_keep())["color_palette"] = v1::KEEP_SCHEME_BINARY;
    return comp;
  };
  for (double a : {0.01, 0.1, 1.0, 10.0}) {
    v1::MixtureComponent* comp = add(StrCat("all2all_", a), 1);
    for (const v1::Modality& m : c.modalities()) {
      (*comp->mutable_input_alpha())[m.name()] = a;
      (*comp->mutable_target_alpha())[m.name()] = m.pixel_size() != 0 ? 0 : a;
    }
  }
  v1::MixtureComponent* rgb = add("rgb2all", 1);
  for (const v1::Modality& m : c.modalities()) {
    (*rgb->mutable_input_alpha())[m.name()] = m.pixel_size() != 0 ? 1000 : 0;
    (*rgb->mutable_target_alpha())[m.name()] = m.pixel_size() != 0 ? 0 : 0.5;
  }
  for (const auto& [biased, other] :
       {std::pair<const char*, const char*>{"caption", "t5_caption"}, {"t5_caption", "caption"}}) {
    v1::MixtureComponent* comp = add(StrCat(biased, "_biased"), 0.5);
    for (const v1::Modality& m : c.modalities()) {
      const bool is_biased = m.name() == biased;
      (*comp->mutable_input_alpha())[m.name()] = is_biased ? 5 : m.name() == other ? 0 : 0.05;
      (*comp->mutable_target_alpha())[m.name()] = is_biased || m.pixel_size() != 0 ? 0 : 0.5;
    }
    (*comp->mutable_keep())[biased] = v1::KEEP_SCHEME_ALL;
  }
  return c;
}

// A recipe without pixels, for pre-tokenized data (docs/pipeline.md#masking): rgb@224 goes
// and tok_rgb@224 takes its input alphas (all of the input budget in rgb2all).
void WithoutPixels(v1::MaskingConfig* c) {
  for (v1::MixtureComponent& comp : *c->mutable_mixture()) {
    auto* input = comp.mutable_input_alpha();
    if (auto it = input->find("rgb@224"); it != input->end()) {
      (*input)["tok_rgb@224"] = it->second;
      input->erase(it);
    }
    comp.mutable_target_alpha()->erase("rgb@224");
    comp.mutable_keep()->erase("rgb@224");
  }
  auto* mods = c->mutable_modalities();
  mods->erase(std::remove_if(mods->begin(), mods->end(),
                             [](const v1::Modality& m) { return m.pixel_size() != 0; }),
              mods->end());
}

// Fills the all-0.5 "all2all" component of the 4m-7 presets (text format has no loops):
// pixels are never a target ("RGB is not a target", 4M-7's alphas file).
void FillAll2All(v1::MaskingConfig* c) {
  for (v1::MixtureComponent& comp : *c->mutable_mixture()) {
    if (comp.name() != "all2all") continue;
    for (const v1::Modality& m : c->modalities()) {
      (*comp.mutable_input_alpha())[m.name()] = 0.5;
      (*comp.mutable_target_alpha())[m.name()] = m.pixel_size() != 0 ? 0 : 0.5;
    }
  }
}

absl::Status ResolveRange(const v1::TokenRange& range, std::string_view field, int* min, int* max) {
  *max = range.max() == 0 ? kDefaultTokenTotal : static_cast<int>(range.max());
  *min = range.min_is_zero() ? 0 : range.min() == 0 ? *max : static_cast<int>(range.min());
  if (range.min_is_zero() && range.min() != 0) {
    return Invalid(field, StrCat("min is ", range.min(), " but min_is_zero is set"));
  }
  if (*min > *max) return Invalid(field, StrCat("min ", *min, " > max ", *max));
  if (*max > 1 << 20) return Invalid(StrCat(field, ".max"), StrCat(*max, " is over 2^20"));
  return absl::OkStatus();
}

absl::StatusOr<ModalitySpec> ResolveModality(const v1::Modality& m, size_t index) {
  const std::string field = StrCat("modalities[", index, "]");
  ModalitySpec spec;
  spec.name = m.name();
  if (spec.name.empty()) return Invalid(StrCat(field, ".name"), "is empty");
  const std::string at = StrCat(field, " (", spec.name, ")");
  switch (m.type()) {
    case v1::MODALITY_TYPE_IMG:
      spec.type = ModalityType::kImg;
      break;
    case v1::MODALITY_TYPE_SEQ:
      spec.type = ModalityType::kSeq;
      break;
    case v1::MODALITY_TYPE_SEQ_TOKEN:
      spec.type = ModalityType::kSeqToken;
      break;
    case v1::MODALITY_TYPE_SEQ_EMB:
      spec.type = ModalityType::kSeqEmb;
      break;
    default:
      return Invalid(StrCat(at, ".type"), "must be set (IMG, SEQ, SEQ_TOKEN or SEQ_EMB)");
  }
  if (m.max_tokens() == 0 || m.max_tokens() > 65536) {
    return Invalid(StrCat(at, ".max_tokens"), StrCat("must be in 1..65536, got ", m.max_tokens()));
  }
  spec.max_tokens = static_cast<int>(m.max_tokens());
  spec.min_tokens = static_cast<int>(m.min_tokens());
  if (spec.min_tokens > spec.max_tokens) {
    return Invalid(StrCat(at, ".min_tokens"),
                   StrCat(spec.min_tokens, " > max_tokens ", spec.max_tokens));
  }
  spec.vocab_size = m.vocab_size();
  spec.id = m.id() != 0 ? m.id() : ModalityIdFromName(spec.name);
  spec.field = m.field();
  if (m.eos_id() != 0) spec.eos_id = static_cast<int>(m.eos_id());
  if (m.first_sentinel_id() != 0) spec.first_sentinel_id = static_cast<int>(m.first_sentinel_id());
  if (m.num_sentinels() != 0) spec.num_sentinels = static_cast<int>(m.num_sentinels());
  spec.vocab_offset = m.vocab_offset();
  spec.chunk_tokens = static_cast<int>(m.chunk_tokens());
  spec.embedding_dim = static_cast<int>(m.embedding_dim());
  if (m.pixel_size() != 0) {
    const uint64_t side = m.pixel_size();
    if (spec.type != ModalityType::kImg || side % 16 != 0 || side > 4096 ||
        (side / 16) * (side / 16) != static_cast<uint64_t>(spec.max_tokens)) {
      return Invalid(StrCat(at, ".pixel_size"),
                     StrCat(side,
                            ": pixels need MODALITY_TYPE_IMG, a multiple of 16 up to 4096, "
                            "and max_tokens = (pixel_size / 16)^2 patches"));
    }
    spec.pixel_size = static_cast<int>(side);
  }
  if (spec.type == ModalityType::kSeqEmb && spec.embedding_dim == 0) {
    return Invalid(StrCat(at, ".embedding_dim"), "is required for MODALITY_TYPE_SEQ_EMB");
  }
  if (spec.chunk_tokens != 0 && spec.type != ModalityType::kSeq) {
    return Invalid(StrCat(at, ".chunk_tokens"), "applies to MODALITY_TYPE_SEQ only");
  }
  if (spec.is_sequence()) {
    if (spec.is_sentinel(spec.eos_id) || spec.eos_id == 0) {
      return Invalid(StrCat(at, ".eos_id"), StrCat(spec.eos_id, " is PAD or a sentinel id"));
    }
    // A sequence of M tokens has at most ceil(M / 2) spans; its target closes with S_{m+1}.
    const int needed = (spec.max_tokens + 1) / 2 + 1;
    if (needed > spec.num_sentinels - 1) {
      return Invalid(StrCat(at, ".max_tokens"),
                     StrCat(spec.max_tokens, " tokens can need sentinels up to S_", needed,
                            " but only S_1..S_", spec.num_sentinels - 1, " exist"));
    }
  }
  return spec;
}

absl::Status ResolveAlphas(const google::protobuf::Map<std::string, double>& alphas,
                           const MaskingSpec& spec, std::string_view field,
                           std::vector<double>* out) {
  out->assign(spec.modalities.size(), kAlphaFloor);
  for (const auto& [name, value] : alphas) {
    std::optional<size_t> m = spec.FindModality(name);
    const std::string at = StrCat(field, "[\"", name, "\"]");
    if (!m) return Invalid(at, "names no modality of the config");
    if (!std::isfinite(value) || value < 0)
      return Invalid(at, StrCat(value, " is negative or not finite"));
    (*out)[*m] = std::max(value, kAlphaFloor);
  }
  return absl::OkStatus();
}

absl::Status ResolveMixture(const v1::MaskingConfig& config, MaskingSpec* spec) {
  if (config.mixture().empty()) {
    return Invalid("mixture", "is empty: give at least one component, or transfer roles");
  }
  double total = 0;
  for (int c = 0; c < config.mixture_size(); ++c) {
    const v1::MixtureComponent& comp = config.mixture(c);
    const std::string field = StrCat("mixture[", c, "]");
    MixtureComponentSpec out;
    out.name = comp.name().empty() ? StrCat("component", c) : comp.name();
    if (!std::isfinite(comp.weight()) || comp.weight() < 0) {
      return Invalid(StrCat(field, ".weight"), StrCat(comp.weight(), " is negative or not finite"));
    }
    out.weight = comp.weight() == 0 ? 1 : comp.weight();
    if (absl::Status s = ResolveAlphas(comp.input_alpha(), *spec, StrCat(field, ".input_alpha"),
                                       &out.input_alpha);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = ResolveAlphas(comp.target_alpha(), *spec, StrCat(field, ".target_alpha"),
                                       &out.target_alpha);
        !s.ok()) {
      return s;
    }
    out.keep.assign(spec->modalities.size(), KeepScheme::kRandom);
    for (const auto& [name, scheme] : comp.keep()) {
      std::optional<size_t> m = spec->FindModality(name);
      const std::string at = StrCat(field, ".keep[\"", name, "\"]");
      if (!m) return Invalid(at, "names no modality of the config");
      if (!spec->modalities[*m].is_sequence())
        return Invalid(at, "applies to sequence modalities only");
      switch (scheme) {
        case v1::KEEP_SCHEME_UNSPECIFIED:
        case v1::KEEP_SCHEME_RANDOM:
          out.keep[*m] = KeepScheme::kRandom;
          break;
        case v1::KEEP_SCHEME_ALL:
          out.keep[*m] = KeepScheme::kAll;
          break;
        case v1::KEEP_SCHEME_BINARY:
          out.keep[*m] = KeepScheme::kBinary;
          break;
        default:
          return Invalid(at, StrCat("unknown keep scheme ", static_cast<int>(scheme)));
      }
    }
    total += out.weight;
    spec->mixture.push_back(std::move(out));
  }
  if (!std::isfinite(total)) {
    return Invalid("mixture", "the component weights sum to more than a double holds");
  }
  double running = 0;
  for (const MixtureComponentSpec& comp : spec->mixture) {
    running += comp.weight;
    spec->cumulative_weights.push_back(running / total);
  }
  spec->cumulative_weights.back() = 1;
  return absl::OkStatus();
}

absl::Status ResolveTransfer(const v1::TransferRoles& roles, MaskingSpec* spec) {
  auto assign = [&](const google::protobuf::RepeatedPtrField<std::string>& names,
                    std::string_view field, TransferRole role) -> absl::Status {
    for (int i = 0; i < names.size(); ++i) {
      const std::string at = StrCat("transfer.", field, "[", i, "]");
      std::optional<size_t> m = spec->FindModality(names[i]);
      if (!m) return Invalid(at, StrCat("'", names[i], "' names no modality of the config"));
      ModalitySpec& mod = spec->modalities[*m];
      if (mod.type != ModalityType::kImg && mod.type != ModalityType::kSeq) {
        return Invalid(at, StrCat("'", names[i], "': transfer roles support IMG and SEQ only"));
      }
      if (mod.role != TransferRole::kNone) {
        return Invalid(at, StrCat("'", names[i], "' is given two roles"));
      }
      mod.role = role;
    }
    return absl::OkStatus();
  };
  if (absl::Status s = assign(roles.inputs(), "inputs", TransferRole::kInput); !s.ok()) return s;
  if (absl::Status s = assign(roles.targets(), "targets", TransferRole::kTarget); !s.ok()) return s;
  for (const ModalitySpec& mod : spec->modalities) {
    if (mod.role == TransferRole::kNone) {
      return Invalid("transfer",
                     StrCat("modality '", mod.name, "' has no role (inputs or targets)"));
    }
  }
  spec->transfer = true;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::MaskingConfig> ExpandMaskingPreset(const v1::MaskingConfig& config) {
  if (config.preset().empty()) return config;
  absl::StatusOr<v1::MaskingConfig> merged = PresetMaskingConfig(config.preset());
  if (!merged.ok()) return Invalid("preset", ToStd(merged.status().message()));
  if (!config.modalities().empty()) *merged->mutable_modalities() = config.modalities();
  if (config.has_input_tokens()) *merged->mutable_input_tokens() = config.input_tokens();
  if (config.has_target_tokens()) *merged->mutable_target_tokens() = config.target_tokens();
  if (!config.mixture().empty() || config.has_transfer()) {
    *merged->mutable_mixture() = config.mixture();
  }
  if (config.has_transfer()) *merged->mutable_transfer() = config.transfer();
  merged->set_unbounded_targets(config.unbounded_targets());
  merged->set_redistribute_clamped_budget(config.redistribute_clamped_budget());
  merged->set_no_crop_augmentation(config.no_crop_augmentation());
  merged->clear_preset();
  return merged;
}

int ModalitySpec::length() const {
  switch (type) {
    case ModalityType::kImg:
    case ModalityType::kSeqEmb:
      return max_tokens;
    case ModalityType::kSeq:
    case ModalityType::kSeqToken:
      return 2 * (max_tokens + 1);
  }
  return 0;
}

std::optional<size_t> MaskingSpec::FindModality(std::string_view name) const {
  auto it = std::lower_bound(modalities.begin(), modalities.end(), name,
                             [](const ModalitySpec& m, std::string_view n) { return m.name < n; });
  if (it == modalities.end() || it->name != name) return std::nullopt;
  return static_cast<size_t>(it - modalities.begin());
}

absl::StatusOr<MaskingSpec> ResolveMaskingConfig(const v1::MaskingConfig& original) {
  absl::StatusOr<v1::MaskingConfig> merged = ExpandMaskingPreset(original);
  if (!merged.ok()) return merged.status();
  const v1::MaskingConfig& config = *merged;
  MaskingSpec spec;
  if (config.modalities().empty()) return Invalid("modalities", "is empty");
  std::set<std::string> names;
  for (int i = 0; i < config.modalities_size(); ++i) {
    absl::StatusOr<ModalitySpec> m = ResolveModality(config.modalities(i), static_cast<size_t>(i));
    if (!m.ok()) return m.status();
    if (!names.insert(m->name).second) {
      return Invalid(StrCat("modalities[", i, "].name"), StrCat("'", m->name, "' appears twice"));
    }
    spec.modalities.push_back(std::move(*m));
  }
  std::sort(spec.modalities.begin(), spec.modalities.end(),
            [](const ModalitySpec& a, const ModalitySpec& b) { return a.name < b.name; });
  if (absl::Status s =
          ResolveRange(config.input_tokens(), "input_tokens", &spec.input_min, &spec.input_max);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ResolveRange(config.target_tokens(), "target_tokens", &spec.target_min, &spec.target_max);
      !s.ok()) {
    return s;
  }
  spec.unbounded_targets = config.unbounded_targets();
  spec.redistribute_clamped_budget = config.redistribute_clamped_budget();
  spec.no_crop_augmentation = config.no_crop_augmentation();
  if (config.has_transfer()) {
    if (!config.mixture().empty()) {
      return Invalid("transfer", "replaces the mixture; give one or the other");
    }
    if (absl::Status s = ResolveTransfer(config.transfer(), &spec); !s.ok()) return s;
    return spec;
  }
  if (absl::Status s = ResolveMixture(config, &spec); !s.ok()) return s;
  return spec;
}

std::vector<std::string> PresetNames() { return {"4m-7", "4m-7-tokens", "4m-21", "4m-21-tokens"}; }

absl::StatusOr<v1::Modality> FourMModality(std::string_view name) {
  for (const RegistryRow& row : k4m21Modalities) {
    if (name == row.name) return RegistryModality(row);
  }
  const size_t at = name.find('@');
  uint32_t resolution = 0;
  if (at != std::string_view::npos) {
    for (char c : name.substr(at + 1)) {
      if (c < '0' || c > '9' || resolution > 100000) {
        resolution = 0;
        break;
      }
      resolution = resolution * 10 + static_cast<uint32_t>(c - '0');
    }
  }
  if (resolution > 0 && resolution % 16 == 0) {
    const std::string_view base = name.substr(0, at);
    const uint64_t scale = uint64_t{resolution} * resolution;
    if (base == "rgb") {  // pixels, masked over 16-pixel patches
      v1::Modality m;
      m.set_name(std::string(name));
      m.set_type(v1::MODALITY_TYPE_IMG);
      m.set_max_tokens(static_cast<uint32_t>(scale / 256));
      m.set_pixel_size(resolution);
      return m;
    }
    for (const RegistryRow& row : k4m21Modalities) {
      const std::string_view known = row.name;
      if (known.size() > 4 && known.substr(known.size() - 4) == "@224" &&
          known.substr(0, known.size() - 4) == base && row.max_tokens * scale % (224 * 224) == 0) {
        v1::Modality m = RegistryModality(row);
        m.set_name(std::string(name));
        m.set_max_tokens(static_cast<uint32_t>(row.max_tokens * scale / (224 * 224)));
        return m;
      }
    }
  }
  return absl::NotFoundError(StrCat("modality '", name, "' is not one of 4M's"));
}

absl::StatusOr<v1::MaskingConfig> PresetMaskingConfig(std::string_view name) {
  if (name == "4m-7" || name == "4m-7-tokens") {
    absl::StatusOr<v1::MaskingConfig> c = ParseMaskingConfig(k4m7);
    if (!c.ok()) return c;
    if (name == "4m-7-tokens") WithoutPixels(&*c);
    FillAll2All(&*c);
    return c;
  }
  if (name == "4m-21" || name == "4m-21-tokens") {
    v1::MaskingConfig c = Make4m21();
    if (name == "4m-21-tokens") WithoutPixels(&c);
    return c;
  }
  return absl::NotFoundError(
      StrCat("unknown preset '", name, "' (known: ", absl::StrJoin(PresetNames(), ", "), ")"));
}

absl::StatusOr<v1::MaskingConfig> ParseMaskingConfig(std::string_view text) {
  return ParseTextProtoAs<v1::MaskingConfig>(text, "masking config");
}

absl::StatusOr<v1::MaskingConfig> LoadMaskingConfigFile(const std::string& path) {
  return LoadTextProtoFileAs<v1::MaskingConfig>(path, "masking config");
}

uint32_t ModalityIdFromName(std::string_view name) {
  const std::array<uint8_t, 32> d = Sha256(name);
  return (uint32_t{d[30]} << 8 | d[31]) & 0x7FFF;
}

}  // namespace maskfeed
