#include "pipeline/stream/stream.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/tools/synth_dataset.h"
#include "tests/testing/stream_drain.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::FlipByte;
using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

constexpr size_t kSamples = 96;

// A synthetic 4M-7 dataset (raw .mfs, so byte offsets are predictable) and a source over it.
class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = MakeSource(dir_ / "d");
    ASSERT_NE(source_, nullptr);
  }

  std::shared_ptr<const StreamSource> MakeSource(const std::string& root,
                                                 const std::string& preset = "4m-7-tokens") {
    if (!std::filesystem::exists(root)) {
      SynthOptions synth;
      synth.preset = SynthOptions::kTokensPreset;
      synth.samples = kSamples;
      synth.shards = 3;
      synth.out = root;
      synth.format = ShardFormat::kMfs;
      EXPECT_TRUE(SynthesizeDataset(synth).ok());
    }
    absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(root);
    absl::StatusOr<v1::MaskingConfig> config = PresetMaskingConfig(preset);
    if (!dataset.ok() || !config.ok()) {
      ADD_FAILURE() << dataset.status() << " " << config.status();
      return nullptr;
    }
    absl::StatusOr<std::shared_ptr<const StreamSource>> source =
        StreamSource::Create(std::shared_ptr<const Dataset>(std::move(*dataset)), *config);
    EXPECT_TRUE(source.ok()) << source.status();
    return source.ok() ? *source : nullptr;
  }

  static StreamOptions Options(uint32_t batch_size, uint64_t max_batches) {
    StreamOptions o;
    o.batch_size = batch_size;
    o.max_batches = max_batches;
    o.seed = 17;
    return o;
  }

  // Every batch of a stream, until it ends.
  std::vector<StreamBatch> Drain(const StreamOptions& options, int threads,
                                 std::shared_ptr<const StreamSource> source = nullptr) {
    return testing::DrainStream(source ? source : source_, options, threads);
  }

  TempDir dir_;
  std::shared_ptr<const StreamSource> source_;
};

// All bytes of one row of every tensor of a batch.
std::string RowBytes(const Batch& batch, int64_t row) {
  std::string out;
  for (const ModalityBatch& m : batch.modalities) {
    for (const HostTensor* t :
         {&m.tensor, &m.input_mask, &m.target_mask, &m.decoder_attention_mask}) {
      const size_t stride = t->data.size() / static_cast<size_t>(batch.size);
      out.append(reinterpret_cast<const char*>(t->data.data()) + row * stride, stride);
    }
  }
  return out;
}

std::string OneBatchBytes(const StreamBatch& b) {
  std::string out;
  for (int64_t r = 0; r < b.batch.size; ++r) out += RowBytes(b.batch, r);
  return out;
}

std::string AllBytes(const std::vector<StreamBatch>& batches) {
  std::string out;
  for (const StreamBatch& b : batches) out += OneBatchBytes(b);
  return out;
}

TEST_F(StreamTest, SameSeedSameBytesForOneTwoAndEightThreads) {
  const std::vector<StreamBatch> one = Drain(Options(16, 8), 1);
  ASSERT_EQ(one.size(), 8u);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i].sequence, i);
  const std::string reference = AllBytes(one);
  EXPECT_EQ(AllBytes(Drain(Options(16, 8), 2)), reference);
  EXPECT_EQ(AllBytes(Drain(Options(16, 8), 8)), reference);
  StreamOptions other = Options(16, 8);
  other.seed = 18;
  EXPECT_NE(AllBytes(Drain(other, 2)), reference);
}

TEST_F(StreamTest, ResumingFromATokenContinuesExactly) {
  const std::vector<StreamBatch> full = Drain(Options(8, 10), 2);
  ASSERT_EQ(full.size(), 10u);
  // Cut after batch 3 (its token), resume for the remaining 6.
  StreamOptions resumed = Options(8, 6);
  resumed.resume_token = full[3].resume_token;
  const std::vector<StreamBatch> rest = Drain(resumed, 2);
  ASSERT_EQ(rest.size(), 6u);
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_EQ(rest[i].sequence, 4 + i);
    EXPECT_EQ(rest[i].batch.samples, full[4 + i].batch.samples);
    EXPECT_EQ(OneBatchBytes(rest[i]), OneBatchBytes(full[4 + i])) << "batch " << 4 + i;
  }
}

