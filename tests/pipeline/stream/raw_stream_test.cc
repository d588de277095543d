// Streams over 4M's raw members: caption and det built, tokenized and masked per sample and per
// crop (docs/raw-modalities.md), against the ids of its worked examples, which were
// checked against HuggingFace's tokenizers.
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "pipeline/image/rgb_pixels.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/shard/npy.h"
#include "pipeline/stream/stream.h"
#include "pipeline/tools/synth_dataset.h"
#include "pipeline/tools/tar_writer.h"
#include "tests/testing/metadata_keys.h"
#include "tests/testing/stream_drain.h"
#include "tests/testing/test_images.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tokenizer_goldens.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Message;
using ::maskfeed::testing::TempDir;
using ::testing::HasSubstr;

constexpr int kSamples = 24;
constexpr int32_t kEos = 3;

// The det example of docs/raw-modalities.md (a 640×480 image).
constexpr char kDetJson[] = R"({"instances": [
  {"boxes": [0.25, 0.25, 0.5, 0.75], "class_name": "person", "score": 0.9},
  {"boxes": [0, 0, 0.1, 0.2], "class_name": "wine glass", "score": 0.95},
  {"boxes": [0.5, 0.1, 0.9, 0.3], "class_name": "dog", "score": 0.59},
  {"boxes": [0.8, 0, 1, 0.5], "class_name": "cat", "score": 0.6},
  {"boxes": [0.3, 0.9, 0.35, 0.95], "class_name": "wine glass", "score": 0.7}]})";
// Its ids for crop (0, 80, 480, 480), unflipped and flipped (the table's second row).
const std::vector<int32_t> kDetIds[2] = {
    {370, 1454, 2704, 3953, 4253, 1103, 1204, 3203, 3704, 4224, 437, 2103, 2504, 4153, 4282},
    {204, 1204, 2304, 3704, 4224, 704, 1454, 3036, 3953, 4253, 903, 2103, 2970, 4153, 4282}};
// Captions per crop variant and their ids.
constexpr const char* kCaptions[2] = {"A person riding a horse.", "Wine Glass, persons person's"};
const std::vector<int32_t> kCaptionIds[2] = {{4321, 4253, 6261, 4321, 4241, 4296},
                                             {4282, 4294, 13376, 4253, 4289, 4339}};

using Members = std::vector<std::pair<std::string, std::string>>;

// Writes root/folder/shard-00000.tar holding `members` (name, bytes), in order.
void WriteShard(const std::string& root, const std::string& folder, const Members& members) {
  std::filesystem::create_directories(std::filesystem::path(root) / folder);
  absl::StatusOr<TarWriter> tar = TarWriter::Create(StrCat(root, "/", folder, "/shard-00000.tar"));
  ASSERT_TRUE(tar.ok());
  for (const auto& [name, bytes] : members) ASSERT_TRUE(tar->Add(name, bytes).ok());
  ASSERT_TRUE(tar->Finish().ok());
}

// One member "s<1000 + i>.json" per sample, each `bytes(i)`.
template <typename Bytes>
Members JsonMembers(Bytes bytes) {
  Members members;
  for (int i = 0; i < kSamples; ++i) members.push_back({StrCat("s", 1000 + i, ".json"), bytes(i)});
  return members;
}

