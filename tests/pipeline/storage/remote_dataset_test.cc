// Remote dataset roots against a real S3 server (moto_server): a synthetic dataset is written
// locally, uploaded, and opened as `s3://bucket/prefix`; what the remote dataset reads and
// streams is compared with the local copy, byte for byte, under a cache limit smaller than
// the data.
#include "pipeline/storage/remote_dataset.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/status_fields.h"
#include "pipeline/base/strings.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/order/node_shares.h"
#include "pipeline/storage/s3_client.h"
#include "pipeline/stream/stream.h"
#include "pipeline/tools/synth_dataset.h"
#include "tests/testing/fault_proxy.h"
#include "tests/testing/moto_server.h"
#include "tests/testing/nginx_server.h"
#include "tests/testing/stream_drain.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

namespace fs = std::filesystem;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

constexpr size_t kSamples = 192;
constexpr size_t kShards = 12;

std::string BatchBytes(const Batch& batch) {
  std::string out;
  for (const ModalityBatch& m : batch.modalities) {
    for (const HostTensor* t :
         {&m.tensor, &m.input_mask, &m.target_mask, &m.decoder_attention_mask}) {
      out.append(reinterpret_cast<const char*>(t->data.data()), t->data.size());
    }
  }
  return out;
}

class RemoteDatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    moto_ = testing::MotoServer::Start(dir_ / "moto.log");
    if (moto_ == nullptr) GTEST_SKIP() << "moto_server is not installed";
    s3_ = moto_->ClientWithBucket("data");
    ASSERT_NE(s3_, nullptr);
  }

  // Writes a pre-tokenized synthetic dataset and uploads it under s3://data/<prefix>.
  std::string WriteAndUpload(const std::string& prefix, ShardFormat format) {
    const fs::path local = dir_ / prefix;
    SynthOptions synth;
    synth.preset = SynthOptions::kTokensPreset;
    synth.samples = kSamples;
    synth.shards = kShards;
    synth.out = local.string();
    synth.format = format;
    EXPECT_TRUE(SynthesizeDataset(synth).ok());
    for (const fs::directory_entry& e : fs::recursive_directory_iterator(local)) {
      if (!e.is_regular_file()) continue;
      const std::string key = StrCat(prefix, "/", fs::relative(e.path(), local).string());
      const absl::Status put = s3_->Put("data", key, testing::ReadFile(e.path().string()));
      EXPECT_TRUE(put.ok()) << put;
    }
    return local.string();
  }

  std::shared_ptr<RemoteStorage> Storage(uint64_t limit, const std::string& name = "cache") {
    absl::StatusOr<std::shared_ptr<RemoteStorage>> storage = RemoteStorage::Create(
        RemoteStorageOptions{.cache_dir = dir_ / name, .cache_limit = limit, .fetch_threads = 3});
    EXPECT_TRUE(storage.ok()) << storage.status();
    return storage.ok() ? *storage : nullptr;
  }

  absl::StatusOr<std::unique_ptr<Dataset>> OpenRemote(const std::string& url,
                                                      const std::shared_ptr<RemoteStorage>& s) {
    absl::StatusOr<RemoteRoot> root = ListRemoteRoot(url, s);
    if (!root.ok()) return root.status();
    return OpenRemoteDataset(*root, s);
  }

  static std::shared_ptr<const StreamSource> Source(std::unique_ptr<Dataset> dataset) {
    absl::StatusOr<v1::MaskingConfig> config = PresetMaskingConfig("4m-7-tokens");
    EXPECT_TRUE(config.ok()) << config.status();
    absl::StatusOr<std::shared_ptr<const StreamSource>> source =
        StreamSource::Create(std::shared_ptr<const Dataset>(std::move(dataset)), *config);
    EXPECT_TRUE(source.ok()) << source.status();
    return source.ok() ? *source : nullptr;
  }

  TempDir dir_;
  std::unique_ptr<testing::MotoServer> moto_;
  std::unique_ptr<S3Client> s3_;
};