TEST_F(StreamTest, RanksCoverEachEpochOnceAndTheGlobalSequenceIgnoresWorldSize) {
  constexpr uint32_t kGlobal = 24;  // samples per global batch
  // One rank with the whole global batch: 4 batches = one epoch of 96.
  const std::vector<StreamBatch> single = Drain(Options(kGlobal, kSamples / kGlobal), 2);
  std::vector<uint64_t> sequence;
  for (const StreamBatch& b : single)
    sequence.insert(sequence.end(), b.batch.samples.begin(), b.batch.samples.end());
  std::vector<uint64_t> sorted = sequence;
  std::sort(sorted.begin(), sorted.end());
  for (uint64_t s = 0; s < kSamples; ++s)
    ASSERT_EQ(sorted[s], s) << "an epoch visits each sample once";
  const std::string single_bytes = AllBytes(single);

  for (uint32_t world : {2u, 4u}) {
    std::vector<std::vector<StreamBatch>> ranks;
    for (uint32_t r = 0; r < world; ++r) {
      StreamOptions o = Options(kGlobal / world, kSamples / kGlobal);
      o.rank = r;
      o.world_size = world;
      ranks.push_back(Drain(o, 2));
    }
    std::vector<uint64_t> global;
    std::string bytes;
    for (size_t k = 0; k < kSamples / kGlobal; ++k) {
      for (uint32_t r = 0; r < world; ++r) {
        const Batch& b = ranks[r][k].batch;
        global.insert(global.end(), b.samples.begin(), b.samples.end());
        for (int64_t row = 0; row < b.size; ++row) bytes += RowBytes(b, row);
      }
    }
    EXPECT_EQ(global, sequence) << "world " << world;
    EXPECT_EQ(bytes, single_bytes) << "world " << world << ": same samples, same masks";
  }
}

