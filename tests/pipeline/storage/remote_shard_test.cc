// RemoteShard alone, against a real S3 server (moto_server): an .mfs shard opens from its index
// (two range requests, no copy), answers metadata without the network, reads through a local
// copy in the shard cache that Hold() fetches ahead and Unhold() lets go, fetches a damaged
// copy again once, and names the URL when the object itself is damaged. A tar shard is
// fetched once to be indexed, and its index is kept in the cache for the next process.
#include "pipeline/storage/remote_shard.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/storage/object_store.h"
#include "pipeline/storage/s3_client.h"
#include "tests/testing/moto_server.h"
#include "tests/testing/synth_fixture.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

namespace fs = std::filesystem;
using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kShard[] = "tok_rgb@224/shard-00001";

class RemoteShardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    moto_ = testing::MotoServer::Start(dir_ / "moto.log");
    if (moto_ == nullptr) GTEST_SKIP() << "moto_server is not installed";
    s3_ = moto_->ClientWithBucket("data");
    ASSERT_NE(s3_, nullptr);
    for (ShardFormat format : {ShardFormat::kMfs, ShardFormat::kTar}) {
      ASSERT_NO_FATAL_FAILURE(testing::Synth(dir_ / std::string(ShardFormatName(format)),
                                             SynthOptions::kTokensPreset, 40, 2, format));
      Upload(format, testing::ReadFile(Local(format)));
    }
  }

  std::string Name(ShardFormat format) const { return StrCat(kShard, ShardExtension(format)); }
  std::string Local(ShardFormat format) const {
    return dir_ / StrCat(ShardFormatName(format), "/", Name(format));
  }
  void Upload(ShardFormat format, const std::string& bytes) {
    ASSERT_TRUE(s3_->Put("data", StrCat("shards/", Name(format)), bytes).ok());
  }

  std::shared_ptr<RemoteStorage> Storage(const std::string& cache = "cache") {
    absl::StatusOr<std::shared_ptr<RemoteStorage>> storage =
        RemoteStorage::Create({.cache_dir = dir_ / cache, .cache_limit = 0, .fetch_threads = 2});
    EXPECT_TRUE(storage.ok()) << storage.status();
    return storage.ok() ? *storage : nullptr;
  }

  // The root's store, counting into `storage`'s counters as remote datasets' stores do.
  static std::shared_ptr<ObjectStore> Store(const RemoteStorage& storage) {
    ObjectStoreOptions options;
    options.stats = storage.store_stats();
    absl::StatusOr<std::shared_ptr<ObjectStore>> store =
        OpenObjectStore("s3://data/shards", options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *store : nullptr;
  }

  absl::StatusOr<std::unique_ptr<RemoteShard>> Open(ShardFormat format,
                                                    std::shared_ptr<RemoteStorage> storage) {
    std::shared_ptr<ObjectStore> store = Store(*storage);
    return RemoteShard::Open(store, Name(format), fs::file_size(Local(format)), std::move(storage));
  }

  // The cached copy of the shard's object (its name ends with the shard's file name).
  std::string CachedCopy(const std::string& cache = "cache") const {
    for (const fs::directory_entry& e : fs::directory_iterator(dir_ / cache)) {
      const std::string file = e.path().filename().string();
      if (file.ends_with("shard-00001.mfs")) return e.path().string();
    }
    return "";
  }

  TempDir dir_;
  std::unique_ptr<testing::MotoServer> moto_;
  std::unique_ptr<S3Client> s3_;
};

TEST_F(RemoteShardTest, AnMfsShardOpensFromItsIndexAndReadsThroughTheCache) {
  std::shared_ptr<RemoteStorage> storage = Storage();
  absl::StatusOr<std::unique_ptr<RemoteShard>> shard = Open(ShardFormat::kMfs, storage);
  ASSERT_TRUE(shard.ok()) << shard.status();
  const uint64_t size = fs::file_size(Local(ShardFormat::kMfs));
  EXPECT_GT(storage->store_stats()->bytes_fetched.load(), 0u);
  EXPECT_LT(storage->store_stats()->bytes_fetched.load(), size / 2) << "the index, not the shard";
  EXPECT_EQ(CachedCopy(), "") << "no copy until a read needs one";
  absl::StatusOr<std::unique_ptr<ShardReader>> local = OpenShard(Local(ShardFormat::kMfs));
  ASSERT_TRUE(local.ok());
  ASSERT_EQ((*shard)->num_records(), (*local)->num_records());
  EXPECT_EQ((*shard)->layout(), (*local)->layout());
  EXPECT_EQ((*shard)->path(), "s3://data/shards/" + Name(ShardFormat::kMfs));
  for (size_t i = 0; i < (*local)->num_records(); ++i) {
    EXPECT_EQ((*shard)->key(i), (*local)->key(i));
    EXPECT_EQ((*shard)->first_dim(i), (*local)->first_dim(i));
  }
  EXPECT_TRUE((*shard)->fetched_on_demand());

  // A read nobody holds holds the shard for its duration: fetched once, then let go.
  Record a, b;
  ASSERT_TRUE((*shard)->Read(3, &a).ok());
  ASSERT_TRUE((*local)->Read(3, &b).ok());
  EXPECT_TRUE(a.data == b.data);
  EXPECT_EQ(storage->fetch_stats().shards_fetched.load(), 1u);
  EXPECT_EQ(storage->fetch_stats().held_bytes.load(), 0u);
  EXPECT_EQ(fs::file_size(CachedCopy()), size);

  // Held: fetched in the background (here a cache hit), counted as held until let go.
  (*shard)->Hold();
  EXPECT_EQ(storage->fetch_stats().held_bytes.load(), size);
  ASSERT_TRUE((*shard)->ReadRow(5, 1, &a).ok());
  ASSERT_TRUE((*local)->ReadRow(5, 1, &b).ok());
  EXPECT_TRUE(a.data == b.data);
  (*shard)->Unhold();
  EXPECT_EQ(storage->fetch_stats().held_bytes.load(), 0u);
  EXPECT_EQ(storage->fetch_stats().shards_fetched.load(), 1u) << "the cached copy was reused";
}