// A raw 4M dataset: caption .json lists (or .txt), det .json, rgb .jpg (640×480),
// crop_settings (2, 5) with the same crop unflipped and flipped, tok_rgb@224 (2, 196). With
// `cut_images`, every JPEG ends a third early (its header intact, its pixels undecodable).
void WriteRawDataset(const std::string& root, bool caption_txt = false, bool cut_images = false) {
  std::map<std::string, Members> folders;
  std::string jpeg = testing::EncodeTestJpeg(640, 480);
  if (cut_images) jpeg.resize(jpeg.size() * 2 / 3);
  const int64_t crops[10] = {0, 80, 480, 480, 0, 0, 80, 480, 480, 1};
  std::vector<int16_t> tokens(2 * 196, 7);
  for (int i = 0; i < kSamples; ++i) {
    const std::string key = StrCat("s", 1000 + i);
    if (caption_txt) {
      folders["caption"].push_back({key + ".txt", kCaptions[0]});
    } else {
      folders["caption"].push_back(
          {key + ".json",
           StrCat("[\"", kCaptions[0], "\", {\"caption\": \"", kCaptions[1], "\"}]")});
    }
    folders["det"].push_back({key + ".json", kDetJson});
    folders["rgb"].push_back({key + ".jpg", jpeg});
    folders["crop_settings"].push_back({key + ".npy", EncodeNpy(DType::kInt64, {2, 5}, crops)});
    folders["tok_rgb@224"].push_back(
        {key + ".npy", EncodeNpy(DType::kInt16, {2, 196}, tokens.data())});
  }
  for (const auto& [folder, members] : folders) {
    ASSERT_NO_FATAL_FAILURE(WriteShard(root, folder, members));
  }
}

// caption and det are whole inputs (transfer roles keep every token), so their rows are the
// built ids plus EOS.
constexpr char kConfig[] = R"pb(
  modalities { name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }
  modalities { name: "det" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }
  modalities { name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }
  transfer { inputs: "caption" inputs: "det" targets: "tok_rgb@224" }
)pb";

class RawStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<text::WordPieceTokenizer>> t =
        text::WordPieceTokenizer::FromFile(testing::kTokenizer4m);
    ASSERT_TRUE(t.ok()) << t.status();
    tokenizer_ = std::move(*t);
  }

  absl::StatusOr<std::shared_ptr<const StreamSource>> Source(const std::string& root,
                                                             const std::string& config_text,
                                                             RawOptions raw) {
    absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(root);
    if (!dataset.ok()) return dataset.status();
    absl::StatusOr<v1::MaskingConfig> config = ParseMaskingConfig(config_text);
    if (!config.ok()) return config.status();
    return StreamSource::Create(std::shared_ptr<const Dataset>(std::move(*dataset)), *config, raw);
  }

  RawOptions Raw() const {
    RawOptions raw;
    raw.tokenizer = tokenizer_;
    raw.main_augment_domain = "rgb@224";
    return raw;
  }

  // Every batch of a stream of `batches` batches of 8.
  std::vector<StreamBatch> Drain(std::shared_ptr<const StreamSource> source, int threads,
                                 uint64_t seed = 5) {
    StreamOptions options;
    options.batch_size = 8;
    options.max_batches = 6;
    options.seed = seed;
    return testing::DrainStream(source, options, threads);
  }

  // The input ids of row r of a sequence modality (its unmasked input positions).
  static std::vector<int32_t> InputIds(const ModalityBatch& m, int64_t r) {
    const int64_t length = m.tensor.shape[1];
    std::vector<int32_t> ids;
    for (int64_t j = 0; j < length; ++j) {
      if (m.input_mask.as<uint8_t>()[r * length + j] == 0) {
        ids.push_back(m.tensor.as<int32_t>()[r * length + j]);
      }
    }
    return ids;
  }

  TempDir dir_;
  std::shared_ptr<const text::WordPieceTokenizer> tokenizer_;
};

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  return s.replace(s.find(from), from.size(), to);
}

std::vector<int32_t> WithEos(std::vector<int32_t> ids) {
  ids.push_back(kEos);
  return ids;
}