// The windowed order (window_shards): with windows of one shard, each run of a shard's
// samples comes from that shard alone; every sample once per epoch; the global sequence and
// bytes are the same for any world size; tokens resume it exactly and are refused by a stream
// of the other order.
TEST_F(StreamTest, WindowedOrderStreamsShardByShardAndKeepsTheGuarantees) {
  ASSERT_EQ(source_->dataset().num_shards(), 3u);
  const size_t per_shard = source_->dataset().shard_size(0);
  StreamOptions o = Options(8, kSamples / 8);
  o.order.window_shards = 1;
  const std::vector<StreamBatch> single = Drain(o, 2);
  std::vector<uint64_t> sequence;
  for (const StreamBatch& b : single) {
    sequence.insert(sequence.end(), b.batch.samples.begin(), b.batch.samples.end());
  }
  ASSERT_EQ(sequence.size(), kSamples);
  std::vector<uint64_t> sorted = sequence;
  std::sort(sorted.begin(), sorted.end());
  for (uint64_t s = 0; s < kSamples; ++s) ASSERT_EQ(sorted[s], s);
  for (size_t start = 0; start < kSamples; start += per_shard) {
    const size_t shard = sequence[start] / per_shard;
    for (size_t i = start; i < start + per_shard; ++i) {
      ASSERT_EQ(sequence[i] / per_shard, shard) << "position " << i;
    }
  }
  EXPECT_NE(sequence[0] + 1, sequence[1]) << "shuffled within the window";
  // World size 2: the same global sequence and bytes.
  std::vector<std::vector<StreamBatch>> ranks;
  for (uint32_t r = 0; r < 2; ++r) {
    StreamOptions half = Options(4, kSamples / 8);
    half.order.window_shards = 1;
    half.rank = r;
    half.world_size = 2;
    ranks.push_back(Drain(half, 2));
  }
  std::vector<uint64_t> global;
  std::string bytes;
  for (size_t k = 0; k < kSamples / 8; ++k) {
    for (uint32_t r = 0; r < 2; ++r) {
      const Batch& b = ranks[r][k].batch;
      global.insert(global.end(), b.samples.begin(), b.samples.end());
      for (int64_t row = 0; row < b.size; ++row) bytes += RowBytes(b, row);
    }
  }
  EXPECT_EQ(global, sequence);
  EXPECT_EQ(bytes, AllBytes(single));
  // Resume after batch 4.
  StreamOptions resumed = Options(8, 3);
  resumed.order.window_shards = 1;
  resumed.resume_token = single[4].resume_token;
  const std::vector<StreamBatch> rest = Drain(resumed, 1);
  ASSERT_EQ(rest.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(OneBatchBytes(rest[i]), OneBatchBytes(single[5 + i]));
  StreamOptions global_order = Options(8, 1);
  global_order.resume_token = single[4].resume_token;
  tbb::task_arena arena(1);
  absl::StatusOr<std::unique_ptr<Stream>> refused = Stream::Open(source_, global_order, &arena);
  EXPECT_FALSE(refused.ok()) << "a windowed token does not resume the global order";
}

// Per-host shares (canonical_nodes): 3 nodes, one shard each. With 1 rank per host and batch
// 8, or 2 ranks per host and batch 4 (node_batch 8 both times), each host reads only its
// node's shard, each node its shard once per node epoch, and both world sizes read the same
// global sequence and bytes; tokens resume exactly and are tied to the shares.
TEST_F(StreamTest, CanonicalNodesKeepEachHostOnItsShare) {
  ASSERT_EQ(source_->dataset().num_shards(), 3u);
  const size_t per_shard = source_->dataset().shard_size(0);
  constexpr uint64_t kBatches = 8;  // 192 positions: two node epochs of 32
  auto options = [](uint32_t batch, uint32_t rank, uint32_t world) {
    StreamOptions o = Options(batch, kBatches);
    o.rank = rank;
    o.world_size = world;
    o.order.window_shards = 1;
    o.order.canonical_nodes = 3;
    o.order.node_batch = 8;
    return o;
  };
  std::vector<std::vector<uint64_t>> sequences;
  std::vector<std::string> bytes;
  for (uint32_t per_host : {1u, 2u}) {
    const uint32_t world = 3 * per_host;
    std::vector<std::vector<StreamBatch>> ranks;
    for (uint32_t r = 0; r < world; ++r) ranks.push_back(Drain(options(8 / per_host, r, world), 2));
    std::vector<std::set<size_t>> host_shards(3);
    std::vector<std::vector<uint64_t>> host_samples(3);
    sequences.emplace_back();
    bytes.emplace_back();
    for (size_t k = 0; k < kBatches; ++k) {
      for (uint32_t r = 0; r < world; ++r) {
        const Batch& b = ranks[r][k].batch;
        sequences.back().insert(sequences.back().end(), b.samples.begin(), b.samples.end());
        for (int64_t row = 0; row < b.size; ++row) {
          bytes.back() += RowBytes(b, row);
          host_shards[r / per_host].insert(b.samples[row] / per_shard);
          host_samples[r / per_host].push_back(b.samples[row]);
        }
      }
    }
    std::set<size_t> all;
    for (uint32_t h = 0; h < 3; ++h) {
      EXPECT_EQ(host_shards[h].size(), 1u) << per_host << " ranks per host: host " << h;
      all.insert(host_shards[h].begin(), host_shards[h].end());
      std::vector<uint64_t> epoch(host_samples[h].begin(), host_samples[h].begin() + per_shard);
      std::sort(epoch.begin(), epoch.end());
      for (size_t i = 0; i < per_shard; ++i) {
        ASSERT_EQ(epoch[i], epoch[0] + i) << "host " << h << ": its shard once per node epoch";
      }
    }
    EXPECT_EQ(all.size(), 3u) << "the hosts share out the shards";
  }
  EXPECT_EQ(sequences[0], sequences[1]);
  EXPECT_EQ(bytes[0], bytes[1]);
  // Resume rank 1 of 3 after its batch 3; a token of these shares opens no other order.
  const std::vector<StreamBatch> rank1 = Drain(options(8, 1, 3), 2);
  StreamOptions resumed = options(8, 1, 3);
  resumed.max_batches = 4;
  resumed.resume_token = rank1[3].resume_token;
  const std::vector<StreamBatch> rest = Drain(resumed, 1);
  ASSERT_EQ(rest.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(OneBatchBytes(rest[i]), OneBatchBytes(rank1[4 + i]));
  tbb::task_arena arena(1);
  for (auto change : std::vector<std::function<void(StreamOptions*)>>{
           [](StreamOptions* o) { o->order.canonical_nodes = 0; },
           [](StreamOptions* o) { o->order.canonical_nodes = 2; },
           [](StreamOptions* o) { o->order.node_batch = 4; }}) {
    StreamOptions other = resumed;
    change(&other);
    EXPECT_FALSE(Stream::Open(source_, other, &arena).ok()) << "refused";
  }
  StreamOptions too_many = options(8, 0, 3);
  too_many.order.canonical_nodes = 4;
  absl::StatusOr<std::unique_ptr<Stream>> refused = Stream::Open(source_, too_many, &arena);
  EXPECT_THAT(refused.status().message(), HasSubstr("canonical_nodes: 4 is more than"));
}

TEST_F(StreamTest, RepeatsAreSpreadViewsWithDistinctMasks) {
  // 96 samples, 3 repeats, the default spread (1000 positions: one group of all 96 slots):
  // positions 0-95 read every sample's first copy, 96-191 its second, 192-287 its third.
  StreamOptions o = Options(12, 24);
  o.order.n_repeats = 3;
  const std::vector<StreamBatch> batches = Drain(o, 2);
  ASSERT_EQ(batches.size(), 24u);
  std::map<uint64_t, std::vector<std::string>> views;  // sample -> its rows' bytes
  for (const StreamBatch& b : batches) {
    EXPECT_EQ(std::set(b.batch.samples.begin(), b.batch.samples.end()).size(), 12u)
        << "batch " << b.sequence << " holds no sample twice";
    for (int64_t r = 0; r < 12; ++r) views[b.batch.samples[r]].push_back(RowBytes(b.batch, r));
  }
  ASSERT_EQ(views.size(), kSamples);
  for (const auto& [sample, rows] : views) {
    ASSERT_EQ(rows.size(), 3u) << "sample " << sample;
    EXPECT_EQ(std::set(rows.begin(), rows.end()).size(), 3u) << "each view is masked anew";
  }
}

// An elastic restart: a job of 2 ranks stops after step 3; a job of 1 rank (the same global
// batch) or of 4 (another) goes on from the tokens of both old ranks, and together they read
// the global sequence one rank reads, row for row and byte for byte: nothing lost or repeated.
TEST_F(StreamTest, ResumesAtAnotherWorldSizeFromTheOldRanksTokens) {
  auto rows_of = [](const std::vector<std::vector<StreamBatch>>& ranks, std::string* bytes,
                    std::vector<uint64_t>* samples) {
    for (size_t k = 0; k < ranks[0].size(); ++k) {
      for (const std::vector<StreamBatch>& rank : ranks) {
        const Batch& b = rank[k].batch;
        samples->insert(samples->end(), b.samples.begin(), b.samples.end());
        for (int64_t row = 0; row < b.size; ++row) *bytes += RowBytes(b, row);
      }
    }
  };
  auto job = [&](uint32_t world, uint32_t batch, uint64_t steps,
                 const std::vector<std::string>& old_tokens) {
    std::vector<std::vector<StreamBatch>> ranks;
    for (uint32_t r = 0; r < world; ++r) {
      StreamOptions o = Options(batch, steps);
      o.order.n_repeats = 2;  // spread repeats keep to positions too
      o.rank = r;
      o.world_size = world;
      o.resume_tokens = old_tokens;
      ranks.push_back(Drain(o, 2));
      EXPECT_EQ(ranks.back().size(), steps);
    }
    return ranks;
  };
  // The reference: one rank, 8 rows a batch, 29 batches = positions 0..231.
  StreamOptions single = Options(8, 29);
  single.order.n_repeats = 2;
  std::string want;
  std::vector<uint64_t> want_samples;
  std::vector<std::vector<StreamBatch>> reference;
  reference.push_back(Drain(single, 2));
  rows_of(reference, &want, &want_samples);

  const std::vector<std::vector<StreamBatch>> old = job(2, 12, 3, {});  // positions 0..71
  const std::vector<std::string> tokens = {old[0].back().resume_token, old[1].back().resume_token};
  for (const auto& [world, batch, steps] : {std::tuple{1u, 24u, 5u}, std::tuple{4u, 8u, 5u}}) {
    std::vector<std::vector<StreamBatch>> next = job(world, batch, steps, tokens);
    for (const std::vector<StreamBatch>& rank : next) {
      EXPECT_EQ(rank.front().sequence, 3u) << "batch numbers go on from the step reached";
    }
    std::string got;
    std::vector<uint64_t> samples;
    rows_of(old, &got, &samples);
    rows_of(next, &got, &samples);
    const size_t n = samples.size();
    EXPECT_EQ(samples, std::vector<uint64_t>(want_samples.begin(), want_samples.begin() + n))
        << "2 -> " << world;
    EXPECT_EQ(got, want.substr(0, got.size())) << "2 -> " << world;

    // The new job's own tokens resume it in turn.
    StreamOptions again = Options(batch, steps - 2);
    again.order.n_repeats = 2;
    again.rank = world - 1;
    again.world_size = world;
    again.resume_token = next[world - 1][1].resume_token;
    const std::vector<StreamBatch> rest = Drain(again, 2);
    ASSERT_EQ(rest.size(), steps - 2);
    for (size_t i = 0; i < rest.size(); ++i) {
      EXPECT_EQ(OneBatchBytes(rest[i]), OneBatchBytes(next[world - 1][2 + i]));
    }
  }

  tbb::task_arena arena(1);
  auto open_error = [&](const StreamOptions& o) {
    absl::StatusOr<std::unique_ptr<Stream>> s = Stream::Open(source_, o, &arena);
    return s.ok() ? absl::OkStatus() : s.status();
  };
  StreamOptions o = Options(24, 1);
  o.order.n_repeats = 2;
  o.resume_token = tokens[0];  // one old rank's token is not enough
  EXPECT_THAT(Message(open_error(o)), HasSubstr("pass the last tokens of all 2 ranks"));
  StreamOptions same = Options(12, 1);  // the same layout: each rank its own token
  same.order.n_repeats = 2;
  same.rank = 1;
  same.world_size = 2;
  same.resume_token = tokens[0];
  EXPECT_THAT(Message(open_error(same)),
              HasSubstr("issued for rank 0 of 2 with batch size 12; this stream is rank 1 of 2"));
  o.resume_token.clear();
  o.resume_tokens = {tokens[0], tokens[0]};
  EXPECT_THAT(Message(open_error(o)), HasSubstr("given twice"));
  o.resume_tokens = {tokens[0], old[1][1].resume_token};
  EXPECT_THAT(Message(open_error(o)), HasSubstr("saved after the same step"));
  o.resume_tokens = tokens;
  o.resume_token = tokens[0];
  EXPECT_THAT(Message(open_error(o)), HasSubstr("not both"));
}

// An evaluation pass: every sample once, in dataset order, across the ranks; then the stream
// ends. Padded, every rank gets as many batches and rows past the last sample are fully
// masked; partial, a rank gets only rows with a sample.
TEST_F(StreamTest, AnEvaluationPassReadsEverySampleOnceThenEnds) {
  for (const bool partial : {false, true}) {
    std::vector<uint64_t> seen;
    std::vector<std::vector<StreamBatch>> ranks;
    for (uint32_t r = 0; r < 2; ++r) {
      StreamOptions o = Options(20, 0);
      o.order = ForEvaluation(o.order);
      o.rank = r;
      o.world_size = 2;
      o.end_position = kSamples;
      o.partial_last = partial;
      ranks.push_back(Drain(o, 2));
    }
    // 96 samples in global batches of 40: rank 0 reads 0-19, 40-59, 80-95; rank 1 20-39, 60-79.
    ASSERT_EQ(ranks[0].size(), 3u);
    ASSERT_EQ(ranks[1].size(), partial ? 2u : 3u);
    for (size_t k = 0; k < 3; ++k) {
      for (uint32_t r = 0; r < 2; ++r) {
        if (k >= ranks[r].size()) continue;
        const Batch& b = ranks[r][k].batch;
        const uint64_t first = (k * 2 + r) * 20;
        const uint32_t with_sample =
            first >= kSamples ? 0 : std::min<uint64_t>(20, kSamples - first);
        EXPECT_EQ(b.size, partial ? with_sample : 20);
        EXPECT_EQ(b.padding_rows, partial ? 0 : 20 - with_sample);
        for (int64_t row = 0; row < b.size; ++row) {
          if (static_cast<uint32_t>(row) < with_sample) {
            seen.push_back(b.samples[row]);
            continue;
          }
          EXPECT_EQ(b.samples[row], ~uint64_t{0});
          for (const ModalityBatch& m : b.modalities) {
            for (const HostTensor* t : {&m.input_mask, &m.target_mask}) {
              const size_t stride = t->data.size() / static_cast<size_t>(b.size);
              const auto* bytes = reinterpret_cast<const uint8_t*>(t->data.data()) + row * stride;
              EXPECT_TRUE(std::all_of(bytes, bytes + stride, [](uint8_t v) { return v == 1; }))
                  << m.name << ": a padding row is fully masked";
            }
          }
        }
      }
    }
    std::vector<uint64_t> in_order(kSamples);
    for (uint64_t i = 0; i < kSamples; ++i) in_order[i] = i;
    EXPECT_EQ(seen, in_order) << "every sample once, in dataset order";
  }
  tbb::task_arena arena(1);
  StreamOptions shuffled = Options(20, 0);
  shuffled.end_position = kSamples;
  absl::StatusOr<std::unique_ptr<Stream>> s = Stream::Open(source_, shuffled, &arena);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Message(s.status()), HasSubstr("end_position"));
}

TEST_F(StreamTest, ASlowConsumerKeepsTheQueueAndTheBuffersBounded) {
  tbb::task_arena arena(2);
  StreamOptions o = Options(8, 0);  // endless
  o.queue_depth = 2;
  absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(source_, o, &arena);
  ASSERT_TRUE(stream.ok());
  // The producer counts a batch, then waits for room: once it has counted delivered + 3, the
  // queue holds 2 and the third waits. It can never count more before the consumer takes one.
  const StreamMetrics& metrics = (*stream)->metrics();
  auto wait_for_batches = [&](uint64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (metrics.batches.load() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    return metrics.batches.load();
  };
  std::optional<StreamBatch> held;  // the consumer's batch, alive while the queue refills
  size_t batch_bytes = 0;
  for (uint64_t delivered = 0; delivered < 5; ++delivered) {
    ASSERT_EQ(wait_for_batches(delivered + 3), delivered + 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // time to overrun, if it did
    EXPECT_EQ(metrics.batches.load(), delivered + 3) << "built a second batch with the queue full";
    EXPECT_EQ((*stream)->queue_high_water(), 2u) << "the producer filled the queue";
    if (held.has_value()) {
      EXPECT_LE((*stream)->buffer_bytes(), 4 * batch_bytes)
          << "2 queued + 1 built and waiting + 1 held, at most";
    }
    absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
    ASSERT_TRUE(next.ok() && next->has_value());
    held = std::move(**next);
    batch_bytes = held->batch.bytes();
  }
  EXPECT_GT(batch_bytes, 0u);
}

TEST_F(StreamTest, CancelStopsPromptlyAndNextSaysCancelled) {
  tbb::task_arena arena(2);
  MetricsRegistry registry;
  StreamOptions o = Options(64, 0);
  o.id = "cancel-me";
  absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(source_, o, &arena, &registry);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Next().ok());
  EXPECT_EQ(registry.active_streams(), 1u);
  (*stream)->Cancel();
  absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
  EXPECT_EQ(next.status().code(), absl::StatusCode::kCancelled);
  stream->reset();  // joins the producer: nothing keeps running
  EXPECT_EQ(registry.active_streams(), 0u);
  EXPECT_THAT(registry.RenderPrometheus(), HasSubstr("maskfeed_streams_closed_total 1"));
  EXPECT_THAT(registry.RenderPrometheus(), HasSubstr("maskfeed_budget_minimums_unmet_total 0"));
}

TEST_F(StreamTest, CorruptRecordEndsTheStreamWithDataLossOrIsSkipped) {
  TempDir dir;
  std::shared_ptr<const StreamSource> clean = MakeSource(dir / "d");
  // Corrupt every det record of shard 1 (raw records: flip a byte inside each).
  const std::string victim = dir / "d/det/shard-00001.mfs";
  absl::StatusOr<std::unique_ptr<ShardReader>> reader = OpenShard(victim);
  ASSERT_TRUE(reader.ok());
  // Record 0 of shard 1 starts right after the 64-byte header; flip its first byte if any.
  size_t first_nonempty = 0;
  while ((*reader)->first_dim(first_nonempty) == 0) ++first_nonempty;
  uint64_t offset = 64;
  for (size_t r = 0; r < first_nonempty; ++r) offset += (*reader)->first_dim(r) * 4;
  ASSERT_NO_FATAL_FAILURE(FlipByte(victim, static_cast<int64_t>(offset)));
  std::shared_ptr<const StreamSource> source =
      MakeSource(dir / "d");  // opens fine: damage is in a record

  StreamOptions o = Options(32, kSamples / 32);
  o.order.shuffle = false;  // dataset order: shard 1 is read in batch 1
  tbb::task_arena arena(2);
  absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(source, o, &arena);
  ASSERT_TRUE(stream.ok());
  absl::Status error;
  int delivered = 0;
  while (true) {
    absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
    if (!next.ok()) {
      error = next.status();
      break;
    }
    if (!next->has_value()) break;
    ++delivered;
  }
  // The damaged sample may have had no det budget in its plan (then it was not read); with
  // 96 samples the record is read in all but rare seeds, and seed 17 reads it.
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(error), HasSubstr(victim));
  EXPECT_THAT(Message(error), HasSubstr("checksum mismatch"));
  EXPECT_EQ(delivered, 1) << "batches before the damage arrive; the stream then ends";
  for (int again = 0; again < 2; ++again) {
    absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
    EXPECT_EQ(next.status(), error) << "after an error, Next() keeps returning it";
  }

  o.on_corrupt = CorruptRecordPolicy::kSkip;
  absl::StatusOr<std::unique_ptr<Stream>> skipping = Stream::Open(source, o, &arena);
  ASSERT_TRUE(skipping.ok());
  int batches = 0;
  while (true) {
    absl::StatusOr<std::optional<StreamBatch>> next = (*skipping)->Next();
    ASSERT_TRUE(next.ok()) << next.status();
    if (!next->has_value()) break;
    ++batches;
  }
  EXPECT_EQ(batches, 3);
  EXPECT_EQ((*skipping)->metrics().skipped_records.load(), 1u);
}

TEST_F(StreamTest, InvalidOptionsAndForeignTokensAreRejectedNamingTheField) {
  tbb::task_arena arena(1);
  auto open_error = [&](const StreamOptions& o) {
    absl::StatusOr<std::unique_ptr<Stream>> s = Stream::Open(source_, o, &arena);
    return s.ok() ? absl::OkStatus() : s.status();
  };
  StreamOptions o = Options(0, 1);
  EXPECT_THAT(Message(open_error(o)), HasSubstr("batch_size"));
  o = Options(8, 1);
  o.rank = 2;
  o.world_size = 2;
  EXPECT_EQ(open_error(o).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(open_error(o)), HasSubstr("rank: 2 is not below world_size 2"));

  const std::vector<StreamBatch> batches = Drain(Options(8, 1), 1);
  o = Options(8, 1);
  o.resume_token = "garbage";
  EXPECT_THAT(Message(open_error(o)), HasSubstr("resume_token: not a maskfeed resume token"));
  o.resume_token = batches[0].resume_token;
  o.seed = 99;  // another order
  EXPECT_THAT(Message(open_error(o)), HasSubstr("resume_token: issued for another dataset"));
  o.seed = 17;
  // A token from another masking config.
  absl::StatusOr<v1::MaskingConfig> config =
      ParseMaskingConfig("preset: \"4m-7-tokens\" input_tokens { max: 64 }");
  absl::StatusOr<std::shared_ptr<const StreamSource>> other = StreamSource::Create(
      std::shared_ptr<const Dataset>(std::move(*Dataset::Open(dir_ / "d"))), *config);
  ASSERT_TRUE(other.ok());
  o = Options(8, 1);
  o.resume_token = batches[0].resume_token;
  absl::StatusOr<std::unique_ptr<Stream>> s = Stream::Open(*other, o, &arena);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Message(s.status()), HasSubstr("issued for another dataset, masking config"));
}