TEST_F(RemoteShardTest, ADamagedCopyIsFetchedOnceMoreADamagedObjectIsNamed) {
  std::shared_ptr<RemoteStorage> storage = Storage();
  absl::StatusOr<std::unique_ptr<RemoteShard>> shard = Open(ShardFormat::kMfs, storage);
  ASSERT_TRUE(shard.ok()) << shard.status();
  Record r;
  ASSERT_TRUE((*shard)->Read(0, &r).ok());
  const std::string copy = CachedCopy();
  ASSERT_FALSE(copy.empty());
  for (int64_t at = 100; at < 2000; at += 37) testing::FlipByte(copy, at);
  absl::Status read = (*shard)->Read(0, &r);
  EXPECT_TRUE(read.ok()) << read;
  EXPECT_EQ(storage->fetch_stats().refetches.load(), 1u);

  // The object itself damaged past its index (same size): the copy is fetched again once,
  // then the read fails naming the object's URL.
  std::string bytes = testing::ReadFile(Local(ShardFormat::kMfs));
  for (size_t at = 100; at < 2000; at += 37) bytes[at] = static_cast<char>(bytes[at] ^ 0x5A);
  Upload(ShardFormat::kMfs, bytes);
  std::shared_ptr<RemoteStorage> fresh = Storage("cache2");
  absl::StatusOr<std::unique_ptr<RemoteShard>> damaged = Open(ShardFormat::kMfs, fresh);
  ASSERT_TRUE(damaged.ok()) << damaged.status() << " (the index is intact)";
  read = (*damaged)->Read(0, &r);
  EXPECT_EQ(read.code(), absl::StatusCode::kDataLoss) << read;
  EXPECT_THAT(Message(read), HasSubstr("s3://data/shards/" + Name(ShardFormat::kMfs)));
  EXPECT_EQ(fresh->fetch_stats().refetches.load(), 1u);
}

TEST_F(RemoteShardTest, ATarShardIsIndexedOnceAndItsIndexKept) {
  std::shared_ptr<RemoteStorage> storage = Storage();
  absl::StatusOr<std::unique_ptr<RemoteShard>> shard = Open(ShardFormat::kTar, storage);
  ASSERT_TRUE(shard.ok()) << shard.status();
  const uint64_t size = fs::file_size(Local(ShardFormat::kTar));
  EXPECT_GE(storage->store_stats()->bytes_fetched.load(), size) << "fetched whole to index it";
  absl::StatusOr<std::unique_ptr<ShardReader>> local = OpenShard(Local(ShardFormat::kTar));
  ASSERT_TRUE(local.ok());
  ASSERT_EQ((*shard)->num_records(), (*local)->num_records());
  Record a, b;
  ASSERT_TRUE((*shard)->Read(7, &a).ok());
  ASSERT_TRUE((*local)->Read(7, &b).ok());
  EXPECT_TRUE(a.data == b.data);

  // Another process sharing the cache: the member list is read from the cache, not fetched.
  std::shared_ptr<RemoteStorage> again = Storage();
  absl::StatusOr<std::unique_ptr<RemoteShard>> reopened = Open(ShardFormat::kTar, again);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(again->store_stats()->bytes_fetched.load(), 0u);
  EXPECT_EQ((*reopened)->num_records(), (*local)->num_records());
}

TEST_F(RemoteShardTest, AMissingObjectIsNotFoundNamingItsUrl) {
  std::shared_ptr<RemoteStorage> storage = Storage();
  absl::StatusOr<std::unique_ptr<RemoteShard>> shard =
      RemoteShard::Open(Store(*storage), "tok_rgb@224/shard-00009.mfs", 1000, storage);
  EXPECT_EQ(shard.status().code(), absl::StatusCode::kNotFound) << shard.status();
  EXPECT_THAT(Message(shard.status()), HasSubstr("s3://data/shards/tok_rgb@224/shard-00009.mfs"));
}

}  // namespace
}  // namespace maskfeed
