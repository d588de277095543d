// The assembly path alone: a config's datasets and mixtures opened into what streams read —
// their orders, shared tokenizers, storage and hold budgets — and what it refuses, naming the
// dataset or mixture; overrides of a stream's token totals.
#include "pipeline/source/served_source.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/status_fields.h"
#include "pipeline/base/strings.h"
#include "pipeline/source/data_config.h"
#include "pipeline/storage/s3_client.h"
#include "tests/testing/moto_server.h"
#include "tests/testing/synth_fixture.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

namespace fs = std::filesystem;
using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ServedSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    for (auto [preset, out] : {std::pair{SynthOptions::kRawPreset, "raw"},
                               std::pair{SynthOptions::kTokensPreset, "tok"}}) {
      ASSERT_NO_FATAL_FAILURE(testing::Synth(*dir_ / out, preset, 32, 2, ShardFormat::kMfs));
    }
  }
  static void TearDownTestSuite() { delete dir_; }

  // `text` with {raw} and {tok} replaced by the two roots, finalized as every front end does.
  static v1::ServerConfig Config(std::string text) {
    for (auto [key, value] :
         {std::pair{"{raw}", *dir_ / "raw"}, std::pair{"{tok}", *dir_ / "tok"}}) {
      for (size_t at = text.find(key); at != std::string::npos; at = text.find(key)) {
        text.replace(at, std::string(key).size(), value);
      }
    }
    absl::StatusOr<v1::ServerConfig> config = ParseServerConfig(text);
    EXPECT_TRUE(config.ok()) << config.status();
    EXPECT_TRUE(FinalizeDataConfig(&*config).ok()) << text;
    return *config;
  }

  absl::StatusOr<std::vector<ServedSource>> Open(const std::string& text) {
    return OpenServedSources(Config(text), &arena_);
  }

  static TempDir* dir_;
  tbb::task_arena arena_{2};
};
TempDir* ServedSourceTest::dir_ = nullptr;

constexpr char kRawDataset[] =
    R"(dataset { name: "%s" path: "{raw}" preset: "4m-7" text_tokenizer: "{raw}/tokenizer.json"
                 main_augment_domain: "rgb@224" })";

std::string RawDataset(const std::string& name) {
  std::string s = kRawDataset;
  return s.replace(s.find("%s"), 2, name);
}

TEST_F(ServedSourceTest, DatasetsThenMixturesWithTheirOrders) {
  absl::StatusOr<std::vector<ServedSource>> served = Open(RawDataset("a") + RawDataset("b") + R"(
        dataset { name: "t" path: "{tok}" preset: "4m-7-tokens" skip_corrupt_records: true
                  n_repeats: 2 }
        mixture { name: "m" component { dataset: "t" weight: 1 } component { dataset: "a" weight: 3 } }
      )");
  ASSERT_TRUE(served.ok()) << served.status();
  std::vector<std::string> names;
  for (const ServedSource& s : *served) names.push_back(s.name);
  EXPECT_THAT(names, ElementsAre("a", "b", "t", "m"));
  const ServedSource& a = (*served)[0];
  const ServedSource& b = (*served)[1];
  const ServedSource& t = (*served)[2];
  const ServedSource& m = (*served)[3];
  EXPECT_EQ(a.preset, "4m-7");
  EXPECT_EQ(a.components.front().raw.tokenizer, b.components.front().raw.tokenizer)
      << "datasets naming the same tokenizer file share one";
  EXPECT_NE(a.components.front().raw.tokenizer, nullptr);
  EXPECT_EQ(t.order.n_repeats, 2u);
  EXPECT_TRUE(t.skip_corrupt);
  EXPECT_EQ(a.storage, nullptr) << "local data has no storage to report";
  EXPECT_EQ(a.hold_budget_bytes, 0u);
  // The mixture: its components in config order with their weights, one order (repeats
  // disagree: 1), the first component's preset, skipping corrupt records only if all do.
  ASSERT_EQ(m.components.size(), 2u);
  EXPECT_EQ(m.components[0].name, "t");
  EXPECT_EQ(m.components[1].weight, 3);
  EXPECT_EQ(m.mixture->num_datasets(), 2u);
  EXPECT_EQ(m.order.n_repeats, 1u);
  EXPECT_EQ(m.preset, "4m-7-tokens");
  EXPECT_FALSE(m.skip_corrupt);
}

