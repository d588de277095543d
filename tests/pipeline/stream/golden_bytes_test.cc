// Pinned bytes: the batches and resume tokens of streams over synthetic 4M-7 data, opened
// through the one assembly path (pipeline/source) as maskfeed-server opens them, hashed and
// compared to digests recorded when they were first served (`maskfeed fetch` from a server
// built before the readers, the OrderSpec and the assembly module were factored out). Any
// change to what a seed streams — masks, ids, pixels, order, tokens' fingerprints — fails
// here, naming the configuration; a deliberate change records new digests with its reason.
// Tokens are hashed in the 40-byte form of version 1 (what the digests were recorded over):
// version 2 adds the layout's start, which is 0 here.
//
// Changed deliberately: "tokens, 3 repeats" (issue 27: copies spread over segments, like 4M's
// shuffle buffer after its repeat stage, instead of next to each other).
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "pipeline/base/crc32c.h"
#include "pipeline/base/sha256.h"
#include "pipeline/source/data_config.h"
#include "pipeline/source/served_source.h"
#include "pipeline/stream/resume_token.h"
#include "tests/testing/stream_drain.h"
#include "tests/testing/synth_fixture.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

struct GoldenCase {
  const char* name;
  const char* config;  // a ServerConfig's datasets; {raw} and {tok} stand for the two roots
  const char* served;  // the dataset or mixture streamed
  uint32_t batch_size, rank, world_size, batches;
  uint64_t seed;
  const char* sha256;  // over every batch: its resume token, then each modality's four tensors
};

// The raw 4M-7 layout (rgb JPEGs, caption and det JSON, five tok_*; 3 crops) and the
// pre-tokenized one, as `--data` configures them.
constexpr char kRaw[] =
    R"(dataset { name: "raw" path: "{raw}" preset: "4m-7" text_tokenizer: "{raw}/tokenizer.json"
                 main_augment_domain: "rgb@224" )";
constexpr char kTok[] = R"(dataset { name: "tok" path: "{tok}" preset: "4m-7-tokens" )";

const GoldenCase kCases[] = {
    {"raw 4m-7, rank 1 of 2", "{raw_dataset} }", "raw", 16, 1, 2, 3, 7,
     "73b5a6a8d585a7c4fc284d5a9b23b50d9fd19b3928d3b937a7f708343bafb0c6"},
    {"raw 4m-7, fast pixels", "{raw_dataset} fast_pixels: true }", "raw", 16, 0, 1, 3, 7,
     "596f7882183969932ea6096e985a9a7f4871a95474dd39b3c723c57abe08f66d"},
    {"tokens, windows of 2 shards", "{tok_dataset} window_shards: 2 }", "tok", 16, 0, 1, 4, 3,
     "e07441cee445d42100f78c28d506634011e7cd6f2de604e7ba1c3ca5682d86f8"},
    {"tokens, per-host shares in windows",
     "{tok_dataset} canonical_nodes: 2 node_batch: 16 window_shards: 1 }", "tok", 16, 1, 2, 4, 5,
     "406daf202a674782b58f5be80bab54186db65e65f1c1bce6900426e2b058e9cb"},
    {"mixture of raw (2) and tokens (1)",
     "{raw_dataset} } {tok_dataset} } mixture { name: \"mix\" component { dataset: \"raw\" weight: "
     "2 } "
     "component { dataset: \"tok\" weight: 1 } }",
     "mix", 16, 0, 1, 3, 2, "91f04f0c1a98ec3ed5043738ec866f8dd7ce36a5936d8425950a887f684c738a"},
    {"tokens, 3 repeats", "{tok_dataset} n_repeats: 3 }", "tok", 16, 0, 1, 3, 2,
     "ed349064289ca66bfdc535a3041fb5a4756c9d6b21c703b3d97b5c4262b10522"},
};

// A token as version 1 wrote it: magic, version, fingerprint, rank, world size, batch size,
// next batch, CRC-32C of what precedes.
std::string V1Token(const std::string& token) {
  absl::StatusOr<ResumeState> s = DecodeResumeToken(token);
  EXPECT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->base, 0u);
  EXPECT_EQ(s->first_batch, 0u);
  std::string out = "MFRT";
  auto put = [&out](auto v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  put(uint32_t{1});
  put(s->fingerprint);
  put(s->rank);
  put(s->world_size);
  put(s->batch_size);
  put(s->next_batch);
  put(Crc32c(out.data(), out.size()));
  return out;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class GoldenBytesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    for (auto [preset, out, format, crops] :
         {std::tuple{SynthOptions::kRawPreset, "raw", ShardFormat::kTar, 3},
          std::tuple{SynthOptions::kTokensPreset, "tok", ShardFormat::kMfs,
                     SynthOptions::kDefaultCrops}}) {
      ASSERT_NO_FATAL_FAILURE(testing::Synth(*dir_ / out, preset, 96, 3, format, crops));
    }
  }
  static void TearDownTestSuite() { delete dir_; }

  static testing::TempDir* dir_;
};
testing::TempDir* GoldenBytesTest::dir_ = nullptr;

TEST_F(GoldenBytesTest, StreamsServeThePinnedBytes) {
  for (const GoldenCase& c : kCases) {
    std::string text = Replace(Replace(c.config, "{raw_dataset}", kRaw), "{tok_dataset}", kTok);
    text = Replace(Replace(text, "{raw}", *dir_ / "raw"), "{tok}", *dir_ / "tok");
    absl::StatusOr<v1::ServerConfig> config = ParseServerConfig(text);
    ASSERT_TRUE(config.ok()) << c.name << ": " << config.status();
    ASSERT_TRUE(FinalizeDataConfig(&*config).ok()) << c.name;
    tbb::task_arena arena(2);
    absl::StatusOr<std::vector<ServedSource>> served = OpenServedSources(*config, &arena);
    ASSERT_TRUE(served.ok()) << c.name << ": " << served.status();
    const ServedSource* source = nullptr;
    for (const ServedSource& s : *served) source = s.name == c.served ? &s : source;
    ASSERT_NE(source, nullptr) << c.name;
    StreamOptions o;
    o.batch_size = c.batch_size;
    o.rank = c.rank;
    o.world_size = c.world_size;
    o.seed = c.seed;
    o.order = source->order;
    o.max_batches = c.batches;
    std::string hashed;
    for (const StreamBatch& b : testing::DrainStream(source->mixture, o, 2)) {
      hashed += V1Token(b.resume_token);
      for (const ModalityBatch& m : b.batch.modalities) {
        for (const HostTensor* t :
             {&m.tensor, &m.input_mask, &m.target_mask, &m.decoder_attention_mask}) {
          hashed.append(reinterpret_cast<const char*>(t->data.data()), t->nbytes());
        }
      }
    }
    const std::array<uint8_t, 32> digest = Sha256(hashed);
    EXPECT_EQ(absl::BytesToHexString(std::string(digest.begin(), digest.end())), c.sha256)
        << c.name << ": the bytes served for this seed changed";
  }
}

}  // namespace
}  // namespace maskfeed