// Two datasets: the 4M-7 one, and a caption-only one (another masking config over the same
// folders). Rows of the second have every other modality as a fully masked placeholder.
TEST_F(StreamTest, MixturesFollowWeightsAndMaskMissingModalities) {
  absl::StatusOr<v1::MaskingConfig> captions = ParseMaskingConfig(R"pb(
    modalities { name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 }
    mixture {
      input_alpha { key: "caption" value: 1 }
      target_alpha { key: "caption" value: 1 }
    }
  )pb");
  ASSERT_TRUE(captions.ok());
  absl::StatusOr<std::shared_ptr<const StreamSource>> caption_source = StreamSource::Create(
      std::shared_ptr<const Dataset>(std::move(*Dataset::Open(dir_ / "d"))), *captions);
  ASSERT_TRUE(caption_source.ok()) << caption_source.status();
  std::vector<MixtureEntry> entries = {{"4m7", 3, source_}, {"captions", 1, *caption_source}};
  absl::StatusOr<std::shared_ptr<const MixtureSource>> mixture = MixtureSource::Create(entries);
  ASSERT_TRUE(mixture.ok()) << mixture.status();
  ASSERT_EQ((*mixture)->spec().modalities.size(), 7u);

  auto drain = [&](const StreamOptions& o, int threads) {
    tbb::task_arena arena(threads);
    absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(*mixture, o, &arena);
    EXPECT_TRUE(stream.ok()) << stream.status();
    std::vector<StreamBatch> out;
    while (stream.ok()) {
      absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
      if (!next.ok() || !next->has_value()) break;
      out.push_back(std::move(**next));
    }
    return out;
  };
  const std::vector<StreamBatch> batches = drain(Options(128, 8), 2);  // exactly one block
  ASSERT_EQ(batches.size(), 8u);
  const size_t caption = *(*mixture)->spec().FindModality("caption");
  const size_t rgb = *(*mixture)->spec().FindModality("tok_rgb@224");
  int from_captions = 0;
  for (const StreamBatch& b : batches) {
    for (int64_t r = 0; r < b.batch.size; ++r) {
      if (b.batch.datasets[r] != 1) continue;
      ++from_captions;
      const ModalityBatch& img = b.batch.modalities[rgb];
      for (int j = 0; j < 196; ++j) {
        ASSERT_EQ(img.input_mask.as<uint8_t>()[r * 196 + j], 1);
        ASSERT_EQ(img.target_mask.as<uint8_t>()[r * 196 + j], 1);
        ASSERT_EQ(img.tensor.as<int32_t>()[r * 196 + j], 0);
      }
      // The caption dataset gives the caption all the input budget it can take.
      ASSERT_EQ(b.batch.modalities[caption].input_mask.as<uint8_t>()[r * 514], 0);
    }
  }
  EXPECT_EQ(from_captions, 256) << "a quarter of each 1024-slot block";
  EXPECT_EQ(AllBytes(drain(Options(128, 8), 1)), AllBytes(batches)) << "thread count";
  StreamOptions resumed = Options(128, 4);
  resumed.resume_token = batches[3].resume_token;
  const std::vector<StreamBatch> rest = drain(resumed, 2);
  ASSERT_EQ(rest.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(OneBatchBytes(rest[i]), OneBatchBytes(batches[4 + i]));
  // A single-dataset token does not resume a mixture.
  StreamOptions foreign = Options(128, 1);
  foreign.resume_token = Drain(Options(128, 1), 1)[0].resume_token;
  tbb::task_arena arena(1);
  EXPECT_FALSE(Stream::Open(*mixture, foreign, &arena).ok());
}

// 4M warns when budget draws never meet min_tokens; we use the last draw and count it.
TEST_F(StreamTest, UnmetBudgetMinimumsAreCounted) {
  absl::StatusOr<v1::MaskingConfig> config = ParseMaskingConfig(R"pb(
    modalities { name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 min_tokens: 100 }
    modalities { name: "det" type: MODALITY_TYPE_SEQ max_tokens: 256 min_tokens: 100 }
    input_tokens { max: 128 }
    target_tokens { max: 128 }
    mixture {}
  )pb");
  ASSERT_TRUE(config.ok());
  absl::StatusOr<std::shared_ptr<const StreamSource>> source = StreamSource::Create(
      std::shared_ptr<const Dataset>(std::move(*Dataset::Open(dir_ / "d"))), *config);
  ASSERT_TRUE(source.ok()) << source.status();
  tbb::task_arena arena(1);
  absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(*source, Options(4, 1), &arena);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Next().ok());
  EXPECT_EQ((*stream)->metrics().budget_minimums_unmet.load(), 4u) << "200 needed, 128 given";
}

