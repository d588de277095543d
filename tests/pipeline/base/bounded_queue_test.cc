#include "pipeline/base/bounded_queue.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

TEST(BoundedQueueTest, DeliversInOrderAndNeverHoldsMoreThanItsCapacity) {
  BoundedQueue<int> queue(3);
  std::thread producer([&] {
    for (int i = 0; i < 10000; ++i) ASSERT_TRUE(queue.Push(i));
    queue.Close();
  });
  int expected = 0;
  while (std::optional<int> item = queue.Pop()) {
    ASSERT_EQ(*item, expected++);
    ASSERT_LE(queue.size(), 3u);
  }
  producer.join();
  EXPECT_EQ(expected, 10000);
  EXPECT_LE(queue.high_water(), 3u);
}

TEST(BoundedQueueTest, CancelWakesABlockedProducerAndConsumer) {
  BoundedQueue<int> full(1);
  ASSERT_TRUE(full.Push(1));
  std::thread producer([&] { EXPECT_FALSE(full.Push(2)); });  // blocks: the queue is full
  BoundedQueue<int> empty(1);
  std::thread consumer([&] { EXPECT_FALSE(empty.Pop().has_value()); });  // blocks: empty
  // Both threads are inside their call (and stay there: nothing else touches the queues).
  while (full.waiting() == 0 || empty.waiting() == 0) std::this_thread::yield();
  full.Cancel();
  empty.Cancel();
  producer.join();
  consumer.join();
  EXPECT_EQ(full.waiting() + empty.waiting(), 0u);
  EXPECT_FALSE(full.Pop().has_value()) << "cancelled queues drop what they held";
}

TEST(BoundedQueueTest, CloseLetsTheConsumerDrainThenEnd) {
  BoundedQueue<std::vector<int>> queue(4);
  ASSERT_TRUE(queue.Push({1, 2}));
  ASSERT_TRUE(queue.Push({3}));
  queue.Close();
  EXPECT_EQ(queue.Pop()->size(), 2u);
  EXPECT_EQ(queue.Pop()->size(), 1u);
  EXPECT_FALSE(queue.Pop().has_value());
}

}  // namespace
}  // namespace maskfeed
