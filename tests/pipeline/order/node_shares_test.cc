#include "pipeline/order/node_shares.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/order/mixture_order.h"
#include "pipeline/order/sample_order.h"

namespace maskfeed {
namespace {

using ::testing::HasSubstr;

const std::vector<uint64_t> kUneven = {7, 1, 30, 12, 12, 5, 40, 3, 9, 21, 2, 16, 16, 8};

std::shared_ptr<const NodeShares> Make(const std::vector<uint64_t>& sizes,
                                       const NodeShareOptions& o) {
  absl::StatusOr<std::shared_ptr<const NodeShares>> n = NodeShares::Create(sizes, o);
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : nullptr;
}

uint64_t Total(const std::vector<uint64_t>& sizes) {
  uint64_t n = 0;
  for (uint64_t s : sizes) n += s;
  return n;
}

uint32_t ShardOf(const std::vector<uint64_t>& sizes, uint64_t sample) {
  uint32_t s = 0;
  while (sample >= sizes[s]) sample -= sizes[s++];
  return s;
}

SampleOrder OrderOver(const std::vector<uint64_t>& sizes, std::shared_ptr<const NodeShares> n,
                      uint32_t repeats = 1, bool shuffle = true) {
  const OrderOptions o{.num_samples = Total(sizes),
                       .seed = 11,
                       .n_repeats = repeats,
                       .epoch_size = 0,
                       .shuffle = shuffle,
                       .windowed = nullptr,
                       .nodes = std::move(n)};
  EXPECT_TRUE(o.Validate().ok()) << o.Validate();
  return SampleOrder(o);
}

// Every shard in exactly one share; the shares' sample counts within one shard of each other;
// the deal follows the seed.
TEST(NodeSharesTest, SharesPartitionTheShardsAndBalanceTheirSamples) {
  for (uint32_t nodes : {1u, 2u, 3u, 5u, 14u}) {
    const auto shares = Make(kUneven, {.nodes = nodes, .node_batch = 4, .seed = 5});
    ASSERT_NE(shares, nullptr);
    std::vector<int> owners(kUneven.size(), 0);
    uint64_t least = UINT64_MAX, most = 0;
    for (uint32_t c = 0; c < nodes; ++c) {
      uint64_t n = 0;
      for (uint32_t s : shares->shards(c)) {
        ++owners[s];
        n += kUneven[s];
      }
      EXPECT_EQ(n, shares->share_samples(c));
      EXPECT_FALSE(shares->shards(c).empty()) << "node " << c;
      least = std::min(least, n);
      most = std::max(most, n);
    }
    for (size_t s = 0; s < owners.size(); ++s) EXPECT_EQ(owners[s], 1) << "shard " << s;
    EXPECT_LE(most - least, 40u) << nodes << " nodes: within the largest shard";
  }
  // Equal shards, a multiple of the nodes: equal shares.
  const auto even = Make(std::vector<uint64_t>(12, 10), {.nodes = 4, .node_batch = 1, .seed = 5});
  for (uint32_t c = 0; c < 4; ++c) EXPECT_EQ(even->share_samples(c), 30u);
  // Another seed deals differently; the same seed the same.
  const auto a = Make(kUneven, {.nodes = 3, .node_batch = 4, .seed = 5});
  const auto b = Make(kUneven, {.nodes = 3, .node_batch = 4, .seed = 5});
  const auto other = Make(kUneven, {.nodes = 3, .node_batch = 4, .seed = 6});
  EXPECT_EQ(a->shards(0), b->shards(0));
  EXPECT_NE(std::make_tuple(a->shards(0), a->shards(1)),
            std::make_tuple(other->shards(0), other->shards(1)));
}

// Read in global positions, each node reads every sample of its share n_repeats times (in a
// row) per node epoch, and only its share: windowed or not, shuffled or not.
TEST(NodeSharesTest, EachNodeReadsItsShareOncePerNodeEpoch) {
  for (uint32_t window : {0u, 1u, 2u}) {
    for (uint32_t repeats : {1u, 3u}) {
      for (bool shuffle : {true, false}) {
        const auto shares =
            Make(kUneven, {.nodes = 3, .node_batch = 6, .window_shards = window, .seed = 2});
        const SampleOrder order = OrderOver(kUneven, shares, repeats, shuffle);
        std::map<uint32_t, std::vector<SampleView>> by_node;
        std::set<std::tuple<uint64_t, uint64_t, uint32_t>> keys;  // (epoch, slot, repeat)
        for (uint64_t p = 0; p < 2 * Total(kUneven) * repeats; ++p) {
          const SampleView v = order.At(p);
          by_node[shares->Locate(p).node].push_back(v);
          EXPECT_TRUE(keys.insert({v.epoch, v.slot, v.repeat}).second) << "position " << p;
        }
        for (uint32_t c = 0; c < 3; ++c) {
          const std::vector<SampleView>& views = by_node[c];
          const uint64_t epoch_views = shares->share_samples(c) * repeats;
          ASSERT_GE(views.size(), epoch_views) << "node " << c;
          std::multiset<uint64_t> seen;
          const std::set<uint32_t> own(shares->shards(c).begin(), shares->shards(c).end());
          for (uint64_t i = 0; i < epoch_views; ++i) {
            ASSERT_EQ(views[i].epoch, 0u);
            ASSERT_LT(views[i].repeat, repeats);
            ASSERT_EQ(own.count(ShardOf(kUneven, views[i].sample)), 1u) << "node " << c;
            seen.insert(views[i].sample);
          }
          for (uint64_t s : seen) ASSERT_EQ(seen.count(s), repeats) << "node " << c;
          EXPECT_EQ(seen.size(), epoch_views);
          if (views.size() > epoch_views) {
            EXPECT_EQ(views[epoch_views].epoch, 1u);
          }
        }
      }
    }
  }
}

// The point of the shares: with G contiguous ranks per host, per-rank batch B, node_batch
// G * B and a number of hosts that is a multiple of the nodes, every row a host's ranks read
// comes from its node's shards; the global sequence is the same whatever the world size.
// With another node_batch the hosts do cross into other shares.
TEST(NodeSharesTest, HostsReadOnlyTheirNodesShards) {
  constexpr uint32_t kNodes = 2, kBatch = 4;
  std::vector<uint64_t> global;
  for (uint32_t ranks_per_host : {1u, 2u, 3u}) {
    for (uint32_t hosts : {2u, 4u, 6u}) {
      const auto shares = Make(kUneven, {.nodes = kNodes,
                                         .node_batch = uint64_t{ranks_per_host} * kBatch,
                                         .window_shards = 2,
                                         .seed = 9});
      const SampleOrder order = OrderOver(kUneven, shares);
      const uint32_t world = hosts * ranks_per_host;
      for (uint32_t h = 0; h < hosts; ++h) {
        const std::set<uint32_t> own(shares->shards(h % kNodes).begin(),
                                     shares->shards(h % kNodes).end());
        for (uint32_t r = h * ranks_per_host; r < (h + 1) * ranks_per_host; ++r) {
          for (uint64_t k = 0; k * world * kBatch < 3 * Total(kUneven); ++k) {
            for (uint32_t row = 0; row < kBatch; ++row) {
              const uint64_t sample = order.At(StreamPosition(k, r, world, kBatch, row)).sample;
              ASSERT_EQ(own.count(ShardOf(kUneven, sample)), 1u)
                  << ranks_per_host << " ranks x " << hosts << " hosts: rank " << r;
            }
          }
        }
      }
    }
  }
  // World sizes 4 and 8 (2 ranks per host) read one global sequence.
  const auto shares = Make(kUneven, {.nodes = kNodes, .node_batch = 8, .seed = 9});
  const SampleOrder order = OrderOver(kUneven, shares);
  for (uint32_t world : {4u, 8u}) {
    std::vector<uint64_t> sequence;
    for (uint64_t k = 0; sequence.size() < 400; ++k) {
      for (uint32_t r = 0; r < world; ++r) {
        for (uint32_t row = 0; row < kBatch; ++row) {
          sequence.push_back(order.At(StreamPosition(k, r, world, kBatch, row)).sample);
        }
      }
    }
    sequence.resize(400);
    if (global.empty()) global = sequence;
    EXPECT_EQ(sequence, global) << "world " << world;
  }
  // node_batch = one rank's batch while hosts run 2 ranks: host 0 reads both shares.
  const auto misfit = Make(kUneven, {.nodes = kNodes, .node_batch = kBatch, .seed = 9});
  const SampleOrder crossing = OrderOver(kUneven, misfit);
  std::set<uint32_t> host0;
  for (uint32_t r = 0; r < 2; ++r) {
    for (uint32_t row = 0; row < kBatch; ++row) {
      host0.insert(ShardOf(kUneven, crossing.At(StreamPosition(0, r, 4, kBatch, row)).sample));
    }
  }
  std::set<uint32_t> owners;
  for (uint32_t s : host0) {
    for (uint32_t c = 0; c < kNodes; ++c) {
      if (std::count(misfit->shards(c).begin(), misfit->shards(c).end(), s) > 0) owners.insert(c);
    }
  }
  EXPECT_EQ(owners.size(), 2u) << "host 0 reads both nodes' shards";
}

TEST(NodeSharesTest, RefusesWhatCannotWork) {
  auto status = [](const std::vector<uint64_t>& sizes, const NodeShareOptions& o) {
    return NodeShares::Create(sizes, o).status();
  };
  EXPECT_THAT(status({5, 5}, {.nodes = 3, .node_batch = 1}).message(),
              HasSubstr("canonical_nodes: 3 is more than the dataset's 2 shards"));
  EXPECT_THAT(status({5, 5}, {.nodes = 2, .node_batch = 0}).message(), HasSubstr("node_batch"));
  EXPECT_THAT(status({5, 0}, {.nodes = 2, .node_batch = 1}).message(), HasSubstr("shards[1]"));
  const auto shares = Make({5, 5}, {.nodes = 2, .node_batch = 1});
  OrderOptions o{.num_samples = 10,
                 .seed = 1,
                 .n_repeats = 1,
                 .epoch_size = 4,
                 .shuffle = true,
                 .windowed = nullptr,
                 .nodes = shares};
  EXPECT_THAT(o.Validate().message(), HasSubstr("epoch_size"));
  o.epoch_size = 0;
  o.num_samples = 11;
  EXPECT_THAT(o.Validate().message(), HasSubstr("canonical_nodes"));
  o.num_samples = 10;
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_THAT(MixtureOrder::Create({1, 1}, {10, 10}, o).status().message(),
              HasSubstr("single-dataset"));
}

}  // namespace
}  // namespace maskfeed
