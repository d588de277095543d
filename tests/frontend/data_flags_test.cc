// The data flags maskfeed-server and `maskfeed bench --in-process` share: what config they
// describe, what they refuse (naming the flag), and the flag names added to library errors.
#include "frontend/data_flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/status_fields.h"
#include "pipeline/base/strings.h"
#include "tests/testing/synth_fixture.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

class DataFlagsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    for (auto [preset, out] : {std::pair{SynthOptions::kRawPreset, "raw"},
                               std::pair{SynthOptions::kTokensPreset, "tok"}}) {
      ASSERT_NO_FATAL_FAILURE(testing::Synth(*dir_ / out, preset, 8, 1));
    }
    testing::WriteFile(*dir_ / "two.textproto",
                       StrCat("dataset { name: \"a\" path: \"", *dir_ / "tok",
                              "\" preset: \"4m-7-tokens\" }\ndataset { name: \"b\" path: \"",
                              *dir_ / "tok", "\" preset: \"4m-7-tokens\" window_shards: 3 }\n"));
  }
  static void TearDownTestSuite() { delete dir_; }

  static absl::StatusOr<v1::ServerConfig> FromFlags(
      std::vector<std::string> argv,
      const std::function<absl::StatusOr<std::string>()>& no_data = nullptr) {
    absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, WithDataFlags({}), WithDataSwitches({}));
    if (!args.ok()) return args.status();
    return DataConfigFromFlags(*args, no_data);
  }

  static TempDir* dir_;
};
TempDir* DataFlagsTest::dir_ = nullptr;

TEST_F(DataFlagsTest, ADataRootTakesTheDefaultsOfWhatItHolds) {
  absl::StatusOr<v1::ServerConfig> raw = FromFlags({"--data", *dir_ / "raw"});
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_EQ(raw->dataset_size(), 1);
  const v1::DatasetConfig& d = raw->dataset(0);
  EXPECT_EQ(d.name(), "default");
  EXPECT_EQ(d.preset(), "4m-7") << "it has an rgb folder";
  EXPECT_EQ(d.text_tokenizer(), *dir_ / "raw/tokenizer.json");
  EXPECT_EQ(d.main_augment_domain(), "rgb@224");

  absl::StatusOr<v1::ServerConfig> tok =
      FromFlags({"--data", *dir_ / "tok", "--fast-pixels", "--skip-corrupt", "--window-shards", "4",
                 "--cache-limit", "2G", "--canonical-nodes", "2", "--node-batch", "64"});
  ASSERT_TRUE(tok.ok()) << tok.status();
  const v1::DatasetConfig& t = tok->dataset(0);
  EXPECT_EQ(t.preset(), "4m-7-tokens");
  EXPECT_TRUE(t.fast_pixels());
  EXPECT_TRUE(t.skip_corrupt_records());
  EXPECT_EQ(t.window_shards(), 4u);
  EXPECT_EQ(t.canonical_nodes(), 2u);
  EXPECT_EQ(t.node_batch(), 64u);
  EXPECT_EQ(tok->storage().cache_limit_bytes(), uint64_t{2} << 30);
}

TEST_F(DataFlagsTest, PerDatasetFlagsApplyToEveryDatasetOfAConfig) {
  absl::StatusOr<v1::ServerConfig> c =
      FromFlags({"--config", *dir_ / "two.textproto", "--window-shards", "7"});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->dataset_size(), 2);
  EXPECT_EQ(c->dataset(0).window_shards(), 7u);
  EXPECT_EQ(c->dataset(1).window_shards(), 7u);
}

TEST_F(DataFlagsTest, NoDataIsTheCallersOrAnError) {
  absl::StatusOr<v1::ServerConfig> none = FromFlags({});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(none.status()), HasSubstr("no data: give --data DIR|URL, --config FILE"));
  absl::StatusOr<v1::ServerConfig> demo =
      FromFlags({}, [] { return absl::StatusOr<std::string>(*dir_ / "tok"); });
  ASSERT_TRUE(demo.ok()) << demo.status();
  EXPECT_EQ(demo->dataset(0).name(), "demo");
}

TEST_F(DataFlagsTest, BadCombinationsNameTheirFlags) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--data", *dir_ / "tok", "--canonical-nodes", "2"},
       "--canonical-nodes and --node-batch go together"},
      {{"--data", *dir_ / "tok", "--config", *dir_ / "two.textproto"},
       "--data and --config: give one or the other"},
      {{"--config", *dir_ / "two.textproto", "--preset", "4m-7"}, "--preset goes with --data"},
      {{"--data", *dir_ / "tok", "--4m-root", "/x"}, "go with --4m-config"},
      {{"--config", *dir_ / "two.textproto", "--main-augment-domain", "rgb@224"},
       "--main-augment-domain goes with --data"},
      {{"--data", *dir_ / "tok", "--window-shards", "0"}, "--window-shards"},
      {{"--data", *dir_ / "tok", "--cache-limit", "lots"}, "--cache-limit"},
  };
  for (const auto& [argv, message] : cases) {
    absl::StatusOr<v1::ServerConfig> c = FromFlags(argv);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_THAT(Message(c.status()), HasSubstr(message));
  }
}

TEST_F(DataFlagsTest, LibraryErrorsGetTheFlagsOfTheirFields) {
  const absl::Status plain = absl::FailedPreconditionError("something");
  EXPECT_EQ(WithFlagHints(plain), plain) << "no fields: unchanged";
  const absl::Status fields =
      WithFields(absl::FailedPreconditionError("use shard windows (window_shards)"),
                 {"window_shards", "storage.cache_limit_bytes"});
  const absl::Status hinted = WithFlagHints(fields);
  EXPECT_EQ(hinted.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Message(hinted),
            "use shard windows (window_shards); flags: --window-shards K, --cache-limit BYTES");
  EXPECT_EQ(FieldsOf(hinted), FieldsOf(fields)) << "the fields stay with the status";

  absl::StatusOr<CliArgs> args =
      CliArgs::Parse({"--json", "--fast-pixels"}, WithDataFlags({}), WithDataSwitches({"json"}));
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(FirstDataFlag(*args), "fast-pixels");
}

}  // namespace
}  // namespace maskfeed