// docs/raw-modalities.md invariants 1 and 7: one crop variant per sample selects the caption
// element and drives det's crop and flip; the ids are the worked examples', whatever the threads.
TEST_F(RawStreamTest, CaptionAndDetRowsHoldTheIdsOfTheSamplesCrop) {
  ASSERT_NO_FATAL_FAILURE(WriteRawDataset(dir_ / "raw"));
  absl::StatusOr<std::shared_ptr<const StreamSource>> source = Source(dir_ / "raw", kConfig, Raw());
  ASSERT_TRUE(source.ok()) << source.status();
  const std::vector<StreamBatch> one = Drain(*source, 1);
  ASSERT_EQ(one.size(), 6u);
  int seen[2] = {0, 0};
  for (const StreamBatch& b : one) {
    const ModalityBatch& caption = b.batch.modalities[0];
    const ModalityBatch& det = b.batch.modalities[1];
    ASSERT_EQ(caption.name, "caption");
    for (int64_t r = 0; r < b.batch.size; ++r) {
      const std::vector<int32_t> got = InputIds(caption, r);
      const int crop = got == WithEos(kCaptionIds[0]) ? 0 : 1;
      ASSERT_EQ(got, WithEos(kCaptionIds[crop])) << "row " << r;
      ASSERT_EQ(InputIds(det, r), WithEos(kDetIds[crop])) << "row " << r << " crop " << crop;
      ++seen[crop];
    }
  }
  EXPECT_GT(seen[0], 8);  // both variants are drawn (48 rows)
  EXPECT_GT(seen[1], 8);
  const std::vector<StreamBatch> two = Drain(*source, 2);
  ASSERT_EQ(two.size(), one.size());
  for (size_t i = 0; i < one.size(); ++i) {
    for (size_t m = 0; m < one[i].batch.modalities.size(); ++m) {
      const HostTensor& a = one[i].batch.modalities[m].tensor;
      const HostTensor& b = two[i].batch.modalities[m].tensor;
      ASSERT_EQ(a.nbytes(), b.nbytes());
      EXPECT_EQ(std::memcmp(a.as<char>(), b.as<char>(), a.nbytes()), 0);
    }
  }
}

TEST_F(RawStreamTest, TxtCaptionsAreTheWholeFile) {
  ASSERT_NO_FATAL_FAILURE(WriteRawDataset(dir_ / "txt", /*caption_txt=*/true));
  absl::StatusOr<std::shared_ptr<const StreamSource>> source = Source(dir_ / "txt", kConfig, Raw());
  ASSERT_TRUE(source.ok()) << source.status();
  for (const StreamBatch& b : Drain(*source, 2)) {
    for (int64_t r = 0; r < b.batch.size; ++r) {
      ASSERT_EQ(InputIds(b.batch.modalities[0], r), WithEos(kCaptionIds[0]));
    }
  }
}

// What a raw text modality needs is checked when the source is made, naming the modality.
TEST_F(RawStreamTest, MissingTokenizerGeometryOrPixelBudgetFailsAtStart) {
  ASSERT_NO_FATAL_FAILURE(WriteRawDataset(dir_ / "raw"));
  RawOptions no_tokenizer = Raw();
  no_tokenizer.tokenizer = nullptr;
  absl::StatusOr<std::shared_ptr<const StreamSource>> s =
      Source(dir_ / "raw", kConfig, no_tokenizer);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(s.status()),
              HasSubstr("modality caption: dataset folder caption holds json members: raw text "
                        "needs 4M's text tokenizer"));

  RawOptions no_domain = Raw();
  no_domain.main_augment_domain = "";
  s = Source(dir_ / "raw", kConfig, no_domain);
  EXPECT_THAT(Message(s.status()), HasSubstr("det needs the original image size, from "
                                             "main_augment_domain"));
  no_domain.main_augment_domain = "tok_rgb@224";
  s = Source(dir_ / "raw", kConfig, no_domain);
  EXPECT_THAT(Message(s.status()), HasSubstr("which is 'tok_rgb@224'"));
  no_domain.main_augment_domain = "caption";
  s = Source(dir_ / "raw", kConfig, no_domain);
  EXPECT_THAT(Message(s.status()), HasSubstr("is folder caption, which holds json, not jpg/png"));

  // An image folder read by an IMG modality without pixel_size: refused with a budget,
  // served around without one.
  const std::string pixels = R"pb(
    modalities { name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }
    modalities { name: "rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }
    mixture {
      input_alpha { key: "caption" value: 1 }
      input_alpha { key: "rgb@224" value: A }
      target_alpha { key: "caption" value: 1 }
    })pb";
  s = Source(dir_ / "raw", Replace(pixels, "value: A", "value: 1000"), Raw());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      Message(s.status()),
      HasSubstr("modality rgb@224: dataset folder rgb holds jpg members: images are served "
                "as pixels by a modality with pixel_size (4M's rgb@224 has pixel_size 224)"));
  s = Source(dir_ / "raw", Replace(pixels, "value: A", "value: 0"), Raw());
  ASSERT_TRUE(s.ok()) << s.status();
  for (const StreamBatch& b : Drain(*s, 2)) {
    const ModalityBatch& rgb = b.batch.modalities[1];
    ASSERT_EQ(rgb.name, "rgb@224");
    for (size_t j = 0; j < rgb.input_mask.nbytes(); ++j)
      ASSERT_EQ(rgb.input_mask.as<uint8_t>()[j], 1);
  }
}