TEST_F(RemoteDatasetTest, OpensFromIndexesAndReadsWhatTheLocalCopyHolds) {
  const std::string local_root = WriteAndUpload("cc", ShardFormat::kMfs);
  absl::StatusOr<std::unique_ptr<Dataset>> local = Dataset::Open(local_root);
  ASSERT_TRUE(local.ok()) << local.status();
  std::shared_ptr<RemoteStorage> storage = Storage(0);
  absl::StatusOr<std::unique_ptr<Dataset>> remote = OpenRemote("s3://data/cc/", storage);
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_EQ((*remote)->root(), "s3://data/cc");
  EXPECT_TRUE((*remote)->fetched_on_demand());
  EXPECT_FALSE((*local)->fetched_on_demand());
  // Opening read indexes only: no shard is in the cache. (These shards are small, ~25 KB, so
  // the range requests for header, trailer and index cover a good part of each.)
  EXPECT_EQ(testing::CachedObjectBytes(dir_ / "cache"), 0u);
  EXPECT_EQ(storage->fetch_stats().shards_fetched, 0u);
  EXPECT_LT(storage->store_stats()->bytes_fetched, (*local)->total_bytes() / 2);
  EXPECT_EQ((*remote)->total_bytes(), (*local)->total_bytes());
  ASSERT_EQ((*remote)->num_samples(), kSamples);
  ASSERT_EQ((*remote)->num_modalities(), (*local)->num_modalities());
  EXPECT_EQ((*remote)->Describe().shard_sizes_size(), static_cast<int>(kShards));
  EXPECT_EQ((*remote)->shard(0, 3).path(),
            StrCat("s3://data/cc/", (*remote)->modality_name(0), "/shard-00003.mfs"));
  for (size_t m = 0; m < (*local)->num_modalities(); ++m) {
    ASSERT_EQ((*remote)->modality_name(m), (*local)->modality_name(m));
    EXPECT_TRUE((*remote)->layout(m) == (*local)->layout(m));
  }
  // Every record, read without anyone holding its shard (a hold for the read's duration).
  Record a, b;
  for (size_t s = 0; s < kSamples; s += 7) {
    ASSERT_EQ((*remote)->key(s), (*local)->key(s));
    for (size_t m = 0; m < (*local)->num_modalities(); ++m) {
      ASSERT_TRUE((*local)->Read(m, s, &a).ok());
      const absl::Status read = (*remote)->Read(m, s, &b);
      ASSERT_TRUE(read.ok()) << read;
      ASSERT_TRUE(a.data == b.data) << "sample " << s << " modality " << m;
      ASSERT_EQ(a.shape.dims[0], b.shape.dims[0]);
    }
  }
  EXPECT_GT(storage->fetch_stats().shards_fetched, 0u);
  EXPECT_EQ(storage->fetch_stats().held_bytes, 0u) << "every read's hold was let go";
}

