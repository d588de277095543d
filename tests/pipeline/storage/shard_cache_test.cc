#include "pipeline/storage/shard_cache.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/status_fields.h"
#include "pipeline/storage/retry.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::ReadFile;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

// A fetch that writes `bytes` and counts its calls.
ShardCache::Fetch Writes(const std::string& bytes, std::atomic<int>* calls = nullptr) {
  return [bytes, calls](const std::string& tmp) {
    if (calls != nullptr) ++*calls;
    std::ofstream(tmp, std::ios::binary) << bytes;
    return absl::OkStatus();
  };
}

size_t FilesIn(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

TEST(ShardCacheTest, FetchesOnceThenHitsAndSurvivesARestart) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<ShardCache>> cache = ShardCache::Open({dir / "c", 0});
  ASSERT_TRUE(cache.ok()) << cache.status();
  std::atomic<int> calls{0};
  absl::StatusOr<std::string> path =
      (*cache)->Acquire("s3://b/rgb@224/shard-00000.mfs", 5, Writes("hello", &calls));
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(ReadFile(*path), "hello");
  EXPECT_THAT(*path, HasSubstr("shard-00000.mfs"));
  (*cache)->Release("s3://b/rgb@224/shard-00000.mfs");
  absl::StatusOr<std::string> again =
      (*cache)->Acquire("s3://b/rgb@224/shard-00000.mfs", 5, Writes("other", &calls));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *path);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ((*cache)->stats().hits, 1u);
  EXPECT_EQ((*cache)->stats().misses, 1u);
  EXPECT_EQ((*cache)->stats().bytes_fetched, 5u);
  // A new process on the same directory finds it.
  absl::StatusOr<std::unique_ptr<ShardCache>> restarted = ShardCache::Open({dir / "c", 0});
  ASSERT_TRUE(restarted.ok());
  EXPECT_EQ((*restarted)->used_bytes(), 5u);
  ASSERT_TRUE((*restarted)->Acquire("s3://b/rgb@224/shard-00000.mfs", 5, Writes("x", &calls)).ok());
  EXPECT_EQ(calls, 1);
}

TEST(ShardCacheTest, EvictsTheLeastRecentlyNeededAndNeverWhatIsHeld) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<ShardCache>> opened = ShardCache::Open({dir / "c", 250});
  ASSERT_TRUE(opened.ok());
  ShardCache& cache = **opened;
  const std::string hundred(100, 'x');
  auto take = [&](const std::string& name) { return cache.Acquire(name, 100, Writes(hundred)); };
  ASSERT_TRUE(take("a").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // distinct mtimes
  ASSERT_TRUE(take("b").ok());
  cache.Release("a");
  cache.Release("b");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(take("a").ok());  // a hit: a is now more recent than b
  cache.Release("a");
  absl::StatusOr<std::string> c = take("c");  // 300 > 250: b goes
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_EQ(FilesIn(dir / "c") - 3, 2u);  // a and c (and three lock files)
  std::atomic<int> calls{0};
  ASSERT_TRUE(cache.Acquire("a", 100, Writes(hundred, &calls)).ok());
  EXPECT_EQ(calls, 0) << "a stayed";
  // a and c held: d cannot fit, and nothing held is evicted.
  absl::StatusOr<std::string> d = take("d");
  EXPECT_EQ(d.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("cache directory " + (dir / "c")));
  EXPECT_THAT(std::string(d.status().message()),
              HasSubstr("raise the cache limit (storage.cache_limit_bytes)"));
  EXPECT_THAT(FieldsOf(d.status()), ::testing::ElementsAre("storage.cache_limit_bytes"))
      << "front ends name their flag for it";
  cache.Release("a");
  ASSERT_TRUE(take("d").ok()) << "room once a is let go";
  // Larger than the whole limit.
  absl::StatusOr<std::string> huge = cache.Acquire("huge", 1000, Writes(std::string(1000, 'y')));
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(huge.status().message()), HasSubstr("larger than the cache limit"));
  EXPECT_LE(cache.used_bytes(), 250u);
}

