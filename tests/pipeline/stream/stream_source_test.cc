// StreamSource and MixtureSource alone: which reader each masked modality gets, what a source
// refuses when it is made (naming the modality, and the config field a front end has a flag
// for), what its fingerprint depends on, and how a mixture lays out its batch.
#include "pipeline/stream/stream_source.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/status_fields.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/tools/convert_dataset.h"
#include "tests/testing/synth_fixture.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class StreamSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    for (auto [preset, out] : {std::pair{SynthOptions::kRawPreset, "raw"},
                               std::pair{SynthOptions::kTokensPreset, "tok"}}) {
      ASSERT_NO_FATAL_FAILURE(testing::Synth(*dir_ / out, preset, 24, 2));
    }
    ConvertOptions convert;
    convert.src = *dir_ / "tok";
    convert.dst = *dir_ / "tok-mfs";
    ASSERT_TRUE(ConvertDataset(convert).ok());
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::shared_ptr<const Dataset> Open(const std::string& name) {
    absl::StatusOr<std::unique_ptr<Dataset>> d = Dataset::Open(*dir_ / name);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? std::shared_ptr<const Dataset>(*std::move(d)) : nullptr;
  }

  // The raw dataset's options: its own tokenizer, sizes from rgb.
  static RawOptions Raw() {
    absl::StatusOr<std::unique_ptr<text::WordPieceTokenizer>> t =
        text::WordPieceTokenizer::FromFile(*dir_ / "raw/tokenizer.json");
    EXPECT_TRUE(t.ok()) << t.status();
    RawOptions raw;
    raw.tokenizer = t.ok() ? std::move(*t) : nullptr;
    raw.main_augment_domain = "rgb@224";
    return raw;
  }

  static absl::StatusOr<std::shared_ptr<const StreamSource>> Create(const std::string& dataset,
                                                                    const std::string& config_text,
                                                                    const RawOptions& raw = {}) {
    absl::StatusOr<v1::MaskingConfig> config = ParseMaskingConfig(config_text);
    if (!config.ok()) return config.status();
    return StreamSource::Create(Open(dataset), *config, raw);
  }

  static size_t Index(const StreamSource& s, const std::string& name) {
    return *s.spec().FindModality(name);
  }

  static TempDir* dir_;
};
TempDir* StreamSourceTest::dir_ = nullptr;

// The real 4M-7 on 4M's raw layout: text readers for caption and det (det needing the crop
// geometry, from crop_settings and rgb's headers), a pixel reader for rgb@224, token readers
// for the tok_* arrays; only the kinds that build add to the fingerprint.
TEST_F(StreamSourceTest, EachModalityGetsTheReaderOfItsKind) {
  absl::StatusOr<std::shared_ptr<const StreamSource>> s = Create("raw", R"(preset: "4m-7")", Raw());
  ASSERT_TRUE(s.ok()) << s.status();
  const StreamSource& source = **s;
  EXPECT_FALSE(source.reader(Index(source, "caption")).needs_geometry());
  EXPECT_TRUE(source.reader(Index(source, "det")).needs_geometry());
  EXPECT_THAT(source.reader(Index(source, "caption")).identity(), HasSubstr("|text:"));
  EXPECT_EQ(source.reader(Index(source, "rgb@224")).identity(), "") << "exact pixels";
  EXPECT_EQ(source.reader(Index(source, "tok_rgb@224")).identity(), "");
  for (const ModalitySpec& m : source.spec().modalities) {
    EXPECT_FALSE(source.reader(Index(source, m.name)).never_budgeted()) << m.name;
  }
  const Dataset& ds = source.dataset();
  ASSERT_TRUE(source.crop_sources().crop_settings.has_value());
  EXPECT_EQ(ds.modality_name(*source.crop_sources().crop_settings), "crop_settings");
  ASSERT_TRUE(source.crop_sources().image_size.has_value());
  EXPECT_EQ(ds.modality_name(*source.crop_sources().image_size), "rgb");

  RawOptions fast = Raw();
  fast.pixels.fast = true;
  absl::StatusOr<std::shared_ptr<const StreamSource>> f = Create("raw", R"(preset: "4m-7")", fast);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->reader(Index(**f, "rgb@224")).identity(), "|pixels:fast");
  EXPECT_NE((*f)->fingerprint(), source.fingerprint());
}