TEST_F(RemoteDatasetTest, StreamsAnEpochInWindowsUnderACacheLimitAndResumes) {
  const std::string local_root = WriteAndUpload("cc", ShardFormat::kMfs);
  absl::StatusOr<std::unique_ptr<Dataset>> local = Dataset::Open(local_root);
  ASSERT_TRUE(local.ok()) << local.status();
  const uint64_t total = (*local)->total_bytes();
  const uint64_t limit = total * 2 / 5;  // windows of 2 shards: 4 of the 12 held at a time
  std::shared_ptr<RemoteStorage> storage = Storage(limit);
  absl::StatusOr<std::unique_ptr<Dataset>> remote = OpenRemote("s3://data/cc", storage);
  ASSERT_TRUE(remote.ok()) << remote.status();
  const uint64_t index_bytes = storage->store_stats()->bytes_fetched;

  StreamOptions o;
  o.batch_size = 16;
  o.seed = 5;
  o.order.window_shards = 2;
  o.max_batches = kSamples / 16 + 4;  // an epoch and a bit
  o.hold_budget_bytes = limit;
  const std::vector<StreamBatch> want = testing::DrainStream(Source(*std::move(local)), o, 2);
  ASSERT_EQ(want.size(), o.max_batches);

  tbb::task_arena arena(2);
  absl::StatusOr<std::unique_ptr<Stream>> stream =
      Stream::Open(Source(*std::move(remote)), o, &arena);
  ASSERT_TRUE(stream.ok()) << stream.status();
  uint64_t most_cached = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
    ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
    ASSERT_EQ((*next)->batch.samples, want[i].batch.samples) << "batch " << i;
    ASSERT_TRUE(BatchBytes((*next)->batch) == BatchBytes(want[i].batch)) << "batch " << i;
    most_cached = std::max(most_cached, testing::CachedObjectBytes(dir_ / "cache"));
    if (i + 1 == kSamples / 16) {  // one epoch: every shard fetched about once
      const uint64_t fetched = storage->store_stats()->bytes_fetched - index_bytes;
      EXPECT_GE(fetched, total) << "every shard was read";
      EXPECT_LE(fetched, total * 105 / 100) << "bytes fetched in the epoch";
    }
  }
  EXPECT_LE(most_cached, limit) << "the cache stayed under its limit";
  EXPECT_GT(storage->cache().stats().evictions, 0u) << "the data does not fit: shards left";

  // Resume from the middle of the epoch with a cold cache in another directory.
  std::shared_ptr<RemoteStorage> cold = Storage(limit, "cold");
  absl::StatusOr<std::unique_ptr<Dataset>> again = OpenRemote("s3://data/cc", cold);
  ASSERT_TRUE(again.ok()) << again.status();
  StreamOptions resumed = o;
  resumed.resume_token = want[5].resume_token;
  resumed.max_batches = 4;
  const std::vector<StreamBatch> rest = testing::DrainStream(Source(*std::move(again)), resumed, 1);
  ASSERT_EQ(rest.size(), 4u);
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_TRUE(BatchBytes(rest[i].batch) == BatchBytes(want[6 + i].batch)) << i;
  }
}

