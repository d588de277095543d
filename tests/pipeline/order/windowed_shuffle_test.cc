#include "pipeline/order/windowed_shuffle.h"

#include <algorithm>
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace maskfeed {
namespace {

std::shared_ptr<const WindowedShuffle> Make(std::vector<uint64_t> sizes, uint32_t window) {
  absl::StatusOr<std::shared_ptr<const WindowedShuffle>> w =
      WindowedShuffle::Create(std::move(sizes), window);
  EXPECT_TRUE(w.ok()) << w.status();
  return *w;
}

// Every sample once per epoch, for uneven shards, windows that do and do not divide the shard
// count, a window of 1 and one larger than the dataset.
TEST(WindowedShuffleTest, EveryEpochIsAPermutation) {
  const std::vector<uint64_t> sizes = {7, 1, 30, 12, 12, 5, 40, 3, 9, 21, 2};
  for (uint32_t window : {1u, 2u, 3u, 4u, 11u, 50u}) {
    const auto order = Make(sizes, window);
    ASSERT_EQ(order->num_samples(), 142u);
    for (uint64_t epoch : {0u, 1u, 7u}) {
      std::vector<uint64_t> seen;
      for (uint64_t i = 0; i < order->num_samples(); ++i) seen.push_back(order->At(3, epoch, i));
      std::sort(seen.begin(), seen.end());
      for (uint64_t i = 0; i < seen.size(); ++i) {
        ASSERT_EQ(seen[i], i) << "window " << window << " epoch " << epoch;
      }
    }
  }
}

// The samples of window w come from its K shards only, and ShardsFrom names them first.
TEST(WindowedShuffleTest, EachWindowReadsOnlyItsShards) {
  std::vector<uint64_t> sizes(40);
  for (size_t s = 0; s < sizes.size(); ++s) sizes[s] = 10 + s % 7;
  const auto order = Make(sizes, 4);
  uint64_t index = 0;
  std::vector<uint32_t> sequence;  // shards in the order the epoch first needs them
  for (size_t w = 0; w < 10; ++w) {
    const std::vector<uint32_t> ahead = order->ShardsFrom(9, 2, index, 4);
    ASSERT_EQ(ahead.size(), 4u);
    const std::set<uint32_t> window(ahead.begin(), ahead.end());
    uint64_t n = 0;
    for (uint32_t s : window) n += sizes[s];
    for (uint64_t i = index; i < index + n; ++i) {
      ASSERT_EQ(window.count(order->ShardOf(order->At(9, 2, i))), 1u) << "position " << i;
    }
    // The next windows follow, in order.
    const std::vector<uint32_t> longer = order->ShardsFrom(9, 2, index, 12);
    EXPECT_TRUE(std::equal(ahead.begin(), ahead.end(), longer.begin()));
    sequence.insert(sequence.end(), ahead.begin(), ahead.end());
    index += n;
  }
  EXPECT_EQ(index, order->num_samples());
  std::sort(sequence.begin(), sequence.end());
  for (uint32_t s = 0; s < 40; ++s) EXPECT_EQ(sequence[s], s) << "every shard once";
}

TEST(WindowedShuffleTest, AFunctionOfSeedEpochAndIndexAlone) {
  const std::vector<uint64_t> sizes(64, 100);
  const auto a = Make(sizes, 8), b = Make(sizes, 8);
  std::vector<uint64_t> from_threads(2000);
  std::thread t1([&] {
    for (uint64_t i = 0; i < 1000; ++i) from_threads[i] = a->At(5, 3, i * 6);
  });
  std::thread t2([&] {
    for (uint64_t i = 1000; i < 2000; ++i) from_threads[i] = a->At(5, 3, i * 3);
  });
  t1.join();
  t2.join();
  for (uint64_t i = 0; i < 1000; ++i) ASSERT_EQ(from_threads[i], b->At(5, 3, i * 6));
  for (uint64_t i = 1000; i < 2000; ++i) ASSERT_EQ(from_threads[i], b->At(5, 3, i * 3));
  // Other seeds and epochs give other orders (of shards, too).
  int same_seed = 0, same_epoch = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    same_seed += a->At(5, 3, i) == a->At(6, 3, i);
    same_epoch += a->At(5, 3, i) == a->At(5, 4, i);
  }
  EXPECT_LT(same_seed, 20);
  EXPECT_LT(same_epoch, 20);
  EXPECT_NE(a->ShardsFrom(5, 3, 0, 8), a->ShardsFrom(5, 4, 0, 8));
}

TEST(WindowedShuffleTest, BadLayoutsNameTheField) {
  EXPECT_FALSE(WindowedShuffle::Create({}, 4).ok());
  EXPECT_FALSE(WindowedShuffle::Create({3, 4}, 0).ok());
  absl::StatusOr<std::shared_ptr<const WindowedShuffle>> empty = WindowedShuffle::Create({3, 0}, 2);
  EXPECT_THAT(std::string(empty.status().message()), ::testing::HasSubstr("shards[1]: empty"));
}

}  // namespace
}  // namespace maskfeed