// A dataset's random_crop (how data without crop_settings is cropped) reaches its readers,
// 4M's defaults filling what it leaves unset; a range that is not one is refused.
TEST_F(ServedSourceTest, RandomCropSettingsReachTheReadersAndAreChecked) {
  absl::StatusOr<std::vector<ServedSource>> served = Open(
      R"(dataset { name: "c" path: "{raw}" preset: "4m-7" text_tokenizer: "{raw}/tokenizer.json"
                   main_augment_domain: "rgb@224"
                   random_crop { scale_min: 0.5 scale_max: 0.9 hflip: 0 } })");
  ASSERT_TRUE(served.ok()) << served.status();
  const RandomCropParams& crop = (*served)[0].components.front().raw.random_crop;
  EXPECT_EQ(crop.scale_min, 0.5);
  EXPECT_EQ(crop.scale_max, 0.9);
  EXPECT_EQ(crop.ratio_min, 0.75);  // 4M's default
  EXPECT_EQ(crop.ratio_max, 1.3333);
  EXPECT_EQ(crop.hflip, 0.0);  // set to 0, not left at 0.5
  EXPECT_FALSE((*served)[0].components.front().raw.center_crop);
  absl::StatusOr<v1::ServerConfig> bad = ParseServerConfig(
      R"(dataset { name: "c" path: "/x" preset: "4m-7" random_crop { ratio_min: 2 ratio_max: 1 } })");
  ASSERT_TRUE(bad.ok());
  const absl::Status refused = FinalizeDataConfig(&*bad);
  EXPECT_THAT(Message(refused), HasSubstr("dataset[0].random_crop.ratio_min, ratio_max: 2, 1"));
}

TEST_F(ServedSourceTest, RefusalsNameTheDatasetOrMixture) {
  struct Case {
    std::string config;
    absl::StatusCode code;
    std::string message;
  } cases[] = {
      {R"(dataset { name: "gone" path: "/nonexistent/data" preset: "4m-7-tokens" })",
       absl::StatusCode::kNotFound, "dataset 'gone': dataset root /nonexistent/data"},
      {R"(dataset { name: "tk" path: "{raw}" preset: "4m-7" text_tokenizer: "/nonexistent/t.json"
                    main_augment_domain: "rgb@224" })",
       absl::StatusCode::kNotFound, "dataset 'tk': "},
      {R"(dataset { name: "few" path: "{tok}" preset: "4m-7-tokens" canonical_nodes: 5
                    node_batch: 8 })",
       absl::StatusCode::kInvalidArgument,
       "dataset 'few': canonical_nodes: 5 is more than the dataset's 2 shards"},
      {R"(dataset { name: "x" path: "{tok}" preset: "4m-7-tokens" window_shards: 1 }
          dataset { name: "y" path: "{tok}" preset: "4m-7-tokens" }
          mixture { name: "xy" component { dataset: "x" weight: 1 } component { dataset: "y" weight: 1 } })",
       absl::StatusCode::kInvalidArgument,
       "mixture 'xy': its datasets differ in window_shards (1 for 'x', 0 for 'y')"},
      {R"(dataset { name: "x" path: "{tok}" preset: "4m-7-tokens" canonical_nodes: 2 node_batch: 8 }
          dataset { name: "y" path: "{tok}" preset: "4m-7-tokens" canonical_nodes: 2 node_batch: 8 }
          mixture { name: "xy" component { dataset: "x" weight: 1 } component { dataset: "y" weight: 1 } })",
       absl::StatusCode::kInvalidArgument,
       "mixture 'xy': canonical_nodes: applies to single-dataset streams"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<ServedSource>> served = Open(c.config);
    EXPECT_EQ(served.status().code(), c.code) << c.config << "\n" << served.status();
    EXPECT_THAT(Message(served.status()), HasSubstr(c.message));
  }
}