// Per-host shares: 2 canonical nodes, 2 hosts of 2 ranks (batch 8, node_batch 16), each host
// a cache of its own under a limit below its share. Through one node epoch every host's ranks
// get the local data's bytes, and each host fetches its share of the shards (once), not the
// dataset.
TEST_F(RemoteDatasetTest, EachHostFetchesOnlyItsShareOfTheShards) {
  const std::string local_root = WriteAndUpload("cc", ShardFormat::kMfs);
  absl::StatusOr<std::unique_ptr<Dataset>> local = Dataset::Open(local_root);
  ASSERT_TRUE(local.ok()) << local.status();
  const uint64_t total = (*local)->total_bytes();
  const uint64_t limit = total * 2 / 5;
  std::vector<uint64_t> shard_sizes;
  for (size_t s = 0; s < kShards; ++s) shard_sizes.push_back((*local)->shard_size(s));
  StreamOptions o;
  o.batch_size = 8;
  o.world_size = 4;
  o.seed = 5;
  o.order.window_shards = 2;
  o.order.canonical_nodes = 2;
  o.order.node_batch = 16;
  o.max_batches = kSamples / 2 / 16;  // one node epoch
  o.hold_budget_bytes = limit;
  absl::StatusOr<std::shared_ptr<const NodeShares>> shares = NodeShares::Create(
      shard_sizes, {.nodes = 2, .node_batch = 16, .window_shards = 2, .seed = 5});
  ASSERT_TRUE(shares.ok()) << shares.status();
  const std::shared_ptr<const StreamSource> local_source = Source(*std::move(local));
  std::vector<std::vector<StreamBatch>> want;
  for (uint32_t r = 0; r < 4; ++r) {
    StreamOptions rank = o;
    rank.rank = r;
    want.push_back(testing::DrainStream(local_source, rank, 2));
    ASSERT_EQ(want.back().size(), o.max_batches);
  }
  for (uint32_t host = 0; host < 2; ++host) {
    std::shared_ptr<RemoteStorage> storage = Storage(limit, StrCat("host", host));
    absl::StatusOr<std::unique_ptr<Dataset>> remote = OpenRemote("s3://data/cc", storage);
    ASSERT_TRUE(remote.ok()) << remote.status();
    const uint64_t index_bytes = storage->store_stats()->bytes_fetched;
    uint64_t share = 0;
    for (uint32_t s : (*shares)->shards(host)) share += (*remote)->shard_bytes(s);
    const std::shared_ptr<const StreamSource> source = Source(*std::move(remote));
    tbb::task_arena arena(2);
    std::vector<std::unique_ptr<Stream>> streams;  // the host's two ranks, in lockstep
    for (uint32_t r = 2 * host; r < 2 * host + 2; ++r) {
      StreamOptions rank = o;
      rank.rank = r;
      absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(source, rank, &arena);
      ASSERT_TRUE(stream.ok()) << stream.status();
      streams.push_back(*std::move(stream));
    }
    uint64_t most_cached = 0;
    for (size_t i = 0; i < o.max_batches; ++i) {
      for (uint32_t j = 0; j < 2; ++j) {
        absl::StatusOr<std::optional<StreamBatch>> next = streams[j]->Next();
        ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
        ASSERT_TRUE(BatchBytes((*next)->batch) == BatchBytes(want[2 * host + j][i].batch))
            << "host " << host << " rank " << 2 * host + j << " batch " << i;
      }
      most_cached = std::max(most_cached, testing::CachedObjectBytes(dir_ / StrCat("host", host)));
    }
    const uint64_t fetched = storage->store_stats()->bytes_fetched - index_bytes;
    EXPECT_GE(fetched, share) << "host " << host << " read its whole share";
    EXPECT_LE(fetched, share * 105 / 100) << "host " << host << ": its share, once";
    EXPECT_LT(fetched, total * 3 / 5) << "host " << host << ": not the dataset";
    EXPECT_LE(most_cached, limit);
  }
}

TEST_F(RemoteDatasetTest, AGlobalOrderLargerThanTheCacheIsRefused) {
  WriteAndUpload("cc", ShardFormat::kMfs);
  std::shared_ptr<RemoteStorage> storage = Storage(1 << 20);
  absl::StatusOr<std::unique_ptr<Dataset>> remote = OpenRemote("s3://data/cc", storage);
  ASSERT_TRUE(remote.ok()) << remote.status();
  StreamOptions o;
  o.batch_size = 8;
  o.hold_budget_bytes = 1 << 20;
  tbb::task_arena arena(1);
  absl::StatusOr<std::unique_ptr<Stream>> stream =
      Stream::Open(Source(*std::move(remote)), o, &arena);
  ASSERT_EQ(stream.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(stream.status().message(), HasSubstr("shard windows (window_shards)"));
  EXPECT_THAT(stream.status().message(), HasSubstr("s3://data/cc"));
  EXPECT_THAT(FieldsOf(stream.status()),
              ::testing::ElementsAre("window_shards", "storage.cache_limit_bytes"));
}

// With per-host shares a global order needs a host's share at hand, not the dataset: allowed
// when the largest share fits the limit, refused (naming the share) when it does not.
TEST_F(RemoteDatasetTest, WithSharesAGlobalOrderNeedsOnlyAShareInTheCache) {
  WriteAndUpload("cc", ShardFormat::kMfs);
  std::shared_ptr<RemoteStorage> storage = Storage(0);
  absl::StatusOr<std::unique_ptr<Dataset>> remote = OpenRemote("s3://data/cc", storage);
  ASSERT_TRUE(remote.ok()) << remote.status();
  const uint64_t total = (*remote)->total_bytes();
  const std::shared_ptr<const StreamSource> source = Source(*std::move(remote));
  StreamOptions o;
  o.batch_size = 8;
  o.order.canonical_nodes = 2;
  o.order.node_batch = 8;
  o.max_batches = 2;
  tbb::task_arena arena(1);
  o.hold_budget_bytes = total * 3 / 5;  // above a share (about half), below the dataset
  absl::StatusOr<std::unique_ptr<Stream>> allowed = Stream::Open(source, o, &arena);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  absl::StatusOr<std::optional<StreamBatch>> first = (*allowed)->Next();
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status();
  o.hold_budget_bytes = total * 2 / 5;  // below a share
  absl::StatusOr<std::unique_ptr<Stream>> refused = Stream::Open(source, o, &arena);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("bytes in a node's share"));
}

