#include "pipeline/masking/masking_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/masking_test_util.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::PresetSpec;
using ::maskfeed::testing::SpecFromText;
using ::testing::HasSubstr;

// The real 4M-7 (docs/pipeline.md#masking): rgb@224 pixels take the input budget in rgb2all
// and are never a target. (tests/server/fourm_config_test.cc: the same as 4M's own YAML.)
TEST(MaskingConfigTest, Preset4m7HasRgbPixelsAsInputOnly) {
  const MaskingSpec spec = PresetSpec("4m-7");
  ASSERT_EQ(spec.modalities.size(), 8u);
  const size_t rgb = *spec.FindModality("rgb@224"), tok = *spec.FindModality("tok_rgb@224");
  EXPECT_EQ(spec.modalities[rgb].pixel_size, 224);
  EXPECT_EQ(spec.modalities[rgb].length(), 196);
  ASSERT_EQ(spec.mixture.size(), 2u);
  EXPECT_EQ(spec.mixture[0].name, "rgb2all");
  EXPECT_EQ(spec.mixture[0].input_alpha[rgb], 1000);
  EXPECT_EQ(spec.mixture[0].input_alpha[tok], kAlphaFloor);
  EXPECT_EQ(spec.mixture[0].target_alpha[tok], 0.5);
  for (const MixtureComponentSpec& comp : spec.mixture) {
    EXPECT_EQ(comp.target_alpha[rgb], kAlphaFloor) << comp.name << ": rgb is not a target";
  }
  EXPECT_EQ(spec.mixture[1].input_alpha[rgb], 0.5);
  EXPECT_EQ(PresetNames(),
            (std::vector<std::string>{"4m-7", "4m-7-tokens", "4m-21", "4m-21-tokens"}));
}

// The pixel-free variant for pre-tokenized data: tok_rgb@224 takes rgb@224's place.
TEST(MaskingConfigTest, Preset4m7TokensIsWhatDesignSays) {
  const MaskingSpec spec = PresetSpec("4m-7-tokens");
  ASSERT_EQ(spec.modalities.size(), 7u);
  EXPECT_EQ(spec.modalities[0].name, "caption");
  EXPECT_EQ(spec.modalities[0].type, ModalityType::kSeq);
  EXPECT_EQ(spec.modalities[0].length(), 514);
  EXPECT_EQ(spec.modalities[0].id, 32652u);
  const ModalitySpec& rgb = spec.modalities[*spec.FindModality("tok_rgb@224")];
  EXPECT_EQ(rgb.type, ModalityType::kImg);
  EXPECT_EQ(rgb.length(), 196);
  EXPECT_EQ(rgb.vocab_size, 16384u);
  EXPECT_EQ(spec.input_min, 128);
  EXPECT_EQ(spec.input_max, 128);
  EXPECT_EQ(spec.target_min, 128);
  ASSERT_EQ(spec.mixture.size(), 2u);
  EXPECT_EQ(spec.mixture[0].name, "rgb2all");
  EXPECT_DOUBLE_EQ(spec.cumulative_weights[0], 0.5);
  const size_t r = *spec.FindModality("tok_rgb@224"), c = *spec.FindModality("caption");
  EXPECT_EQ(spec.mixture[0].input_alpha[r], 1000);
  EXPECT_EQ(spec.mixture[0].input_alpha[c], kAlphaFloor);
  EXPECT_EQ(spec.mixture[0].target_alpha[r], 0.5);
  EXPECT_EQ(spec.mixture[1].name, "all2all");
  for (size_t m = 0; m < 7; ++m) {
    EXPECT_EQ(spec.mixture[1].input_alpha[m], 0.5);
    EXPECT_EQ(spec.mixture[1].target_alpha[m], 0.5);
    EXPECT_EQ(spec.mixture[1].keep[m], KeepScheme::kRandom);
  }
}

