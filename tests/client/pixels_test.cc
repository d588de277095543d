// 4M's RGB normalisation in the C++ client: every value against torch's own results (goldens
// from tests/data/pixels/make_normalize_goldens.py), and the Feed's choice between float32
// (default) and uint8 on a real server serving a raw 4M-7 dataset with JPEGs.
#include "client/cpp/pixels.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>

#include "client/cpp/feed.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/tools/synth_dataset.h"
#include "server/feed_server.h"
#include "server/server_config.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::TempDir;

HostTensor Uint8(std::vector<int64_t> shape, const std::vector<uint8_t>& values) {
  HostTensor t;
  t.dtype = DType::kUInt8;
  t.shape = std::move(shape);
  t.data = Buffer(values.size());
  std::memcpy(t.data.data(), values.data(), values.size());
  return t;
}

// goldens[c][p]: torch's float32 bits for value p in channel c.
std::vector<std::vector<uint32_t>> Goldens() {
  std::ifstream in(std::string(MASKFEED_SOURCE_DIR) + "/tests/data/pixels/normalize_goldens.txt");
  std::vector<std::vector<uint32_t>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::vector<uint32_t> row;
    for (std::string w; words >> w;)
      row.push_back(static_cast<uint32_t>(std::stoul(w, nullptr, 16)));
    out.push_back(std::move(row));
  }
  return out;
}

TEST(NormalizePixelsTest, EveryValueIsTorchsBitForBit) {
  const std::vector<std::vector<uint32_t>> goldens = Goldens();
  ASSERT_EQ(goldens.size(), 3u);
  std::vector<uint8_t> values(2 * 3 * 256);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint8_t>(i % 256);
  const HostTensor in = Uint8({2, 3, 16, 16}, values);
  ASSERT_TRUE(IsPixels(in));
  absl::StatusOr<HostTensor> out = NormalizePixels(in, nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->dtype, DType::kFloat32);
  EXPECT_EQ(out->shape, in.shape);
  for (size_t i = 0; i < values.size(); ++i) {
    const size_t channel = (i / 256) % 3;
    ASSERT_EQ(std::bit_cast<uint32_t>(out->as<float>()[i]), goldens[channel][values[i]])
        << "channel " << channel << " value " << int{values[i]};
  }
  // docs/raw-modalities.md invariant 4, as printed (7 decimals).
  EXPECT_NEAR(out->as<float>()[0], -2.1179039, 5e-8);
  EXPECT_NEAR(out->as<float>()[256 + 128], 0.2051822, 5e-8);
  EXPECT_NEAR(out->as<float>()[512 + 255], 2.6400001, 5e-8);
}

TEST(NormalizePixelsTest, RefusesWhatIsNotUint8Rgb) {
  HostTensor ids;
  ids.dtype = DType::kInt32;
  ids.shape = {2, 196};
  ids.data = Buffer(ids.nbytes());
  EXPECT_FALSE(IsPixels(ids));
  absl::StatusOr<HostTensor> out = NormalizePixels(ids, nullptr);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(out.status().message()), ::testing::HasSubstr("wants uint8"));
  const HostTensor four = Uint8({1, 4, 1, 1}, {1, 2, 3, 4});
  EXPECT_FALSE(IsPixels(four));
  EXPECT_FALSE(NormalizePixels(four, nullptr).ok());
}

// A raw 4M-7 dataset (JPEGs) served with preset 4m-7: the Feed gives float32 by default and
// the bytes on request, the same batches otherwise.
TEST(FeedPixelsTest, FloatByDefaultUint8OnRequest) {
  TempDir dir;
  SynthOptions synth;
  synth.samples = 24;
  synth.shards = 2;
  synth.crops = 2;
  synth.out = dir / "d";
  ASSERT_TRUE(SynthesizeDataset(synth).ok());
  v1::ServerConfig config;
  v1::DatasetConfig* d = config.add_dataset();
  d->set_name("d");
  d->set_path(dir / "d");
  d->set_preset("4m-7");
  d->set_text_tokenizer(dir / "d/tokenizer.json");
  d->set_main_augment_domain("rgb@224");
  const std::string address = "unix:" + (dir / "feed.sock");
  config.add_listen(address);
  config.set_threads(2);
  config.set_metrics_listen("off");
  absl::StatusOr<v1::ServerConfig> finalized = FinalizeServerConfig(config);
  ASSERT_TRUE(finalized.ok()) << finalized.status();
  absl::StatusOr<std::unique_ptr<FeedServer>> server = FeedServer::Start(*finalized);
  ASSERT_TRUE(server.ok()) << server.status();

  auto read = [&](PixelOutput pixels) {
    FeedOptions o;
    o.addresses = {address};
    o.request.set_batch_size(8);
    o.request.set_seed(4);
    o.request.set_max_batches(3);
    o.pixels = pixels;
    absl::StatusOr<std::unique_ptr<Feed>> feed = Feed::Open(o);
    EXPECT_TRUE(feed.ok()) << feed.status();
    std::vector<StreamBatch> got;
    while (feed.ok()) {
      absl::StatusOr<std::optional<StreamBatch>> next = (*feed)->Next();
      EXPECT_TRUE(next.ok()) << next.status();
      if (!next.ok() || !next->has_value()) break;
      got.push_back(std::move(**next));
    }
    return got;
  };
  const std::vector<StreamBatch> floats = read(PixelOutput::kNormalized);
  const std::vector<StreamBatch> bytes = read(PixelOutput::kUint8);
  ASSERT_EQ(floats.size(), 3u);
  ASSERT_EQ(bytes.size(), 3u);
  size_t with_pixels = 0;
  for (size_t b = 0; b < 3; ++b) {
    const ModalityBatch& f = floats[b].batch.modalities[2];
    const ModalityBatch& u = bytes[b].batch.modalities[2];
    ASSERT_EQ(f.name, "rgb@224");
    ASSERT_EQ(f.tensor.dtype, DType::kFloat32);
    ASSERT_EQ(u.tensor.dtype, DType::kUInt8);
    ASSERT_EQ(f.tensor.shape, (std::vector<int64_t>{8, 3, 224, 224}));
    absl::StatusOr<HostTensor> expected = NormalizePixels(u.tensor, nullptr);
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(std::memcmp(f.tensor.as<char>(), expected->as<char>(), expected->nbytes()), 0);
    for (size_t i = 0; i < u.tensor.nbytes(); ++i) with_pixels += u.tensor.as<uint8_t>()[i] != 0;
    // every other modality is the same bytes either way
    for (size_t m = 0; m < floats[b].batch.modalities.size(); ++m) {
      if (m == 2) continue;
      const HostTensor& x = floats[b].batch.modalities[m].tensor;
      const HostTensor& y = bytes[b].batch.modalities[m].tensor;
      ASSERT_EQ(x.nbytes(), y.nbytes());
      EXPECT_EQ(std::memcmp(x.as<char>(), y.as<char>(), x.nbytes()), 0);
    }
  }
  EXPECT_GT(with_pixels, 0u) << "some rows had rgb input budget";
}

}  // namespace
}  // namespace maskfeed