TEST_F(RemoteDatasetTest, ADamagedCachedCopyIsFetchedAgain) {
  const std::string local_root = WriteAndUpload("cc", ShardFormat::kMfs);
  absl::StatusOr<std::unique_ptr<Dataset>> local = Dataset::Open(local_root);
  ASSERT_TRUE(local.ok());
  std::shared_ptr<RemoteStorage> storage = Storage(0);
  absl::StatusOr<std::unique_ptr<Dataset>> remote = OpenRemote("s3://data/cc", storage);
  ASSERT_TRUE(remote.ok()) << remote.status();
  const size_t m = *(*remote)->FindModality("tok_rgb@224");
  Record a, b;
  ASSERT_TRUE((*remote)->Read(m, 0, &b).ok());
  // Damage every record byte past the header of the cached copy of that shard.
  const std::string name = fs::path((*remote)->shard(m, 0).path()).filename().string();
  std::string cached;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_ / "cache")) {
    const std::string file = e.path().filename().string();
    if (file.ends_with(name)) cached = e.path().string();
  }
  ASSERT_FALSE(cached.empty());
  for (int64_t at = 200; at < 4000; at += 97) testing::FlipByte(cached, at);
  const absl::Status read = (*remote)->Read(m, 0, &b);
  ASSERT_TRUE(read.ok()) << read;
  ASSERT_TRUE((*local)->Read(m, 0, &a).ok());
  EXPECT_TRUE(a.data == b.data);
  EXPECT_EQ(storage->fetch_stats().refetches, 1u);
}

TEST_F(RemoteDatasetTest, TarShardsAreIndexedByFetchingThem) {
  const std::string local_root = WriteAndUpload("tars", ShardFormat::kTar);
  absl::StatusOr<std::unique_ptr<Dataset>> local = Dataset::Open(local_root);
  ASSERT_TRUE(local.ok());
  std::shared_ptr<RemoteStorage> storage = Storage(0);
  absl::StatusOr<std::unique_ptr<Dataset>> remote = OpenRemote("s3://data/tars", storage);
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_EQ((*remote)->format(0), ShardFormat::kTar);
  Record a, b;
  for (size_t s = 0; s < kSamples; s += 31) {
    for (size_t m = 0; m < (*local)->num_modalities(); ++m) {
      ASSERT_TRUE((*local)->Read(m, s, &a).ok());
      ASSERT_TRUE((*remote)->Read(m, s, &b).ok());
      ASSERT_TRUE(a.data == b.data) << s << " " << m;
    }
  }
  // Opened again over the same cache (a restart): the member lists come from the cache, not
  // from fetching the shards again — even when the shards themselves were evicted.
  for (const fs::directory_entry& e : fs::directory_iterator(dir_ / "cache")) {
    if (e.path().filename().string().ends_with(".tar")) fs::remove(e.path());
  }
  std::shared_ptr<RemoteStorage> again = Storage(0);
  absl::StatusOr<std::unique_ptr<Dataset>> reopened = OpenRemote("s3://data/tars", again);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(again->fetch_stats().shards_fetched, 0u);
  EXPECT_LT(again->store_stats()->bytes_fetched, 20000u) << "the listing only";
  EXPECT_EQ((*reopened)->num_samples(), kSamples);
  ASSERT_TRUE((*reopened)->Read(0, kSamples - 1, &b).ok());
  ASSERT_TRUE((*local)->Read(0, kSamples - 1, &a).ok());
  EXPECT_TRUE(a.data == b.data);
}