// rgb@224 pixels (pixel_size 224): each row is the sample's image cropped, resized and flipped
// for its crop variant, as RgbPixels makes it (equal to Pillow's: pillow_exactness_test),
// uint8 (B, 3, 224, 224) with masks over its 196 patches; the same bytes for any thread
// count; no budget, no pixels.
TEST_F(RawStreamTest, RgbPixelsAreTheSamplesCropResizedAndFlipped) {
  ASSERT_NO_FATAL_FAILURE(WriteRawDataset(dir_ / "raw"));
  const std::string config = R"pb(
    modalities { name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }
    modalities { name: "rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 pixel_size: 224 }
    mixture {
      input_alpha { key: "caption" value: 0.5 }
      input_alpha { key: "rgb@224" value: A }
      target_alpha { key: "caption" value: 1 }
    })pb";
  absl::StatusOr<std::shared_ptr<const StreamSource>> s =
      Source(dir_ / "raw", Replace(config, "value: A", "value: 1000"), Raw());
  ASSERT_TRUE(s.ok()) << s.status();
  // The two crop variants of every sample: (0, 80, 480, 480), unflipped and flipped.
  const std::string jpeg = testing::EncodeTestJpeg(640, 480);
  std::vector<uint8_t> plain(3 * 224 * 224), flipped(plain.size());
  const CropBox box{.top = 0, .left = 80, .height = 480, .width = 480};
  ASSERT_TRUE(RgbPixels(jpeg, box, false, 224, {}, plain.data()).ok());
  ASSERT_TRUE(RgbPixels(jpeg, box, true, 224, {}, flipped.data()).ok());
  ASSERT_NE(plain, flipped);
  const std::vector<StreamBatch> one = Drain(*s, 1), two = Drain(*s, 2);
  ASSERT_EQ(one.size(), two.size());
  int seen_plain = 0, seen_flipped = 0;
  for (size_t b = 0; b < one.size(); ++b) {
    const ModalityBatch& rgb = one[b].batch.modalities[1];
    ASSERT_EQ(rgb.name, "rgb@224");
    ASSERT_EQ(rgb.tensor.dtype, DType::kUInt8);
    ASSERT_EQ(rgb.tensor.shape, (std::vector<int64_t>{8, 3, 224, 224}));
    ASSERT_EQ(rgb.input_mask.shape, (std::vector<int64_t>{8, 196}));
    ASSERT_EQ(std::string_view(reinterpret_cast<const char*>(rgb.tensor.data.data()),
                               rgb.tensor.nbytes()),
              std::string_view(
                  reinterpret_cast<const char*>(two[b].batch.modalities[1].tensor.data.data()),
                  rgb.tensor.nbytes()))
        << "batch " << b << ": the same pixels for 1 and 2 threads";
    for (int64_t r = 0; r < 8; ++r) {
      const uint8_t* row = rgb.tensor.as<uint8_t>() + r * plain.size();
      const bool is_plain = std::equal(plain.begin(), plain.end(), row);
      const bool is_flipped = std::equal(flipped.begin(), flipped.end(), row);
      ASSERT_TRUE(is_plain || is_flipped) << "batch " << b << " row " << r;
      seen_plain += is_plain;
      seen_flipped += is_flipped;
      int inputs = 0;
      for (int j = 0; j < 196; ++j) inputs += rgb.input_mask.as<uint8_t>()[r * 196 + j] == 0;
      EXPECT_GT(inputs, 0) << "rgb gets (nearly) all of the input budget";
    }
  }
  EXPECT_GT(seen_plain, 0);
  EXPECT_GT(seen_flipped, 0);
  // Without a budget no image is decoded: zero pixels, every patch masked; images that cannot
  // be decoded are never noticed.
  ASSERT_NO_FATAL_FAILURE(WriteRawDataset(dir_ / "cut", false, /*cut_images=*/true));
  s = Source(dir_ / "cut", Replace(config, "value: A", "value: 0"), Raw());
  ASSERT_TRUE(s.ok()) << s.status();
  for (const StreamBatch& b : Drain(*s, 2)) {
    const ModalityBatch& rgb = b.batch.modalities[1];
    for (size_t j = 0; j < rgb.tensor.nbytes(); ++j) ASSERT_EQ(rgb.tensor.as<uint8_t>()[j], 0);
    for (size_t j = 0; j < rgb.input_mask.nbytes(); ++j) {
      ASSERT_EQ(rgb.input_mask.as<uint8_t>()[j], 1);
    }
  }
  // With a budget they are: DATA_LOSS naming the file, record, key and modality.
  s = Source(dir_ / "cut", Replace(config, "value: A", "value: 1000"), Raw());
  ASSERT_TRUE(s.ok()) << s.status();
  StreamOptions options;
  options.batch_size = 8;
  options.max_batches = 1;
  tbb::task_arena arena(2);
  absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(*s, options, &arena);
  ASSERT_TRUE(stream.ok()) << stream.status();
  absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(next.status()), HasSubstr("rgb/shard-00000.tar: record "));
  EXPECT_THAT(Message(next.status()), HasSubstr("(key s10"));
  EXPECT_THAT(Message(next.status()), HasSubstr("rgb@224: JPEG data: the file ends before"));
}

