// OrderSpec: checked once with messages naming the field; a mixture's order from its
// datasets'; a stream's overrides; what a resume token's fingerprint takes of it; and the
// order BuildOrder makes, including what it refuses for data fetched on demand.
#include "pipeline/order/order_spec.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/status_fields.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

OrderDataset Dataset(std::vector<uint64_t> samples, uint64_t bytes_per_shard, bool remote) {
  OrderDataset d;
  d.root = "s3://b/data";
  d.shard_samples = std::move(samples);
  d.shard_bytes.assign(d.shard_samples.size(), bytes_per_shard);
  d.fetched_on_demand = remote;
  return d;
}

TEST(OrderSpecTest, ValidateNamesTheField) {
  EXPECT_TRUE(OrderSpec{}.Validate().ok());
  const std::pair<OrderSpec, std::string> cases[] = {
      {{.n_repeats = 0}, "n_repeats: must be in 1..1024, got 0"},
      {{.window_shards = 70000}, "window_shards: 70000 is over 65536"},
      {{.canonical_nodes = 70000, .node_batch = 8}, "canonical_nodes: 70000 is over 65536"},
      {{.canonical_nodes = 2}, "node_batch: 0"},
  };
  for (const auto& [spec, message] : cases) {
    EXPECT_EQ(spec.Validate().code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_THAT(Message(spec.Validate()), HasSubstr(message));
  }
}

TEST(OrderSpecTest, FromConfigOverridesAndDescription) {
  v1::DatasetConfig config;
  config.set_window_shards(4);
  config.set_canonical_nodes(2);
  config.set_node_batch(64);
  OrderSpec spec = OrderSpecFromConfig(config);
  EXPECT_EQ(spec.n_repeats, 1u) << "0 means 1";
  EXPECT_EQ(spec.window_shards, 4u);
  EXPECT_TRUE(spec.shares());
  EXPECT_EQ(spec.WindowPositions(100), 800u) << "a window of 4 shards spread over 2 nodes";

  v1::StreamOverrides overrides;
  overrides.set_n_repeats(3);
  overrides.set_epoch_size(500);
  absl::StatusOr<OrderSpec> o = WithOverrides(spec, overrides, 16);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->n_repeats, 3u);
  EXPECT_EQ(o->epoch_size, 500u);
  overrides.set_n_repeats(17);
  EXPECT_THAT(Message(WithOverrides(spec, overrides, 16).status()),
              HasSubstr("overrides.n_repeats: 17 exceeds this server's limit of 16"));

  v1::DatasetDescription d;
  DescribeOrder(spec, &d);
  EXPECT_EQ(d.window_shards(), 4u);
  EXPECT_EQ(d.canonical_nodes(), 2u);
  EXPECT_EQ(d.node_batch(), 64u);
}

TEST(OrderSpecTest, AMixtureStreamsOneOrder) {
  absl::StatusOr<OrderSpec> m = MixtureOrderSpec(
      {"a", "b"}, {{.n_repeats = 2, .window_shards = 8}, {.n_repeats = 2, .window_shards = 8}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->n_repeats, 2u);
  m = MixtureOrderSpec({"a", "b"}, {{.n_repeats = 2}, {.n_repeats = 4}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->n_repeats, 1u) << "repeats that disagree fall back to 1";
  m = MixtureOrderSpec({"a", "b"}, {{.window_shards = 8}, {}});
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(m.status()),
              HasSubstr("its datasets differ in window_shards (8 for 'a', 0 for 'b')"));
}

// Tokens of streams that leave a later setting alone keep their fingerprint; each setting
// that changes the sequence changes it.
TEST(OrderSpecTest, TheFingerprintTakesWhatChangesTheSequence) {
  const uint64_t base = OrderFingerprint(42, 7, {}, false);
  EXPECT_EQ(base, OrderFingerprint(42, 7, {.node_batch = 8}, false)) << "no shares: ignored";
  EXPECT_EQ(base, OrderFingerprint(42, 7, {.canonical_nodes = 1, .node_batch = 8}, false));
  std::set<uint64_t> seen = {base};
  for (const OrderSpec& spec :
       {OrderSpec{.n_repeats = 2}, OrderSpec{.epoch_size = 10}, OrderSpec{.shuffle = false},
        OrderSpec{.window_shards = 4}, OrderSpec{.canonical_nodes = 2, .node_batch = 8},
        OrderSpec{.canonical_nodes = 2, .node_batch = 16}}) {
    EXPECT_TRUE(seen.insert(OrderFingerprint(42, 7, spec, false)).second);
  }
  EXPECT_TRUE(seen.insert(OrderFingerprint(42, 8, {}, false)).second) << "the seed";
  EXPECT_TRUE(seen.insert(OrderFingerprint(43, 7, {}, false)).second) << "the source";
  EXPECT_TRUE(seen.insert(OrderFingerprint(42, 7, {}, true)).second) << "int64 tokens";
}

TEST(OrderSpecTest, BuildOrderRefusesAGlobalOrderBeyondTheHoldBudget) {
  const std::vector<OrderDataset> remote = {Dataset({100, 100, 100, 100}, 1000, true)};
  // Every sample once per epoch, in windows or not.
  for (const OrderSpec& spec : {OrderSpec{}, OrderSpec{.window_shards = 2}}) {
    absl::StatusOr<MixtureOrder> order = BuildOrder(spec, 3, remote, 0);
    ASSERT_TRUE(order.ok()) << order.status();
    std::set<uint64_t> samples;
    for (uint64_t p = 0; p < 400; ++p) samples.insert(order->At(p).view.sample);
    EXPECT_EQ(samples.size(), 400u);
  }
  // A global order over 4000 on-demand bytes needs them all at hand.
  absl::StatusOr<MixtureOrder> refused = BuildOrder({}, 3, remote, 3999);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(refused.status()), HasSubstr("dataset s3://b/data (4000 bytes)"));
  EXPECT_THAT(FieldsOf(refused.status()),
              ElementsAre("window_shards", "storage.cache_limit_bytes"));
  EXPECT_TRUE(BuildOrder({.window_shards = 2}, 3, remote, 3999).ok()) << "windows fit";
  EXPECT_TRUE(BuildOrder({}, 3, {Dataset({100, 100}, 1000, false)}, 1).ok()) << "local data";
  // With shares a host needs its node's share: 2 of 4 shards.
  EXPECT_TRUE(BuildOrder({.canonical_nodes = 2, .node_batch = 8}, 3, remote, 2000).ok());
  refused = BuildOrder({.canonical_nodes = 2, .node_batch = 8}, 3, remote, 1999);
  EXPECT_THAT(Message(refused.status()), HasSubstr("(2000 bytes in a node's share)"));
  // Shares of a mixture: refused by the mixture order.
  refused = BuildOrder({.canonical_nodes = 2, .node_batch = 8}, 3, {remote[0], remote[0]}, 0);
  EXPECT_THAT(Message(refused.status()), HasSubstr("canonical_nodes: applies to single-dataset"));
}

}  // namespace
}  // namespace maskfeed
