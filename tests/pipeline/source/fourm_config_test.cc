// --4m-config: 4M's own YAML files (every one it ships, in tests/data/4m/configs) translated
// into a ServerConfig, against docs/4m-configs.md and docs/raw-modalities.md invariants 25-27.
#include "pipeline/source/fourm_config.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/source/data_config.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kRoot = MASKFEED_SOURCE_DIR "/tests/data/4m/configs";
const std::string kModels = "cfgs/default/4m/models/main/";
const std::string kData = "cfgs/default/4m/data/";

absl::StatusOr<v1::ServerConfig> Import(std::vector<std::string> files, FourMImport in = {}) {
  for (std::string& f : files) {
    if (f[0] != '/') f = StrCat(kRoot, "/", f);
  }
  in.files = std::move(files);
  if (in.root == ".") in.root = kRoot;
  return ImportFourMConfig(in);
}

std::vector<std::string> Names(const v1::MaskingConfig& m) {
  std::vector<std::string> names;
  for (const v1::Modality& x : m.modalities()) names.push_back(x.name());
  return names;
}

// Invariant 25: 4M-7's model config, through its data and alphas configs.
TEST(FourMConfigTest, FourM7IsTwoEqualComponentsRgbTakesTheInputInTheFirst) {
  absl::StatusOr<v1::ServerConfig> c = Import({kModels + "4m-b_mod7_500b.yaml"});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->dataset_size(), 1);
  EXPECT_EQ(c->mixture_size(), 0);
  const v1::DatasetConfig& d = c->dataset(0);
  EXPECT_EQ(d.name(), "cc12m");
  EXPECT_THAT(Names(d.masking()),
              ElementsAre("caption", "det", "rgb@224", "tok_clip@224", "tok_depth@224",
                          "tok_normal@224", "tok_rgb@224", "tok_semseg@224"));
  EXPECT_EQ(d.masking().input_tokens().max(), 128u);
  EXPECT_EQ(d.masking().input_tokens().min(), 128u);
  EXPECT_EQ(d.masking().target_tokens().max(), 128u);
  EXPECT_EQ(d.n_repeats(), 4u);
  EXPECT_EQ(d.main_augment_domain(), "rgb@224");
  EXPECT_FALSE(d.unaligned_captions());
  EXPECT_FALSE(d.masking().no_crop_augmentation());
  EXPECT_EQ(d.data_path(), kRoot +
                               "/path/to/training/data/[modality1,modality2,modality3]/"
                               "shard-{00000..9999}.tar");
  ASSERT_EQ(d.masking().mixture_size(), 2);
  const v1::MixtureComponent& rgb2all = d.masking().mixture(0);
  const v1::MixtureComponent& all2all = d.masking().mixture(1);
  EXPECT_EQ(rgb2all.weight(), all2all.weight());
  for (const std::string& m : Names(d.masking())) {
    EXPECT_EQ(rgb2all.input_alpha().at(m), m == "rgb@224" ? 1000 : 0) << m;
    EXPECT_EQ(rgb2all.target_alpha().at(m), m == "rgb@224" ? 0 : 0.5) << m;
    EXPECT_EQ(all2all.input_alpha().at(m), 0.5) << m;
  }
  EXPECT_EQ(all2all.keep().at("caption"), v1::KEEP_SCHEME_RANDOM);
  EXPECT_EQ(all2all.keep().size(), 2u);  // sequences only
  // It is a masking config maskfeed accepts as it is.
  ASSERT_TRUE(ResolveMaskingConfig(d.masking()).ok()) << ResolveMaskingConfig(d.masking()).status();
  ASSERT_TRUE(FinalizeDataConfig(&*c).ok());
}