// The pixel options a dataset names (fast_pixels, max_image_pixels): the fast path is part of
// the fingerprint of sources that serve pixels (its bytes differ) and of no other; the pixel
// limit refuses the dataset's 640x480 images naming the record.
TEST_F(RawStreamTest, PixelOptionsReachTheStreamAndItsFingerprint) {
  ASSERT_NO_FATAL_FAILURE(WriteRawDataset(dir_ / "raw"));
  const std::string config = R"pb(
    modalities { name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }
    modalities { name: "rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 pixel_size: 224 }
    mixture {
      input_alpha { key: "caption" value: 0.5 }
      input_alpha { key: "rgb@224" value: 1000 }
      target_alpha { key: "caption" value: 1 }
    })pb";
  const std::string no_pixels = R"pb(
    modalities { name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }
    mixture {
      input_alpha { key: "caption" value: 1 }
      target_alpha { key: "caption" value: 1 }
    })pb";
  RawOptions fast = Raw();
  fast.pixels.fast = true;
  auto fingerprint = [&](const std::string& text, const RawOptions& raw) {
    absl::StatusOr<std::shared_ptr<const StreamSource>> s = Source(dir_ / "raw", text, raw);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? (*s)->fingerprint() : 0;
  };
  EXPECT_NE(fingerprint(config, fast), fingerprint(config, Raw()));
  EXPECT_EQ(fingerprint(no_pixels, fast), fingerprint(no_pixels, Raw()));

  RawOptions limited = Raw();
  limited.pixels.max_pixels = 640 * 480 - 1;
  absl::StatusOr<std::shared_ptr<const StreamSource>> s = Source(dir_ / "raw", config, limited);
  ASSERT_TRUE(s.ok()) << s.status();
  StreamOptions options;
  options.batch_size = 8;
  options.max_batches = 1;
  tbb::task_arena arena(1);
  absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(*s, options, &arena);
  ASSERT_TRUE(stream.ok()) << stream.status();
  absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(next.status()), HasSubstr("rgb/shard-00000.tar: record "));
  EXPECT_THAT(Message(next.status()), HasSubstr(StrCat(640 * 480 - 1)));
}