TEST(ShardIndexFileTest, RoundTripsAndRefusesDamage) {
  ShardIndex index;
  index.layout = RecordLayout::Raw();
  for (int i = 0; i < 5; ++i) {
    index.first_dims.push_back(100 + i);
    index.kinds.push_back(i % 2 ? RecordKind::kJpeg : RecordKind::kJson);
    index.keys += StrCat("sample-", i);
    index.key_offsets.push_back(static_cast<uint32_t>(index.keys.size()));
  }
  const std::string bytes = EncodeShardIndex(index);
  absl::StatusOr<ShardIndex> back = DecodeShardIndex(bytes, "x.idx");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->layout == index.layout);
  EXPECT_EQ(back->first_dims, index.first_dims);
  EXPECT_EQ(back->kinds, index.kinds);
  EXPECT_EQ(back->key(3), "sample-3");
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string damaged = bytes;
    damaged[at] ^= 0x20;
    absl::StatusOr<ShardIndex> d = DecodeShardIndex(damaged, "x.idx");
    ASSERT_EQ(d.status().code(), absl::StatusCode::kDataLoss) << "byte " << at;
    EXPECT_THAT(d.status().message(), HasSubstr("x.idx"));
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeShardIndex(bytes.substr(0, n), "x.idx").ok()) << "cut at " << n;
  }
}

TEST_F(RemoteDatasetTest, WhatIsMissingIsNamed) {
  WriteAndUpload("cc", ShardFormat::kMfs);
  std::shared_ptr<RemoteStorage> storage = Storage(0);
  absl::StatusOr<std::unique_ptr<Dataset>> none = OpenRemote("s3://data/nothing-here", storage);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("s3://data/nothing-here"));
  absl::StatusOr<std::unique_ptr<Dataset>> bucket = OpenRemote("s3://no-such-bucket/x", storage);
  EXPECT_EQ(bucket.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(bucket.status().message(), HasSubstr("no-such-bucket"));
  // A modality folder that lacks a shard the others have.
  ASSERT_TRUE(s3_->Put("data", "cc/extra/shard-00000.mfs",
                       testing::ReadFile(dir_ / "cc/caption/shard-00000.mfs"))
                  .ok());
  absl::StatusOr<std::unique_ptr<Dataset>> ragged = OpenRemote("s3://data/cc", storage);
  EXPECT_EQ(ragged.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(ragged.status().message(), HasSubstr("s3://data/cc/extra"));
}

// Streams an epoch of `url` (cache limit 40% of the data, windows of 2 shards) and checks it
// against the local copy's batches, byte for byte.
void ExpectSameEpoch(const std::string& local_root, const std::string& url,
                     const std::shared_ptr<RemoteStorage>& storage) {
  absl::StatusOr<std::unique_ptr<Dataset>> local = Dataset::Open(local_root);
  ASSERT_TRUE(local.ok()) << local.status();
  absl::StatusOr<RemoteRoot> root = ListRemoteRoot(url, storage);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Dataset>> remote = OpenRemoteDataset(*root, storage);
  ASSERT_TRUE(remote.ok()) << remote.status();
  StreamOptions o;
  o.batch_size = 16;
  o.seed = 9;
  o.order.window_shards = 2;
  o.max_batches = kSamples / 16;
  o.hold_budget_bytes = storage->options().cache_limit;
  auto source = [](std::unique_ptr<Dataset> d) {
    absl::StatusOr<v1::MaskingConfig> config = PresetMaskingConfig("4m-7-tokens");
    return *StreamSource::Create(std::shared_ptr<const Dataset>(std::move(d)), *config);
  };
  const std::vector<StreamBatch> want = testing::DrainStream(source(*std::move(local)), o, 2);
  const std::vector<StreamBatch> got = testing::DrainStream(source(*std::move(remote)), o, 2);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(BatchBytes(got[i].batch) == BatchBytes(want[i].batch)) << "batch " << i;
  }
}