// An image folder named by an IMG modality without pixel_size: a placeholder, never budgeted
// when its alphas are 0, refused with a budget.
TEST_F(StreamSourceTest, ImagesNoModalityReadsAreAPlaceholderWithoutBudget) {
  const std::string config = R"(
    modalities { name: "rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }
    modalities { name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }
    mixture { input_alpha { key: "rgb@224" value: A } input_alpha { key: "tok_rgb@224" value: 1 }
              target_alpha { key: "tok_rgb@224" value: 1 } })";
  absl::StatusOr<std::shared_ptr<const StreamSource>> s =
      Create("raw", std::string(config).replace(config.find("value: A"), 8, "value: 0"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*s)->reader(Index(**s, "rgb@224")).never_budgeted());
  EXPECT_FALSE((*s)->reader(Index(**s, "tok_rgb@224")).never_budgeted());
  s = Create("raw", std::string(config).replace(config.find("value: A"), 8, "value: 2"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(s.status()), HasSubstr("modality rgb@224: dataset folder rgb holds jpg"));
  EXPECT_THAT(Message(s.status()), HasSubstr("pixel_size"));
}

// What a source refuses names the modality, and carries the config field a front end names
// its flag for.
TEST_F(StreamSourceTest, RefusalsNameTheModalityAndTheField) {
  absl::StatusOr<std::shared_ptr<const StreamSource>> s = Create("raw", R"(preset: "4m-7")");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(s.status()), HasSubstr("modality caption: dataset folder caption holds"));
  EXPECT_THAT(Message(s.status()), HasSubstr("(text_tokenizer in the dataset's config)"));
  EXPECT_THAT(FieldsOf(s.status()), ElementsAre("text_tokenizer"));

  RawOptions no_domain = Raw();
  no_domain.main_augment_domain.clear();
  s = Create("raw", R"(preset: "4m-7")", no_domain);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(s.status()), HasSubstr("det needs the original image size"));
  EXPECT_THAT(FieldsOf(s.status()), ElementsAre("main_augment_domain"));

  // Pixels on pre-tokenized data: no rgb folder, and the message says what serves such data.
  s = Create("tok", R"(preset: "4m-7")");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s.status()), HasSubstr("modality rgb@224: dataset"));
  EXPECT_THAT(Message(s.status()), HasSubstr("served by the -tokens presets (4m-7-tokens"));

  // Token arrays that do not fit the modality.
  s = Create("tok", R"(
    modalities { name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 100 vocab_size: 16384 }
    mixture { input_alpha { key: "tok_rgb@224" value: 1 } target_alpha { key: "tok_rgb@224" value: 1 } })");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s.status()),
              HasSubstr("records have 196 tokens per crop, max_tokens is 100"));

  // A raw member kind no builder reads.
  s = Create("raw", R"(
    modalities { name: "metadata" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }
    mixture { input_alpha { key: "metadata" value: 1 } target_alpha { key: "metadata" value: 1 } })",
             Raw());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s.status()), HasSubstr("raw text becomes MODALITY_TYPE_SEQ ids"));
}

// The fingerprint follows what the bytes depend on: the samples and the masking config, not
// the root's path or its shard format.
TEST_F(StreamSourceTest, TheFingerprintFollowsWhatTheBytesDependOn) {
  auto fingerprint = [](const std::string& dataset, const std::string& config) {
    absl::StatusOr<std::shared_ptr<const StreamSource>> s = Create(dataset, config);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? (*s)->fingerprint() : 0;
  };
  const uint64_t tok = fingerprint("tok", R"(preset: "4m-7-tokens")");
  EXPECT_EQ(tok, fingerprint("tok", R"(preset: "4m-7-tokens")"));
  EXPECT_EQ(tok, fingerprint("tok-mfs", R"(preset: "4m-7-tokens")")) << "tar and its .mfs";
  EXPECT_NE(tok, fingerprint("tok", R"(preset: "4m-7-tokens" input_tokens { max: 64 })"));
  EXPECT_EQ(tok, fingerprint("tok", R"(preset: "4m-7-tokens" input_tokens { max: 128 })"))
      << "the preset written out is the preset";
}

// A mixture's batch holds the sorted union of its datasets' modalities; a modality a dataset
// lacks is a placeholder of its rows; a modality defined two ways is refused.
TEST_F(StreamSourceTest, AMixtureLaysOutTheUnionOfItsDatasets) {
  absl::StatusOr<std::shared_ptr<const StreamSource>> raw =
      Create("raw", R"(preset: "4m-7")", Raw());
  absl::StatusOr<std::shared_ptr<const StreamSource>> tok =
      Create("tok", R"(preset: "4m-7-tokens")");
  ASSERT_TRUE(raw.ok() && tok.ok());
  absl::StatusOr<std::shared_ptr<const MixtureSource>> mix = MixtureSource::Create(
      {{.name = "tok", .weight = 1, .source = *tok}, {.name = "raw", .weight = 3, .source = *raw}});
  ASSERT_TRUE(mix.ok()) << mix.status();
  std::vector<std::string> names;
  for (const ModalitySpec& m : (*mix)->spec().modalities) names.push_back(m.name);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  const size_t rgb = *(*mix)->spec().FindModality("rgb@224");
  EXPECT_THAT((*mix)->missing_modalities(0), ElementsAre(rgb)) << "tok has no pixels";
  EXPECT_TRUE((*mix)->missing_modalities(1).empty());
  for (size_t m = 0; m < (*raw)->spec().modalities.size(); ++m) {
    EXPECT_EQ((*mix)->spec().modalities[(*mix)->global_modality(1, m)].name,
              (*raw)->spec().modalities[m].name);
  }
  const std::vector<OrderDataset> order = (*mix)->OrderDatasets();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[1].weight, 3);
  EXPECT_EQ(order[0].shard_samples.size(), 2u);
  EXPECT_EQ(order[0].shard_samples[0] + order[0].shard_samples[1], 24u);
  EXPECT_FALSE(order[0].fetched_on_demand);

  absl::StatusOr<std::shared_ptr<const StreamSource>> narrow = Create("tok", R"(
    modalities { name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 64 vocab_size: 30000 }
    mixture { input_alpha { key: "caption" value: 1 } target_alpha { key: "caption" value: 1 } })");
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  mix = MixtureSource::Create({{.name = "tok", .weight = 1, .source = *tok},
                               {.name = "narrow", .weight = 1, .source = *narrow}});
  EXPECT_EQ(mix.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(mix.status()), HasSubstr("(narrow) modality caption"));
}

}  // namespace
}  // namespace maskfeed