TEST(ShardCacheTest, ShortDownloadsAndFailedFetchesLeaveNothing) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<ShardCache>> cache = ShardCache::Open({dir / "c", 0});
  ASSERT_TRUE(cache.ok());
  absl::StatusOr<std::string> short_one = (*cache)->Acquire("s3://b/k", 10, Writes("12345"));
  EXPECT_EQ(short_one.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(short_one.status().message()),
              HasSubstr("s3://b/k: fetched 5 bytes, expected 10"));
  EXPECT_TRUE(IsRetryable(short_one.status()));
  absl::StatusOr<std::string> failed = (*cache)->Acquire("s3://b/k", 10, [](const std::string&) {
    return absl::NotFoundError("s3://b/k: NoSuchKey");
  });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(IsRetryable(failed.status()));
  EXPECT_EQ(FilesIn(dir / "c"), 1u) << "only the lock file";
  EXPECT_EQ((*cache)->used_bytes(), 0u);
}

// Two processes' caches on one directory (two instances: flock locks are per open file):
// one fetches, the other waits and finds the file.
TEST(ShardCacheTest, ProcessesSharingTheDirectoryFetchOnce) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<ShardCache>> one = ShardCache::Open({dir / "c", 0});
  absl::StatusOr<std::unique_ptr<ShardCache>> two = ShardCache::Open({dir / "c", 0});
  ASSERT_TRUE(one.ok() && two.ok());
  std::atomic<int> calls{0};
  auto slow = [&](const std::string& tmp) {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return Writes("shard")(tmp);
  };
  absl::StatusOr<std::string> a, b;
  std::thread t1([&] { a = (*one)->Acquire("s3://b/shared", 5, slow); });
  std::thread t2([&] { b = (*two)->Acquire("s3://b/shared", 5, slow); });
  t1.join();
  t2.join();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ReadFile(*a), "shard");
}

TEST(ShardCacheTest, OpeningRemovesWhatDeadProcessesLeft) {
  TempDir dir;
  std::filesystem::create_directories(dir / "c");
  std::ofstream(dir / "c/abc-shard.mfs.tmp-999999999-0") << "half";
  std::ofstream(dir / "c/abc-shard.mfs.tmp-" + std::to_string(::getpid()) + "-0") << "mine";
  ASSERT_TRUE(ShardCache::Open({dir / "c", 0}).ok());
  EXPECT_FALSE(std::filesystem::exists(dir / "c/abc-shard.mfs.tmp-999999999-0"));
  EXPECT_TRUE(
      std::filesystem::exists(dir / "c/abc-shard.mfs.tmp-" + std::to_string(::getpid()) + "-0"))
      << "a live process's fetch in progress stays";
}

TEST(RetryTest, RetriesWhatMayPassWithCappedJitteredBackoff) {
  RetryPolicy policy;
  policy.max_attempts = 5;
  policy.initial_backoff = std::chrono::milliseconds(100);
  policy.max_backoff = std::chrono::milliseconds(300);
  std::vector<std::chrono::milliseconds> waits;
  policy.sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); };
  int tries = 0;
  absl::StatusOr<int> r = WithRetries<int>(policy, [&]() -> absl::StatusOr<int> {
    if (++tries < 4) return absl::UnavailableError("HTTP 503 SlowDown");
    return 7;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  ASSERT_EQ(waits.size(), 3u);
  EXPECT_LE(waits[0].count(), 100);
  EXPECT_LE(waits[1].count(), 200);
  EXPECT_LE(waits[2].count(), 300);
  tries = 0;
  absl::StatusOr<int> denied = WithRetries<int>(policy, [&]() -> absl::StatusOr<int> {
    ++tries;
    return absl::PermissionDeniedError("HTTP 403");
  });
  EXPECT_EQ(tries, 1) << "403 fails at once";
  tries = 0;
  absl::StatusOr<int> down = WithRetries<int>(policy, [&]() -> absl::StatusOr<int> {
    ++tries;
    return absl::UnavailableError("connection refused");
  });
  EXPECT_EQ(tries, 5);
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  // Jitter: over many draws the waits spread across [0, cap].
  std::mt19937_64 rng(1);
  int64_t low = 1000, high = 0;
  for (int i = 0; i < 200; ++i) {
    const int64_t w = BackoffBefore(policy, 10, &rng).count();
    low = std::min(low, w);
    high = std::max(high, w);
  }
  EXPECT_LT(low, 50);
  EXPECT_GT(high, 250);
  EXPECT_LE(high, 300);
}

}  // namespace
}  // namespace maskfeed
