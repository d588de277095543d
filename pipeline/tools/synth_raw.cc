#include "pipeline/tools/synth_raw.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "nlohmann/json.hpp"
#include "pipeline/base/splitmix64.h"
#include "pipeline/base/strings.h"
#include "pipeline/image/jpeg_encode.h"

namespace maskfeed {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kClasses[] = {"airplane",      "apple",
                                    "backpack",      "banana",
                                    "baseball bat",  "baseball glove",
                                    "bear",          "bed",
                                    "bench",         "bicycle",
                                    "bird",          "boat",
                                    "book",          "bottle",
                                    "bowl",          "broccoli",
                                    "bus",           "cake",
                                    "car",           "carrot",
                                    "cat",           "cell phone",
                                    "chair",         "clock",
                                    "couch",         "cow",
                                    "cup",           "dining table",
                                    "dog",           "donut",
                                    "elephant",      "fire hydrant",
                                    "fork",          "frisbee",
                                    "giraffe",       "hair drier",
                                    "handbag",       "horse",
                                    "hot dog",       "keyboard",
                                    "kite",          "knife",
                                    "laptop",        "microwave",
                                    "motorcycle",    "mouse",
                                    "orange",        "oven",
                                    "parking meter", "person",
                                    "pizza",         "potted plant",
                                    "refrigerator",  "remote",
                                    "sandwich",      "scissors",
                                    "sheep",         "sink",
                                    "skateboard",    "skis",
                                    "snowboard",     "spoon",
                                    "sports ball",   "stop sign",
                                    "suitcase",      "surfboard",
                                    "teddy bear",    "tennis racket",
                                    "tie",           "toaster",
                                    "toilet",        "toothbrush",
                                    "traffic light", "train",
                                    "truck",         "tv",
                                    "umbrella",      "vase",
                                    "wine glass",    "zebra"};

// Caption words: frequent English words of image captions, plus a few that WordPiece splits.
constexpr const char* kWords[] = {"a",           "an",
                                  "the",         "of",
                                  "on",          "in",
                                  "with",        "and",
                                  "is",          "at",
                                  "near",        "next",
                                  "to",          "two",
                                  "three",       "man",
                                  "woman",       "people",
                                  "child",       "group",
                                  "standing",    "sitting",
                                  "walking",     "riding",
                                  "holding",     "playing",
                                  "looking",     "table",
                                  "street",      "field",
                                  "water",       "beach",
                                  "room",        "kitchen",
                                  "city",        "tree",
                                  "grass",       "snow",
                                  "sky",         "building",
                                  "white",       "black",
                                  "red",         "blue",
                                  "green",       "large",
                                  "small",       "young",
                                  "old",         "front",
                                  "top",         "side",
                                  "road",        "park",
                                  "plate",       "food",
                                  "dog",         "cat",
                                  "horse",       "bus",
                                  "train",       "car",
                                  "bike",        "photo",
                                  "picture",     "view",
                                  "close",       "up",
                                  "wooden",      "sunny",
                                  "cloudy",      "colorful",
                                  "empty",       "busy",
                                  "lined",       "parked",
                                  "covered",     "several",
                                  "many",        "some",
                                  "while",       "his",
                                  "her",         "their",
                                  "under",       "over",
                                  "by",          "from",
                                  "into",        "down",
                                  "ocean",       "mountain",
                                  "window",      "door",
                                  "wall",        "floor",
                                  "bed",         "chair",
                                  "laptop",      "phone",
                                  "book",        "cake",
                                  "pizza",       "umbrella",
                                  "kite",        "skateboarding",
                                  "snowboarder", "refrigerator",
                                  "motorcycles", "giraffes",
                                  "zebras"};

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>((SplitMix64(&state_) >> 32) * n >> 32);
  }
  double Uniform() { return static_cast<double>(SplitMix64(&state_) >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

double Round3(double v) { return std::round(v * 1000) / 1000; }

std::string Caption(Rng& rng) {
  const uint32_t roll = rng.Below(100);
  const uint32_t words = roll < 70   ? 6 + rng.Below(25)
                         : roll < 95 ? 30 + rng.Below(60)
                                     : 90 + rng.Below(211);
  std::string text;
  for (uint32_t w = 0; w < words; ++w) {
    if (w > 0) text += rng.Below(12) == 0 ? ", " : " ";
    std::string word = kWords[rng.Below(std::size(kWords))];
    if (w == 0) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
    text += word;
  }
  return text + ".";
}

}  // namespace

std::string SynthCaptionJson(uint64_t seed, int crops) {
  Rng rng(seed);
  Json list = Json::array();
  for (int c = 0; c < crops; ++c) {
    const std::string caption = Caption(rng);
    if (c % 2 == 1) {
      list.push_back(Json{{"caption", caption}});
    } else {
      list.push_back(caption);
    }
  }
  return list.dump();
}

std::string SynthDetJson(uint64_t seed) {
  Rng rng(seed);
  const uint32_t n = rng.Below(4) == 0 ? 0 : 1 + rng.Below(rng.Below(5) == 0 ? 40 : 10);
  Json instances = Json::array();
  for (uint32_t i = 0; i < n; ++i) {
    const double x0 = rng.Uniform(), y0 = rng.Uniform();
    const double x1 = x0 + (1 - x0) * rng.Uniform(), y1 = y0 + (1 - y0) * rng.Uniform();
    instances.push_back(Json{{"boxes", {Round3(x0), Round3(y0), Round3(x1), Round3(y1)}},
                             {"class_name", kClasses[rng.Below(std::size(kClasses))]},
                             {"score", Round3(0.4 + 0.6 * rng.Uniform())}});
  }
  return Json{{"instances", instances}}.dump();
}

std::string SynthMetadataJson(uint64_t seed, int height, int width) {
  Rng rng(seed);
  Json m;
  m["original_width"] = width;
  m["original_height"] = height;
  m["caption_n_words"] = 5 + rng.Below(40);
  m["n_coco_instances"] = rng.Below(20);
  m["colorfulness"] = Round3(150 * rng.Uniform());
  m["brightness"] = Round3(255 * rng.Uniform());
  m["aesthetic_score"] = Round3(3 + 4 * rng.Uniform());
  m["watermark_score"] = Round3(rng.Uniform());
  return m.dump();
}

std::string SynthJpeg(uint64_t seed, int height, int width) {
  Rng rng(seed);
  double base[3], gx[3], gy[3];
  for (int c = 0; c < 3; ++c) {
    base[c] = 40 + 170 * rng.Uniform();
    gx[c] = (rng.Uniform() - 0.5) * 120 / width;
    gy[c] = (rng.Uniform() - 0.5) * 120 / height;
  }
  struct Blob {
    double x, y, r, gain[3];
  };
  std::vector<Blob> blobs(3 + rng.Below(4));
  for (Blob& b : blobs) {
    b.x = rng.Uniform() * width;
    b.y = rng.Uniform() * height;
    b.r = (0.05 + 0.2 * rng.Uniform()) * std::min(width, height);
    for (double& g : b.gain) g = (rng.Uniform() - 0.5) * 160;
  }
  std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    uint8_t* row = pixels.data() + static_cast<size_t>(y) * width * 3;
    for (int x = 0; x < width; ++x) {
      double v[3] = {base[0] + gx[0] * x + gy[0] * y, base[1] + gx[1] * x + gy[1] * y,
                     base[2] + gx[2] * x + gy[2] * y};
      for (const Blob& b : blobs) {
        const double d2 = ((x - b.x) * (x - b.x) + (y - b.y) * (y - b.y)) / (b.r * b.r);
        if (d2 < 4) {
          const double w = std::exp(-d2);
          for (int c = 0; c < 3; ++c) v[c] += b.gain[c] * w;
        }
      }
      for (int c = 0; c < 3; ++c)
        row[x * 3 + c] = static_cast<uint8_t>(std::clamp(v[c], 0.0, 255.0));
    }
  }
  return EncodeRgbJpeg(pixels.data(), width, height, 85);
}