TEST_F(RemoteDatasetTest, HttpRootsServedByNginxReadTheirManifest) {
  const std::string local_root = WriteAndUpload("web", ShardFormat::kMfs);
  std::unique_ptr<testing::NginxServer> nginx =
      testing::NginxServer::Start(dir_.path().string(), dir_ / "nginx");
  if (nginx == nullptr) GTEST_SKIP() << "nginx is not installed";
  std::shared_ptr<RemoteStorage> storage = Storage(0);
  absl::StatusOr<RemoteRoot> unlisted = ListRemoteRoot(nginx->endpoint() + "/web", storage);
  EXPECT_EQ(unlisted.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unlisted.status().message(), HasSubstr("maskfeed-shard manifest"));
  // A manifest claiming an object past any shard's size is refused, naming it.
  testing::WriteFile(local_root + "/" + std::string(kManifestName),
                     EncodeManifest({{"rgb/shard-00000.mfs", uint64_t{1} << 60}}));
  absl::StatusOr<RemoteRoot> huge = ListRemoteRoot(nginx->endpoint() + "/web", storage);
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(huge.status().message(), HasSubstr("/web/rgb/shard-00000.mfs"));
  absl::StatusOr<std::vector<StoredObject>> listed = WriteManifest(local_root);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_GT(listed->size(), kShards * 6);
  uint64_t total = 0;
  for (const StoredObject& o : *listed) total += o.size;
  ExpectSameEpoch(local_root, nginx->endpoint() + "/web/", Storage(total * 2 / 5, "http-cache"));
}