TEST(MaskingConfigTest, Preset4m21HasSevenWeightedComponents) {
  const MaskingSpec spec = PresetSpec("4m-21");
  EXPECT_EQ(spec.modalities.size(), 19u);  // 18 tokenized and rgb@224 pixels
  const MaskingSpec tokens = PresetSpec("4m-21-tokens");
  EXPECT_EQ(tokens.modalities.size(), 18u);
  EXPECT_FALSE(tokens.FindModality("rgb@224").has_value());
  const size_t tok_rgb = *tokens.FindModality("tok_rgb@224");
  EXPECT_EQ(tokens.mixture[4].name, "rgb2all");
  EXPECT_EQ(tokens.mixture[4].input_alpha[tok_rgb], 1000) << "tok_rgb takes rgb's place";
  EXPECT_EQ(spec.input_max, 256);
  ASSERT_EQ(spec.mixture.size(), 7u);
  EXPECT_NEAR(spec.cumulative_weights[4], 5.0 / 6, 1e-12);
  const size_t palette = *spec.FindModality("color_palette");
  const size_t t5 = *spec.FindModality("t5_caption");
  for (const MixtureComponentSpec& comp : spec.mixture)
    EXPECT_EQ(comp.keep[palette], KeepScheme::kBinary);
  EXPECT_EQ(spec.mixture[6].keep[t5], KeepScheme::kAll);
  EXPECT_EQ(spec.mixture[6].input_alpha[t5], 5);
  EXPECT_EQ(spec.modalities[t5].type, ModalityType::kSeqEmb);
  EXPECT_EQ(spec.modalities[t5].length(), 77);
  EXPECT_EQ(spec.modalities[*spec.FindModality("metadata")].chunk_tokens, 2);
  EXPECT_EQ(spec.modalities[*spec.FindModality("tok_dinov2@224")].length(), 256);
}

TEST(MaskingConfigTest, UserFieldsOverrideThePreset) {
  const MaskingSpec spec = SpecFromText(R"pb(
    preset: "4m-7-tokens"
    input_tokens { max: 64 min: 32 }
    target_tokens { max: 100 min_is_zero: true }
    redistribute_clamped_budget: true
  )pb");
  EXPECT_EQ(spec.input_min, 32);
  EXPECT_EQ(spec.input_max, 64);
  EXPECT_EQ(spec.target_min, 0);
  EXPECT_EQ(spec.target_max, 100);
  EXPECT_TRUE(spec.redistribute_clamped_budget);
  EXPECT_EQ(spec.mixture.size(), 2u);
}

struct InvalidCase {
  const char* name;
  const char* text;
  const char* field;
  friend void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }
};

class InvalidConfigs : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidConfigs, NameTheField) {
  absl::StatusOr<v1::MaskingConfig> config = ParseMaskingConfig(GetParam().text);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<MaskingSpec> spec = ResolveMaskingConfig(*config);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(spec.status()), HasSubstr(GetParam().field));
}

constexpr const char* kOne =
    R"pb(modalities { name: "a" type: MODALITY_TYPE_IMG max_tokens: 4 })pb";

INSTANTIATE_TEST_SUITE_P(
    Cases, InvalidConfigs,
    ::testing::Values(
        InvalidCase{"no_modalities", "mixture {}", "modalities: is empty"},
        InvalidCase{"no_type", "modalities { name: \"a\" max_tokens: 4 } mixture {}",
                    "modalities[0] (a).type: must be set"},
        InvalidCase{"no_max", "modalities { name: \"a\" type: MODALITY_TYPE_IMG } mixture {}",
                    "modalities[0] (a).max_tokens"},
        InvalidCase{"min_over_max",
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 min_tokens: 5 }"
                    " mixture {}",
                    "modalities[0] (a).min_tokens: 5 > max_tokens 4"},
        InvalidCase{"duplicate",
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 }"
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 } mixture {}",
                    "modalities[1].name: 'a' appears twice"},
        InvalidCase{"empty_mixture", kOne, "mixture: is empty"},
        InvalidCase{"negative_alpha",
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 }"
                    "mixture {} mixture { input_alpha { key: \"a\" value: -0.5 } }",
                    "mixture[1].input_alpha[\"a\"]: -0.5 is negative"},
        InvalidCase{"unknown_alpha",
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 }"
                    "mixture { target_alpha { key: \"b\" value: 1 } }",
                    "mixture[0].target_alpha[\"b\"]: names no modality"},
        InvalidCase{"negative_weight",
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 }"
                    "mixture { weight: -1 }",
                    "mixture[0].weight"},
        InvalidCase{"infinite_weight",
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 }"
                    "mixture { weight: inf }",
                    "mixture[0].weight: inf is negative or not finite"},
        InvalidCase{"weights_sum_to_infinity",
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 }"
                    "mixture { weight: 1e308 } mixture { weight: 1e308 }",
                    "mixture: the component weights sum to more than a double holds"},
        InvalidCase{"keep_on_image",
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 }"
                    "mixture { keep { key: \"a\" value: KEEP_SCHEME_ALL } }",
                    "mixture[0].keep[\"a\"]: applies to sequence modalities only"},
        InvalidCase{"input_range",
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 }"
                    "mixture {} input_tokens { min: 200 max: 100 }",
                    "input_tokens: min 200 > max 100"},
        InvalidCase{"too_few_sentinels",
                    "modalities { name: \"t\" type: MODALITY_TYPE_SEQ max_tokens: 400 } mixture {}",
                    "modalities[0] (t).max_tokens: 400 tokens can need sentinels up to S_201 but "
                    "only S_1..S_199 exist"},
        InvalidCase{"eos_is_sentinel",
                    "modalities { name: \"t\" type: MODALITY_TYPE_SEQ max_tokens: 8 eos_id: 5 }"
                    " mixture {}",
                    "modalities[0] (t).eos_id"},
        InvalidCase{
            "emb_without_dim",
            "modalities { name: \"e\" type: MODALITY_TYPE_SEQ_EMB max_tokens: 8 } mixture {}",
            "modalities[0] (e).embedding_dim: is required"},
        InvalidCase{"transfer_missing_role",
                    "modalities { name: \"a\" type: MODALITY_TYPE_IMG max_tokens: 4 }"
                    "modalities { name: \"b\" type: MODALITY_TYPE_IMG max_tokens: 4 }"
                    "transfer { inputs: \"a\" }",
                    "transfer: modality 'b' has no role"},
        InvalidCase{"transfer_emb",
                    "modalities { name: \"e\" type: MODALITY_TYPE_SEQ_EMB max_tokens: 8 "
                    "embedding_dim: 4 } transfer { inputs: \"e\" }",
                    "transfer.inputs[0]: 'e': transfer roles support IMG and SEQ only"},
        InvalidCase{"unknown_preset", "preset: \"4m-99\"", "preset: unknown preset '4m-99'"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) { return info.param.name; });