// A corrupt member is DATA_LOSS naming file, record, key, modality and the JSON path.
TEST_F(RawStreamTest, BadJsonIsDataLossNamingTheRecord) {
  ASSERT_NO_FATAL_FAILURE(WriteRawDataset(dir_ / "raw"));
  ASSERT_NO_FATAL_FAILURE(WriteShard(
      dir_ / "raw", "det", JsonMembers([](int i) {
        return std::string(i == 3 ? R"({"instances": [{"boxes": [0, 0, "x", 1]}]})" : kDetJson);
      })));
  absl::StatusOr<std::shared_ptr<const StreamSource>> source = Source(dir_ / "raw", kConfig, Raw());
  ASSERT_TRUE(source.ok()) << source.status();
  StreamOptions options;
  options.batch_size = kSamples;
  options.max_batches = 1;
  tbb::task_arena arena(2);
  absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(*source, options, &arena);
  ASSERT_TRUE(stream.ok());
  absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(next.status()),
              HasSubstr("det/shard-00000.tar: record 3 (key s1003): det: instances[0]"));
}

// color_palette and human_poses through a stream (invariants 14, 15): a palette's text is
// v1=k then 3k values, k drawn per sample; a person is 39 tokens (betas within [-3, 3]: out
// of range they become WordPiece), crop from crop_settings.
TEST_F(RawStreamTest, PaletteAndPosesThroughAStream) {
  const std::string root = dir_ / "pp";
  ASSERT_NO_FATAL_FAILURE(WriteRawDataset(root));
  std::string palette = "[{";
  for (int k = 1; k <= 7; ++k) {
    StrAppend(&palette, k > 1 ? ", " : "", "\"", k, "\": [");
    for (int c = 0; c < k; ++c) StrAppend(&palette, c ? ", " : "", "[10, 20, 30.5]");
    palette += "]";
  }
  palette += "}]";
  const std::string person = R"({"bbox_xyxy": [[160.0, 120.0, 320.0, 480.0]],
    "pred_smpl_params": {"global_orient": [[[1, 0, 0], [0, 1, 0], [0, 0, 1]]],
                         "betas": [[0, 1, -1, 3, -3, 0.5, 2, -2, 0, 0]], "body_pose": [[0]]},
    "pose_tokenized": [[0, 1, 511, 512, 513, 1023, 100, 600]], "pred_cam": [[-2, 0, 19.5]]})";
  ASSERT_NO_FATAL_FAILURE(
      WriteShard(root, "color_palette", JsonMembers([&](int) { return palette; })));
  ASSERT_NO_FATAL_FAILURE(
      WriteShard(root, "human_poses", JsonMembers([&](int) { return person; })));
  absl::StatusOr<std::shared_ptr<const StreamSource>> source = Source(
      root, R"pb(
        modalities {
          name: "color_palette"
          type: MODALITY_TYPE_SEQ
          max_tokens: 23
          vocab_size: 30000
        }
        modalities { name: "human_poses" type: MODALITY_TYPE_SEQ max_tokens: 275 vocab_size: 30000 }
        modalities { name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }
        transfer { inputs: "color_palette" inputs: "human_poses" targets: "tok_rgb@224" }
      )pb",
      Raw());
  ASSERT_TRUE(source.ok()) << source.status();
  std::set<int32_t> ks;
  for (const StreamBatch& b : Drain(*source, 2)) {
    for (int64_t r = 0; r < b.batch.size; ++r) {
      const std::vector<int32_t> pal = InputIds(b.batch.modalities[0], r);
      ASSERT_GE(pal.size(), 5u);
      const int32_t k = pal[0] - 1204;  // v1=k
      ASSERT_GE(k, 1);
      ASSERT_LE(k, 7);
      ASSERT_EQ(pal.size(), 1 + 3 * static_cast<size_t>(k) + 1);  // never truncated: with EOS
      EXPECT_EQ(pal[1], 204 + 10);
      ks.insert(k);
      const std::vector<int32_t> pose = InputIds(b.batch.modalities[1], r);
      ASSERT_EQ(pose.size(), 39u + 1);  // one person (invariant 15), EOS
      EXPECT_EQ(pose[0], 6304);         // "human"
      // The box of the human_poses example, flipped or not (human_poses ignores the flip).
      EXPECT_EQ(std::vector<int32_t>(pose.begin() + 1, pose.begin() + 5),
                (std::vector<int32_t>{204 + 166, 1204 + 250, 2204 + 500, 3204 + 999}));
    }
  }
  EXPECT_GE(ks.size(), 5u);  // k is drawn per sample
}

