#include "pipeline/order/mixture_order.h"

#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::testing::HasSubstr;

OrderOptions Options(uint32_t repeats = 1) {
  OrderOptions o;
  o.seed = 5;
  o.n_repeats = repeats;
  return o;
}

TEST(MixtureOrderTest, OneDatasetIsExactlySampleOrder) {
  absl::StatusOr<MixtureOrder> mixture = MixtureOrder::Create({1}, {77}, Options(2));
  ASSERT_TRUE(mixture.ok()) << mixture.status();
  OrderOptions o = Options(2);
  o.num_samples = 77;
  SampleOrder single(o);
  for (uint64_t p = 0; p < 500; ++p) {
    const MixtureView v = mixture->At(p);
    ASSERT_EQ(v.dataset, 0u);
    ASSERT_EQ(v.view.sample, single.At(p).sample);
    ASSERT_EQ(v.view.repeat, single.At(p).repeat);
  }
}

TEST(MixtureOrderTest, FrequenciesFollowWeightsExactlyPerBlock) {
  absl::StatusOr<MixtureOrder> mixture =
      MixtureOrder::Create({1, 3, 0.5}, {100, 37, 500}, Options());
  ASSERT_TRUE(mixture.ok()) << mixture.status();
  // 1024 slots: 1/4.5, 3/4.5, 0.5/4.5 of them, by largest remainders.
  EXPECT_EQ(mixture->slots(), (std::vector<uint64_t>{227, 683, 114}));
  for (uint64_t block = 0; block < 4; ++block) {
    std::vector<uint64_t> counts(3);
    for (uint64_t p = block * kMixtureBlock; p < (block + 1) * kMixtureBlock; ++p) {
      ++counts[mixture->At(p).dataset];
    }
    EXPECT_EQ(counts, mixture->slots()) << "block " << block;
  }
}

TEST(MixtureOrderTest, EachDatasetVisitsItsSamplesOncePerItsEpoch) {
  const std::vector<uint64_t> sizes = {100, 37};
  absl::StatusOr<MixtureOrder> mixture = MixtureOrder::Create({1, 1}, sizes, Options());
  ASSERT_TRUE(mixture.ok());
  std::map<std::pair<uint32_t, uint64_t>, std::multiset<uint64_t>> seen;  // (dataset, epoch)
  for (uint64_t p = 0; p < 4 * kMixtureBlock; ++p) {
    const MixtureView v = mixture->At(p);
    seen[{v.dataset, v.view.epoch}].insert(v.view.sample);
  }
  for (uint32_t d = 0; d < 2; ++d) {
    for (uint64_t epoch = 0; epoch < 10; ++epoch) {  // complete epochs of either dataset
      const std::multiset<uint64_t>& s = seen[{d, epoch}];
      ASSERT_EQ(s.size(), sizes[d]) << "dataset " << d << " epoch " << epoch;
      ASSERT_EQ(std::set<uint64_t>(s.begin(), s.end()).size(), sizes[d]);
    }
  }
}

TEST(MixtureOrderTest, EachDatasetRepeatsItsOwnSamplesByItsOwnCount) {
  // 4M repeats each dataset's samples in that dataset's own pipeline, by its own
  // wds_n_repeats, before the mixture picks from them.
  const std::vector<uint64_t> sizes = {2000, 3000};
  const std::vector<uint32_t> repeats = {4, 1};
  absl::StatusOr<MixtureOrder> mixture =
      MixtureOrder::Create({2, 1}, sizes, Options(), {}, repeats);
  ASSERT_TRUE(mixture.ok()) << mixture.status();
  // (dataset, epoch) -> its (sample, copy) pairs
  std::map<std::pair<uint32_t, uint64_t>, std::multiset<std::pair<uint64_t, uint32_t>>> seen;
  int adjacent = 0;
  for (uint64_t p = 0; p < 30 * kMixtureBlock; ++p) {
    const MixtureView v = mixture->At(p);
    seen[{v.dataset, v.view.epoch}].insert({v.view.sample, v.view.repeat});
    if (p > 0) {
      const MixtureView before = mixture->At(p - 1);
      adjacent += v.dataset == before.dataset && v.view.sample == before.view.sample;
    }
  }
  for (uint32_t d = 0; d < 2; ++d) {
    for (uint64_t epoch = 0; epoch < 2; ++epoch) {  // complete epochs of either dataset
      const auto& copies = seen[{d, epoch}];
      ASSERT_EQ(copies.size(), sizes[d] * repeats[d]) << "dataset " << d << " epoch " << epoch;
      ASSERT_EQ(std::set(copies.begin(), copies.end()).size(), copies.size())
          << "each copy of each sample once";
      for (const auto& [sample, copy] : copies) ASSERT_LT(copy, repeats[d]);
    }
  }
  EXPECT_LT(adjacent, 8) << "copies are spread, not consecutive";
  EXPECT_THAT(Message(MixtureOrder::Create({1, 1}, sizes, Options(), {}, {2}).status()),
              HasSubstr("repeats: 1 values for 2 datasets"));
  EXPECT_THAT(Message(MixtureOrder::Create({1, 1}, sizes, Options(), {}, {2, 0}).status()),
              HasSubstr("datasets[1].n_repeats"));
}

TEST(MixtureOrderTest, InvalidMixturesNameTheField) {
  EXPECT_THAT(Message(MixtureOrder::Create({}, {}, Options()).status()), HasSubstr("datasets"));
  EXPECT_THAT(Message(MixtureOrder::Create({1, 0}, {5, 5}, Options()).status()),
              HasSubstr("datasets[1].weight: must be > 0"));
  // Two finite weights whose sum is not: every share would round to 0 slots.
  EXPECT_THAT(Message(MixtureOrder::Create({1e308, 1e308}, {5, 5}, Options()).status()),
              HasSubstr("sum to more than a double holds"));
  EXPECT_THAT(Message(MixtureOrder::Create({1, INFINITY}, {5, 5}, Options()).status()),
              HasSubstr("datasets[1].weight"));
  EXPECT_THAT(Message(MixtureOrder::Create({1, 1e-6}, {5, 5}, Options()).status()),
              HasSubstr("would never be read"));
  EXPECT_THAT(Message(MixtureOrder::Create({1, 1}, {5, 0}, Options()).status()),
              HasSubstr("datasets[1]: is empty"));
  OrderOptions epochs = Options();
  epochs.epoch_size = 10;
  EXPECT_THAT(Message(MixtureOrder::Create({1, 1}, {5, 5}, epochs).status()),
              HasSubstr("epoch_size: applies to single-dataset streams"));
}

}  // namespace
}  // namespace maskfeed