std::string SynthTokenizerJson() {
  Json added = Json::array();
  Json vocab = Json::object();
  int32_t id = 0;
  auto add = [&](const std::string& content, bool single_word, bool normalized) {
    added.push_back(Json{{"id", id},
                         {"content", content},
                         {"single_word", single_word},
                         {"lstrip", false},
                         {"rstrip", false},
                         {"normalized", normalized},
                         {"special", true}});
    vocab[content] = id++;
  };
  for (const char* s : {"[PAD]", "[UNK]", "[SOS]", "[EOS]"}) add(s, false, false);
  for (int k = 0; k < 200; ++k) add(StrCat("[S_", k, "]"), true, false);
  for (int j = 0; j < 4; ++j) {
    for (int i = 0; i < 1000; ++i) add(StrCat("v", j, "=", i), true, false);
  }
  for (const char* c : kClasses) add(c, true, true);
  auto word = [&](const std::string& w) {
    if (!vocab.contains(w)) vocab[w] = id++;
  };
  for (const char* w : kWords) word(w);
  for (const char* p : {".", ",", "'", "-", "=", "!", "?", "(", ")", ":", ";"}) word(p);
  for (char c = 'a'; c <= 'z'; ++c) word(std::string(1, c));
  for (char c = '0'; c <= '9'; ++c) word(std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) word(StrCat("##", std::string(1, c)));
  for (char c = '0'; c <= '9'; ++c) word(StrCat("##", std::string(1, c)));
  Json t;
  t["version"] = "1.0";
  t["truncation"] = nullptr;
  t["padding"] = nullptr;
  t["added_tokens"] = added;
  t["normalizer"] = Json{{"type", "BertNormalizer"},
                         {"clean_text", true},
                         {"handle_chinese_chars", true},
                         {"strip_accents", nullptr},
                         {"lowercase", true}};
  t["pre_tokenizer"] = Json{{"type", "BertPreTokenizer"}};
  t["post_processor"] = nullptr;
  t["decoder"] = Json{{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
  t["model"] = Json{{"type", "WordPiece"},
                    {"unk_token", "[UNK]"},
                    {"continuing_subword_prefix", "##"},
                    {"max_input_chars_per_word", 100},
                    {"vocab", vocab}};
  return t.dump(1);
}

}  // namespace maskfeed