// metadata through a stream (docs/raw-modalities.md#tokenizing, invariants 11, 12): each chunk
// tokenized on its own, whole chunks kept to M = 40, EOS only when everything fits; "20.0" makes a
// chunk of 4.
TEST_F(RawStreamTest, MetadataKeepsWholeChunksOfVaryingLength) {
  const std::string root = dir_ / "meta";
  std::string all = "{";
  for (const char* key : testing::kMetadataKeys) {
    StrAppend(&all, all.size() > 1 ? ", " : "", "\"", key, "\": 1");
  }
  all += "}";
  const std::string two = R"({"original_width": 640.0, "contrast": 130})";
  std::vector<int16_t> tokens(196, 1);
  Members metadata, image_tokens;
  for (int i = 0; i < 16; ++i) {
    const std::string key = StrCat("m", 100 + i);
    metadata.push_back({key + ".json", i % 2 ? all : two});
    image_tokens.push_back({key + ".npy", EncodeNpy(DType::kInt16, {196}, tokens.data())});
  }
  ASSERT_NO_FATAL_FAILURE(WriteShard(root, "metadata", metadata));
  ASSERT_NO_FATAL_FAILURE(WriteShard(root, "tok_rgb@224", image_tokens));
  absl::StatusOr<std::shared_ptr<const StreamSource>> source = Source(
      root, R"pb(
        modalities {
          name: "metadata"
          type: MODALITY_TYPE_SEQ
          max_tokens: 40
          vocab_size: 30000
          chunk_tokens: 2
        }
        modalities { name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }
        transfer { inputs: "metadata" targets: "tok_rgb@224" }
      )pb",
      Raw());
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<int32_t> width, contrast;
  tokenizer_->Encode("v1=0 v0=20.0", &width);
  tokenizer_->Encode("v1=11 v0=49", &contrast);
  ASSERT_EQ(width.size(), 4u);
  int small = 0, full = 0;
  for (const StreamBatch& b : Drain(*source, 2)) {
    for (int64_t r = 0; r < b.batch.size; ++r) {
      const std::vector<int32_t> ids = InputIds(b.batch.modalities[0], r);
      if (ids.size() == 7) {  // two chunks, either order, then EOS
        std::vector<int32_t> a = width, c = contrast;
        a.insert(a.end(), contrast.begin(), contrast.end());
        c.insert(c.end(), width.begin(), width.end());
        EXPECT_TRUE(ids == WithEos(a) || ids == WithEos(c));
        ++small;
      } else {  // 21 keys of two ids: 20 whole chunks, no EOS
        ASSERT_EQ(ids.size(), 40u);
        std::set<int32_t> keys_seen;
        for (size_t k = 0; k < 40; k += 2) {
          EXPECT_GE(ids[k], 1204);  // v1=j
          EXPECT_LT(ids[k], 1225);
          EXPECT_GE(ids[k + 1], 204);  // v0=<the value's bin>
          EXPECT_LT(ids[k + 1], 1204);
          keys_seen.insert(ids[k]);
        }
        EXPECT_EQ(keys_seen.size(), 20u);
        ++full;
      }
    }
  }
  EXPECT_GT(small, 0);
  EXPECT_GT(full, 0);
}