TEST(MaskingConfigTest, SyntaxErrorsGiveLineAndColumn) {
  absl::StatusOr<v1::MaskingConfig> config = ParseMaskingConfig("modalities {\n  nme: \"x\"\n}");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(config.status()), HasSubstr("line 2"));
  EXPECT_THAT(Message(config.status()), HasSubstr("nme"));
}

TEST(MaskingConfigTest, LoadsTextFilesAndNamesThemInErrors) {
  ::maskfeed::testing::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(::maskfeed::testing::WriteFile(
      dir / "ok.pbtxt", "preset: \"4m-7-tokens\"\ninput_tokens { max: 64 }\n"));
  absl::StatusOr<v1::MaskingConfig> config = LoadMaskingConfigFile(dir / "ok.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->input_tokens().max(), 64u);
  ASSERT_NO_FATAL_FAILURE(
      ::maskfeed::testing::WriteFile(dir / "bad.pbtxt", "input_tokens { max: -1 }\n"));
  config = LoadMaskingConfigFile(dir / "bad.pbtxt");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(Message(config.status()), HasSubstr(dir / "bad.pbtxt"));
  EXPECT_THAT(Message(config.status()), HasSubstr("line 1"));
  EXPECT_EQ(LoadMaskingConfigFile(dir / "missing.pbtxt").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(MaskingConfigTest, ExplicitIdsAndTokenIdsOverrideDefaults) {
  const MaskingSpec spec = SpecFromText(R"pb(
    modalities {
      name: "t"
      type: MODALITY_TYPE_SEQ
      max_tokens: 8
      id: 77
      eos_id: 2
      first_sentinel_id: 100
      num_sentinels: 10
    }
    mixture {}
  )pb");
  const ModalitySpec& t = spec.modalities[0];
  EXPECT_EQ(t.id, 77u);
  EXPECT_EQ(t.eos_id, 2);
  EXPECT_EQ(t.sentinel(1), 101);
  EXPECT_TRUE(t.is_sentinel(100));
  EXPECT_FALSE(t.is_sentinel(110));
}

// 4M's modality ids (docs/masking.md#modalities).
TEST(MaskingConfigTest, ModalityIdsMatchThe4mRegistry) {
  EXPECT_EQ(ModalityIdFromName("rgb@224"), 20716u);
  EXPECT_EQ(ModalityIdFromName("caption"), 32652u);
  EXPECT_EQ(ModalityIdFromName("det"), 30982u);
  EXPECT_EQ(ModalityIdFromName("tok_rgb@224"), 11606u);
  EXPECT_EQ(ModalityIdFromName("tok_depth@224"), 20063u);
  EXPECT_EQ(ModalityIdFromName("tok_normal@224"), 16656u);
  EXPECT_EQ(ModalityIdFromName("tok_semseg@224"), 12515u);
  EXPECT_EQ(ModalityIdFromName("tok_clip@224"), 11422u);
  EXPECT_EQ(ModalityIdFromName("t5_caption"), 28551u);
  EXPECT_EQ(ModalityIdFromName("metadata"), 1951u);
}

}  // namespace
}  // namespace maskfeed
