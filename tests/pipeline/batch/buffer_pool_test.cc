#include <cstring>

#include "gtest/gtest.h"
#include "pipeline/batch/batch.h"

namespace maskfeed {
namespace {

TEST(BufferPoolTest, ReturnedBuffersAreReusedMostRecentFirst) {
  std::shared_ptr<BufferPool> pool = BufferPool::Create(1 << 20);
  std::byte* first;
  std::byte* second;
  {
    Buffer a = pool->Get(1000), b = pool->Get(1000);
    first = a.data();
    second = b.data();
    std::memset(a.data(), 7, a.size());
  }  // a, then b, go back to the pool
  EXPECT_EQ(pool->cached_bytes(), 2000u);
  Buffer c = pool->Get(1000);
  EXPECT_EQ(c.data(), first) << "a was returned last";
  Buffer d = pool->Get(1000);
  EXPECT_EQ(d.data(), second);
  Buffer e = pool->Get(999);  // another size: a fresh allocation
  EXPECT_NE(e.data(), first);
  EXPECT_EQ(pool->cached_bytes(), 0u);
}

TEST(BufferPoolTest, CachesAtMostItsLimitAndOutlivesNoBuffer) {
  std::shared_ptr<BufferPool> pool = BufferPool::Create(1500);
  { Buffer a = pool->Get(1000), b = pool->Get(1000); }
  EXPECT_EQ(pool->cached_bytes(), 1000u) << "the second one did not fit and was freed";
  Buffer kept = pool->Get(500);
  std::weak_ptr<BufferPool> weak = pool;
  pool.reset();
  EXPECT_FALSE(weak.expired()) << "a live buffer keeps its pool";
  kept = Buffer();  // moving a plain buffer in returns the pooled one
  EXPECT_TRUE(weak.expired());
}

TEST(BufferPoolTest, HoldsNoMoreThanItsBudgetOrWhatIsHandedOut) {
  std::shared_ptr<BufferPool> pool = BufferPool::Create(2000);
  { Buffer a = pool->Get(1000); }
  EXPECT_EQ(pool->cached_bytes(), 1000u);
  Buffer b = pool->Get(1500);  // a miss that does not fit beside the cached one: it is freed
  EXPECT_EQ(pool->cached_bytes(), 0u);
  EXPECT_EQ(pool->in_use_bytes(), 1500u);
  Buffer c = pool->Get(1500);  // over budget while handed out: allowed, nothing cached
  EXPECT_EQ(pool->in_use_bytes(), 3000u);
  b = Buffer();
  EXPECT_EQ(pool->cached_bytes(), 0u) << "3000 held: keeping b would exceed the budget";
  c = Buffer();
  EXPECT_EQ(pool->cached_bytes(), 1500u);
  EXPECT_EQ(pool->in_use_bytes(), 0u);
}

TEST(BufferPoolTest, MovedBuffersReturnOnce) {
  std::shared_ptr<BufferPool> pool = BufferPool::Create(1 << 20);
  {
    Buffer a = pool->Get(64);
    Buffer b = std::move(a);
    Buffer c;
    c = std::move(b);
  }
  EXPECT_EQ(pool->cached_bytes(), 64u);
}

}  // namespace
}  // namespace maskfeed