TEST_F(ServedSourceTest, OverridesOfTheTokenTotalsMakeASourceOfTheirOwn) {
  absl::StatusOr<std::vector<ServedSource>> served =
      Open(R"(dataset { name: "t" path: "{tok}" preset: "4m-7-tokens" })");
  ASSERT_TRUE(served.ok()) << served.status();
  const ServedSource& t = served->front();
  absl::StatusOr<std::shared_ptr<const MixtureSource>> same = SourceWithOverrides(t, {});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, t.mixture) << "nothing overridden: the served source itself";
  v1::StreamOverrides overrides;
  overrides.set_input_tokens(64);
  absl::StatusOr<std::shared_ptr<const MixtureSource>> narrower = SourceWithOverrides(t, overrides);
  ASSERT_TRUE(narrower.ok()) << narrower.status();
  const MaskingSpec& spec = (*narrower)->entry(0).source->spec();
  EXPECT_EQ(spec.input_min, 64);
  EXPECT_EQ(spec.input_max, 64);
  EXPECT_NE((*narrower)->fingerprint(), t.mixture->fingerprint());
  overrides.set_input_tokens(99999);
  absl::StatusOr<std::shared_ptr<const MixtureSource>> too_many = SourceWithOverrides(t, overrides);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(too_many.status()), HasSubstr("overrides.input_tokens: 99999 exceeds"));
}

// A dataset in object storage (a real S3 server): the shard cache behind it reports through
// the source, streams hold at most the cache limit, and a global order over more data than
// the limit is refused when the source opens, naming the fields a front end has flags for.
TEST_F(ServedSourceTest, RemoteDataHasStorageAndAHoldBudget) {
  TempDir dir;
  std::unique_ptr<testing::MotoServer> moto = testing::MotoServer::Start(dir / "moto.log");
  if (moto == nullptr) GTEST_SKIP() << "moto_server is not installed";
  std::unique_ptr<S3Client> s3 = moto->ClientWithBucket("data");
  ASSERT_NE(s3, nullptr);
  uint64_t total = 0;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(*dir_ / "tok")) {
    if (!e.is_regular_file()) continue;
    total += e.file_size();
    ASSERT_TRUE(s3->Put("data", StrCat("tok/", fs::relative(e.path(), *dir_ / "tok").string()),
                        testing::ReadFile(e.path().string()))
                    .ok());
  }
  const std::string storage =
      StrCat("storage { cache_dir: \"", dir / "cache", "\" cache_limit_bytes: ", total / 2, " }");
  absl::StatusOr<std::vector<ServedSource>> served =
      Open(R"(dataset { name: "r" path: "s3://data/tok" preset: "4m-7-tokens" window_shards: 1 })" +
           storage);
  ASSERT_TRUE(served.ok()) << served.status();
  const ServedSource& r = served->front();
  ASSERT_NE(r.storage, nullptr);
  EXPECT_EQ(r.hold_budget_bytes, total / 2);
  EXPECT_EQ(r.storage->State().cache_dir(), dir / "cache");
  EXPECT_EQ(r.storage->State().cache_limit_bytes(), total / 2);

  served = Open(R"(dataset { name: "g" path: "s3://data/tok" preset: "4m-7-tokens" })" + storage);
  EXPECT_EQ(served.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(served.status()), HasSubstr("dataset 'g': dataset s3://data/tok"));
  EXPECT_THAT(Message(served.status()), HasSubstr("a global shuffle needs every shard at hand"));
  EXPECT_THAT(FieldsOf(served.status()), ElementsAre("window_shards", "storage.cache_limit_bytes"))
      << "the front end names its flags for them";
}

}  // namespace
}  // namespace maskfeed