TEST_F(StreamTest, MixturesRejectConflictingModalityLayouts) {
  absl::StatusOr<v1::MaskingConfig> short_captions = ParseMaskingConfig(R"pb(
    modalities { name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 64 }
    mixture { input_alpha { key: "caption" value: 1 } }
  )pb");
  absl::StatusOr<std::shared_ptr<const StreamSource>> other = StreamSource::Create(
      std::shared_ptr<const Dataset>(std::move(*Dataset::Open(dir_ / "d"))), *short_captions);
  ASSERT_TRUE(other.ok());
  absl::StatusOr<std::shared_ptr<const MixtureSource>> mixture =
      MixtureSource::Create({{"a", 1, source_}, {"b", 1, *other}});
  ASSERT_FALSE(mixture.ok());
  EXPECT_THAT(Message(mixture.status()), HasSubstr("datasets[1] (b) modality caption"));
}

// An exception thrown on a TBB worker (bad_alloc, or anything else) ends that stream with a
// status; it must not escape the producer thread and terminate the process.
TEST_F(StreamTest, AnExceptionInAMaskingTaskBecomesTheStreamsStatus) {
  struct Case {
    std::function<void()> raise;
    absl::StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {[] { throw std::bad_alloc(); }, absl::StatusCode::kResourceExhausted, "out of memory"},
      {[] { throw std::runtime_error("injected fault"); }, absl::StatusCode::kInternal,
       "injected fault"},
      {[] { throw 42; }, absl::StatusCode::kInternal, "unknown exception"},
  };
  for (const Case& c : cases) {
    for (int threads : {1, 2}) {
      tbb::task_arena arena(threads);
      StreamOptions o = Options(8, 4);
      o.row_hook = [&](uint64_t batch, uint32_t row) {
        if (batch == 1 && row == 5) c.raise();
      };
      absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(source_, o, &arena);
      ASSERT_TRUE(stream.ok()) << stream.status();
      absl::StatusOr<std::optional<StreamBatch>> first = (*stream)->Next();
      ASSERT_TRUE(first.ok()) << first.status();
      ASSERT_TRUE(first->has_value());
      EXPECT_EQ((*first)->sequence, 0u);
      for (int again = 0; again < 3; ++again) {  // the error, every time
        absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
        EXPECT_EQ(next.status().code(), c.code) << next.status();
        EXPECT_THAT(Message(next.status()), HasSubstr(c.message));
        EXPECT_THAT(Message(next.status()), HasSubstr("batch 1"));
      }
    }
  }
}

TEST_F(StreamTest, SourceNamesModalitiesTheDatasetLacks) {
  absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(dir_ / "d");
  absl::StatusOr<v1::MaskingConfig> config = PresetMaskingConfig("4m-21");
  absl::StatusOr<std::shared_ptr<const StreamSource>> source =
      StreamSource::Create(std::shared_ptr<const Dataset>(std::move(*dataset)), *config);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(source.status()), HasSubstr("modality color_palette: dataset"));
}

}  // namespace
}  // namespace maskfeed