// A preset and what 4M's own YAML resolves to: the same modalities, budgets and Dirichlet
// mixture (component names aside).
void ExpectSameRecipe(const std::string& preset, const v1::MaskingConfig& imported) {
  absl::StatusOr<MaskingSpec> yaml = ResolveMaskingConfig(imported);
  absl::StatusOr<v1::MaskingConfig> preset_config = PresetMaskingConfig(preset);
  ASSERT_TRUE(yaml.ok() && preset_config.ok()) << yaml.status();
  absl::StatusOr<MaskingSpec> ours = ResolveMaskingConfig(*preset_config);
  ASSERT_TRUE(ours.ok()) << ours.status();
  ASSERT_EQ(ours->modalities.size(), yaml->modalities.size()) << preset;
  for (size_t m = 0; m < yaml->modalities.size(); ++m) {
    const ModalitySpec& a = ours->modalities[m];
    const ModalitySpec& b = yaml->modalities[m];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.type, b.type) << a.name;
    EXPECT_EQ(a.length(), b.length()) << a.name;
    EXPECT_EQ(a.pixel_size, b.pixel_size) << a.name;
    EXPECT_EQ(a.vocab_size, b.vocab_size) << a.name;
    EXPECT_EQ(a.id, b.id) << a.name;
    EXPECT_EQ(a.chunk_tokens, b.chunk_tokens) << a.name;
  }
  EXPECT_EQ(std::tie(ours->input_min, ours->input_max, ours->target_min, ours->target_max),
            std::tie(yaml->input_min, yaml->input_max, yaml->target_min, yaml->target_max));
  ASSERT_EQ(ours->mixture.size(), yaml->mixture.size());
  EXPECT_EQ(ours->cumulative_weights, yaml->cumulative_weights);
  for (size_t k = 0; k < yaml->mixture.size(); ++k) {
    EXPECT_EQ(ours->mixture[k].input_alpha, yaml->mixture[k].input_alpha) << preset << " " << k;
    EXPECT_EQ(ours->mixture[k].target_alpha, yaml->mixture[k].target_alpha) << preset << " " << k;
    EXPECT_EQ(ours->mixture[k].keep, yaml->mixture[k].keep) << preset << " " << k;
  }
}

// The 4m-7 and 4m-21 presets are 4M's recipes, read from 4M's own model configs.
TEST(FourMConfigTest, PresetsAreWhat4MsOwnYamlSays) {
  absl::StatusOr<v1::ServerConfig> seven = Import({kModels + "4m-b_mod7_500b.yaml"});
  ASSERT_TRUE(seven.ok()) << seven.status();
  ExpectSameRecipe("4m-7", seven->dataset(0).masking());
  FourMImport cc12m;
  cc12m.datasets = {"cc12m"};
  absl::StatusOr<v1::ServerConfig> twenty_one = Import({kModels + "4m-b_mod21_500b.yaml"}, cc12m);
  ASSERT_TRUE(twenty_one.ok()) << twenty_one.status();
  ExpectSameRecipe("4m-21", twenty_one->dataset(0).masking());
  absl::StatusOr<MaskingSpec> spec = ResolveMaskingConfig(*PresetMaskingConfig("4m-21"));
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->modalities[*spec->FindModality("rgb@224")].pixel_size, 224);
}

// Every model and data config 4M ships: imported, or refused naming file, line and key where
// they are broken (the C4 mixture's huggingface entry and its coyo700m alphas file, marked
// TODO in 4M). The superres data config names its alphas file without ".yaml"; that file is
// used, with a warning.
TEST(FourMConfigTest, EveryShippedConfigImportsOrSaysWhy) {
  for (const char* model : {"4m-b_mod7_500b.yaml", "4m-l_mod7_500b.yaml", "4m-xl_mod7_500b.yaml",
                            "4m-b_mod21_500b.yaml"}) {
    absl::StatusOr<v1::ServerConfig> c = Import({kModels + model});
    if (std::string_view(model) == "4m-b_mod21_500b.yaml") {
      ASSERT_FALSE(c.ok());
      EXPECT_THAT(Message(c.status()), HasSubstr("train.datasets.coyo700m.alphas_config: "));
      continue;
    }
    ASSERT_TRUE(c.ok()) << model << ": " << c.status();
    ASSERT_TRUE(FinalizeDataConfig(&*c).ok()) << model;
  }
  for (const char* data : {"cc12m/main/mix_mod7_all2all_rgb2all_a0.5.yaml",
                           "cc12m/main/mix_mod7_all2all_rgb2dense_a0.5.yaml",
                           "cc12m/specialized/mix_caption_bias_a0.2_a1.0.yaml",
                           "cc12m/superres/mix_mod7_superres_caption_rgb_bias.yaml"}) {
    absl::StatusOr<v1::ServerConfig> c = Import({kData + data});
    ASSERT_TRUE(c.ok()) << data << ": " << c.status();
    for (const v1::DatasetConfig& d : c->dataset()) {
      EXPECT_TRUE(ResolveMaskingConfig(d.masking()).ok()) << data;
    }
  }
  const std::string c4 =
      kData + "cc12m+coyo+c4/main/mix_mod21_all2allmix_rgb2all_capT5bias_C4.yaml";
  FourMImport c4_only;
  c4_only.datasets = {"c4"};
  absl::StatusOr<v1::ServerConfig> text = Import({c4}, c4_only);
  EXPECT_THAT(Message(text.status()),
              HasSubstr("train.datasets.c4.type: a HuggingFace text dataset is read through "
                        "HuggingFace's library, not from shards: write it as shards with "
                        "`maskfeed-shard import-jsonl"));
  FourMImport coyo;
  coyo.datasets = {"coyo700m"};
  absl::StatusOr<v1::ServerConfig> missing = Import({c4}, coyo);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(missing.status()),
              HasSubstr("train.datasets.coyo700m.alphas_config: " + kRoot +
                        "/cfgs/bolt/pretrain/4m/alphas_mixture/all2allmix-oldmod_rgb2all_capbias_"
                        "v0.yaml does not exist"));
  FourMImport cc12m;
  cc12m.datasets = {"cc12m"};
  absl::StatusOr<v1::ServerConfig> one = Import({c4}, cc12m);
  ASSERT_TRUE(one.ok()) << one.status();
  // 4M-21: 256 tokens, min null = this dataset's num (invariant 27), seven weighted components.
  const v1::MaskingConfig& m = one->dataset(0).masking();
  EXPECT_EQ(m.input_tokens().max(), 256u);
  EXPECT_EQ(m.input_tokens().min(), 256u);
  EXPECT_EQ(m.target_tokens().min(), 256u);
  ASSERT_EQ(m.mixture_size(), 7);
  EXPECT_EQ(m.mixture(5).weight(), 0.5);
  EXPECT_EQ(m.mixture(5).keep().at("caption"), v1::KEEP_SCHEME_ALL);
  EXPECT_EQ(Names(m).size(), 19u);
  ASSERT_TRUE(ResolveMaskingConfig(m).ok()) << ResolveMaskingConfig(m).status();
}

class FourMYamlTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }
  absl::StatusOr<v1::ServerConfig> ImportHere(const std::string& file) {
    FourMImport in;
    in.files = {file};
    in.root = dir_.path();
    return ImportFourMConfig(in);
  }
  TempDir dir_;
};

constexpr char kDataHead[] = R"(train:
  datasets:
    mine:
      type: multimodal
      in_domains: tok_rgb@224-caption
      out_domains: caption-tok_depth@224
      data_path: 'd/[caption,tok_rgb,tok_depth@224]/shard-{00000..00001}.tar'
      use_wds: True
)";

// PyYAML's scalars, inline alphas zipped with the sorted domains, null rules,
// renamed folders, and where each error points.
TEST_F(FourMYamlTest, ScalarsNullsAndInlineAlphasFollowPyYaml) {
  const std::string file = Write("data.yaml", StrCat(kDataHead, R"(
      input_alphas: "0.25-1.0"
      target_alphas: "0.5"
      num_input_tokens: 1_00
      min_input_tokens: null
      min_target_tokens: 0
      wds_n_repeats: 2
      aligned_captions: False
      tok_train_aug: no
      modality_name_map:
        tok_rgb: tok_rgb@224
)"));
  absl::StatusOr<v1::ServerConfig> c = ImportHere(file);
  ASSERT_TRUE(c.ok()) << c.status();
  const v1::DatasetConfig& d = c->dataset(0);
  const v1::MaskingConfig& m = d.masking();
  EXPECT_EQ(m.input_tokens().max(), 100u);  // 1_00
  EXPECT_EQ(m.input_tokens().min(), 100u);  // null: this dataset's num
  EXPECT_EQ(m.target_tokens().max(), 128u);
  EXPECT_TRUE(m.target_tokens().min_is_zero());
  ASSERT_EQ(m.mixture_size(), 1);
  // sorted in_domains: caption, tok_rgb@224
  EXPECT_EQ(m.mixture(0).input_alpha().at("caption"), 0.25);
  EXPECT_EQ(m.mixture(0).input_alpha().at("tok_rgb@224"), 1.0);
  EXPECT_FALSE(m.mixture(0).input_alpha().contains("tok_depth@224"));
  EXPECT_EQ(m.mixture(0).target_alpha().at("tok_depth@224"), 0.5);  // broadcast
  EXPECT_TRUE(d.unaligned_captions());
  EXPECT_TRUE(m.no_crop_augmentation());
  EXPECT_EQ(d.n_repeats(), 2u);
  EXPECT_EQ(d.modality_name_map().at("tok_rgb"), "tok_rgb@224");
  EXPECT_EQ(d.data_path(), dir_ / "d/[caption,tok_rgb,tok_depth@224]/shard-{00000..00001}.tar");

  for (const auto& [extra, expected] : std::vector<std::pair<std::string, std::string>>{
           {"      input_alphas: 0.5\n",
            "data.yaml:9: train.datasets.mine.input_alphas: must be a quoted string"},
           {"      input_alphas: null\n", "train.datasets.mine.input_alphas: must be a quoted"},
           {"      num_input_tokens: null\n", "num_input_tokens: null is not allowed"},
           {"      wds_n_repeats: 1e3\n", "wds_n_repeats: must be an integer"},
           {"      aligned_captions: maybe\n", "aligned_captions: must be true or false"},
           {"      alphas_config: nowhere.yaml\n", "nowhere.yaml does not exist"}}) {
    absl::StatusOr<v1::ServerConfig> bad = ImportHere(Write("data.yaml", kDataHead + extra));
    ASSERT_FALSE(bad.ok()) << extra;
    EXPECT_THAT(Message(bad.status()), HasSubstr(expected)) << extra;
  }
  absl::StatusOr<v1::ServerConfig> syntax = ImportHere(Write("broken.yaml", "train: [\n  x: 1\n"));
  EXPECT_THAT(Message(syntax.status()), HasSubstr("broken.yaml:"));
  EXPECT_THAT(Message(syntax.status()), HasSubstr("not valid YAML"));
}

// RandomCropImageAugmenter's settings (data without crop_settings): hflip, crop_scale and
// crop_ratio as 4M's data configs name them.
TEST_F(FourMYamlTest, RandomCropSettingsAreImported) {
  const std::string file = Write("data.yaml", StrCat(kDataHead, R"(
      input_alphas: "1.0"
      target_alphas: "1.0"
      hflip: 0.0
      crop_scale: [0.5, 1.0]
      crop_ratio: [0.8, 1.25]
)"));
  absl::StatusOr<v1::ServerConfig> c = ImportHere(file);
  ASSERT_TRUE(c.ok()) << c.status();
  const v1::RandomCropConfig& crop = c->dataset(0).random_crop();
  ASSERT_TRUE(crop.has_hflip());
  EXPECT_EQ(crop.hflip(), 0.0);
  EXPECT_EQ(crop.scale_min(), 0.5);
  EXPECT_EQ(crop.scale_max(), 1.0);
  EXPECT_EQ(crop.ratio_min(), 0.8);
  EXPECT_EQ(crop.ratio_max(), 1.25);
  absl::StatusOr<v1::ServerConfig> bad =
      ImportHere(Write("data.yaml", StrCat(kDataHead, "      crop_scale: 0.5\n")));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(Message(bad.status()), HasSubstr("crop_scale: must be a list of two numbers"));
}

// Invariant 26: an alphas file that lacks a modality, or has lists of unequal length, or a
// float PyYAML reads as a string, fails at setup naming the key.
TEST_F(FourMYamlTest, BrokenAlphasFilesFailAtSetup) {
  const std::string data = Write("data.yaml", StrCat(kDataHead, "      alphas_config: a.yaml\n"));
  const std::string good = R"(caption:
  input_alphas: [0.5, 1.0]
  target_alphas: [0.5, 0.5]
  keep: [random, all]
tok_rgb@224:
  input_alphas: [0.5, 0.]
  target_alphas: [0., 0.]
tok_depth@224:
  input_alphas: [0., 0.]
  target_alphas: [0.5, 0.5]
)";
  Write("a.yaml", good);
  absl::StatusOr<v1::ServerConfig> ok = ImportHere(data);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->dataset(0).masking().mixture_size(), 2);
  EXPECT_EQ(ok->dataset(0).masking().mixture(1).keep().at("caption"), v1::KEEP_SCHEME_ALL);

  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {good.substr(0, good.find("tok_depth")), "a.yaml:1: tok_depth@224: missing"},
           {StrCat(good, "").replace(good.find("[0.5, 0.5]\n  keep"), 10, "[0.5]"),
            "caption.target_alphas: has 1 values but the mixture has 2"},
           {StrCat(good, "").replace(good.find("  keep: [random, all]\n"), 22, ""),
            "caption.keep: required for a sequence modality"},
           {StrCat(good, "").replace(good.find("[0.5, 0.]"), 9, "[1e-3, 0.]"),
            "'1e-3' is a string to PyYAML"},
           {StrCat("alphas_mixture:\n", good), "alphas_mixture: needs sampling_weights"}}) {
    Write("a.yaml", text);
    absl::StatusOr<v1::ServerConfig> bad = ImportHere(data);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_THAT(Message(bad.status()), HasSubstr(expected)) << text;
  }
}

}  // namespace
}  // namespace maskfeed