// https:// roots, served by nginx with a certificate from a private CA made now by openssl:
// without that CA the open fails at once (no retry can help), naming the URL and
// AWS_CA_BUNDLE; with AWS_CA_BUNDLE naming it, an epoch equals the local copy's; a bundle
// that cannot be read is named.
TEST_F(RemoteDatasetTest, HttpsRootsVerifyTheServerAgainstAwsCaBundle) {
  const std::string local_root = WriteAndUpload("tls", ShardFormat::kMfs);
  absl::StatusOr<std::vector<StoredObject>> listed = WriteManifest(local_root);
  ASSERT_TRUE(listed.ok()) << listed.status();
  const fs::path pki = dir_ / "pki";
  const std::string command =
      StrCat(MASKFEED_SOURCE_DIR "/tests/testing/make_test_pki.sh ", pki.string());
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::unique_ptr<testing::NginxServer> nginx = testing::NginxServer::Start(
      dir_.path().string(), dir_ / "nginx-tls",
      testing::NginxServer::Tls{.certificate = (pki / "server.pem").string(),
                                .key = (pki / "server.key").string(),
                                .ca = (pki / "ca.pem").string()});
  if (nginx == nullptr) GTEST_SKIP() << "nginx is not installed";
  ASSERT_THAT(nginx->endpoint(), ::testing::StartsWith("https://"));
  struct Unset {
    ~Unset() { unsetenv("AWS_CA_BUNDLE"); }
  } unset;
  const std::string url = nginx->endpoint() + "/tls";

  unsetenv("AWS_CA_BUNDLE");
  std::shared_ptr<RemoteStorage> untrusting = Storage(0, "untrusting-cache");
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<RemoteRoot> untrusted = ListRemoteRoot(url, untrusting);
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(untrusted.status().message(), HasSubstr(url));
  EXPECT_THAT(untrusted.status().message(), HasSubstr("AWS_CA_BUNDLE"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << "not retried";

  setenv("AWS_CA_BUNDLE", (pki / "missing.pem").c_str(), 1);
  absl::StatusOr<RemoteRoot> missing = ListRemoteRoot(url, untrusting);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("missing.pem: cannot read"));

  setenv("AWS_CA_BUNDLE", (pki / "ca.pem").c_str(), 1);
  uint64_t total = 0;
  for (const StoredObject& o : *listed) total += o.size;
  ExpectSameEpoch(local_root, url + "/", Storage(total * 2 / 5, "https-cache"));
}

TEST_F(RemoteDatasetTest, AnEpochSurvivesResetsServerErrorsAndShortBodies) {
  const std::string local_root = WriteAndUpload("cc", ShardFormat::kMfs);
  // Every fourth request meets a fault: a 503, a reset, a body cut short, in turn.
  testing::FaultProxy proxy(moto_->port(), [](uint64_t n, const std::string&) {
    if (n % 4 != 1) return testing::Fault::kNone;
    const testing::Fault faults[] = {testing::Fault::kServiceUnavailable, testing::Fault::kReset,
                                     testing::Fault::kTruncate};
    return faults[(n / 4) % 3];
  });
  setenv("AWS_ENDPOINT_URL", proxy.endpoint().c_str(), 1);
  absl::StatusOr<std::unique_ptr<Dataset>> local = Dataset::Open(local_root);
  ASSERT_TRUE(local.ok());
  std::shared_ptr<RemoteStorage> storage = Storage((*local)->total_bytes() * 2 / 5);
  // Retries wait 200 ms and more by default: fine, and what a real store would see.
  ExpectSameEpoch(local_root, "s3://data/cc", storage);
  EXPECT_GT(proxy.injected(testing::Fault::kReset), 0u);
  EXPECT_GT(proxy.injected(testing::Fault::kTruncate), 0u);
  EXPECT_GT(proxy.injected(testing::Fault::kServiceUnavailable), 0u);
  EXPECT_GE(storage->store_stats()->retries, proxy.injected(testing::Fault::kReset));
  EXPECT_EQ(storage->store_stats()->failures, 0u);
}

TEST_F(RemoteDatasetTest, ForbiddenAndMissingObjectsFailAtOnceNamingTheUrl) {
  WriteAndUpload("cc", ShardFormat::kMfs);
  // Shard 3 of every folder answers 403, shard 5 answers 404 (listed, gone when read).
  testing::FaultProxy proxy(moto_->port(), [](uint64_t, const std::string& line) {
    if (line.find("shard-00003") != std::string::npos) return testing::Fault::kForbidden;
    if (line.find("shard-00005") != std::string::npos) return testing::Fault::kNotFound;
    return testing::Fault::kNone;
  });
  setenv("AWS_ENDPOINT_URL", proxy.endpoint().c_str(), 1);
  std::shared_ptr<RemoteStorage> storage = Storage(0);
  absl::StatusOr<RemoteRoot> root = ListRemoteRoot("s3://data/cc", storage);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::unique_ptr<Dataset>> dataset = OpenRemoteDataset(*root, storage);
  ASSERT_FALSE(dataset.ok());
  // Shards open in parallel and the lowest-numbered failure is reported: shard 3's.
  EXPECT_EQ(dataset.status().code(), absl::StatusCode::kPermissionDenied) << dataset.status();
  EXPECT_THAT(dataset.status().message(), HasSubstr("/shard-00003.mfs"));
  EXPECT_THAT(dataset.status().message(), HasSubstr("s3://data/cc/"));
  EXPECT_THAT(dataset.status().message(), HasSubstr("AccessDenied"));
  EXPECT_EQ(storage->store_stats()->retries, 0u) << "403 and 404 are not retried";
  EXPECT_GT(proxy.injected(testing::Fault::kNotFound), 0u);
  // The 404 alone: NOT_FOUND naming the object.
  absl::StatusOr<std::shared_ptr<ObjectStore>> store = OpenObjectStore("s3://data/cc");
  ASSERT_TRUE(store.ok());
  absl::StatusOr<std::string> gone = (*store)->Get("caption/shard-00005.mfs");
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(gone.status().message(), HasSubstr("s3://data/cc/caption/shard-00005.mfs"));
}

}  // namespace
}  // namespace maskfeed