// maskfeed-shard synth (preset 4m-7): 4M's raw layout with its own tokenizer, served with
// preset 4m-7 (pixels, caption and det built per sample, five token modalities); the same
// bytes for any thread count, det ids only coordinates, class names and EOS, rgb@224 decoded
// for rows where it has input budget.
TEST_F(RawStreamTest, SynthesizedRawDatasetServesWithItsOwnTokenizer) {
  SynthOptions synth;
  synth.samples = 40;
  synth.shards = 2;
  synth.out = dir_ / "synth";
  ASSERT_TRUE(SynthesizeDataset(synth).ok());
  absl::StatusOr<std::unique_ptr<Dataset>> dataset = Dataset::Open(synth.out);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_EQ((*dataset)->record_kinds(*(*dataset)->FindModality("rgb")),
            std::vector<RecordKind>{RecordKind::kJpeg});
  EXPECT_EQ((*dataset)->record_kinds(*(*dataset)->FindModality("caption")),
            std::vector<RecordKind>{RecordKind::kJson});
  absl::StatusOr<std::unique_ptr<text::WordPieceTokenizer>> own =
      text::WordPieceTokenizer::FromFile(dir_ / "synth/tokenizer.json");
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ((*own)->TokenId("v3=999"), 4203);
  EXPECT_EQ((*own)->TokenId("zebra"), 4283);
  RawOptions raw;
  raw.tokenizer = std::move(*own);
  raw.main_augment_domain = "rgb@224";
  absl::StatusOr<std::shared_ptr<const StreamSource>> source = StreamSource::Create(
      std::shared_ptr<const Dataset>(std::move(*dataset)), *PresetMaskingConfig("4m-7"), raw);
  ASSERT_TRUE(source.ok()) << source.status();
  const std::vector<StreamBatch> one = Drain(*source, 1), two = Drain(*source, 2);
  ASSERT_EQ(one.size(), 6u);
  ASSERT_EQ(two.size(), one.size());
  size_t det_ids = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    for (size_t m = 0; m < one[i].batch.modalities.size(); ++m) {
      const HostTensor& a = one[i].batch.modalities[m].tensor;
      const HostTensor& b = two[i].batch.modalities[m].tensor;
      ASSERT_EQ(std::memcmp(a.as<char>(), b.as<char>(), a.nbytes()), 0);
    }
    const ModalityBatch& det = one[i].batch.modalities[1];
    ASSERT_EQ(det.name, "det");
    for (int64_t r = 0; r < one[i].batch.size; ++r) {
      for (int32_t id : InputIds(det, r)) {
        ASSERT_TRUE(id == kEos || (id >= 4 && id < 4284)) << id;
        ++det_ids;
      }
    }
  }
  EXPECT_GT(det_ids, 20u);
  // rgb@224: pixels where the row has rgb input budget, zeros where it has none.
  size_t decoded = 0, skipped = 0;
  for (const StreamBatch& b : one) {
    const ModalityBatch& rgb = b.batch.modalities[2];
    ASSERT_EQ(rgb.name, "rgb@224");
    ASSERT_EQ(rgb.tensor.dtype, DType::kUInt8);
    ASSERT_EQ(rgb.tensor.shape, (std::vector<int64_t>{b.batch.size, 3, 224, 224}));
    constexpr size_t kRowBytes = 3 * 224 * 224;
    for (int64_t r = 0; r < b.batch.size; ++r) {
      const uint8_t* mask = rgb.input_mask.as<uint8_t>() + r * 196;
      const bool input = std::any_of(mask, mask + 196, [](uint8_t v) { return v == 0; });
      const uint8_t* px = rgb.tensor.as<uint8_t>() + r * kRowBytes;
      const bool nonzero = std::any_of(px, px + kRowBytes, [](uint8_t v) { return v != 0; });
      EXPECT_EQ(nonzero, input) << "row " << r;
      ++(input ? decoded : skipped);
    }
  }
  EXPECT_GT(decoded, 0u);
  EXPECT_GT(skipped, 0u);
}

}  // namespace
}  // namespace maskfeed
