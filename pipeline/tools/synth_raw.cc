#include "pipeline/tools/synth_raw.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "nlohmann/json.hpp"
#include "pipeline/base/splitmix64.h"
#include "pipeline/base/strings.h"
#include "pipeline/image/jpeg_encode.h"
#include "pipeline/tools/npz_writer.h"
#include "pipeline/tools/numpy_pickle_writer.h"

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

std::string SynthMetadata21Json(uint64_t seed, int height, int width) {
  Rng rng(seed);
  // 4M's 21 keys: the integer ones, then the float ones with the top of their bin range.
  constexpr const char* kInts[] = {
      "caption_n_chars", "caption_n_words",  "caption_n_sentences",     "n_humans",
      "n_sam_instances", "n_coco_instances", "coco_instance_diversity", "semantic_diversity"};
  constexpr std::pair<const char*, double> kFloats[] = {
      {"colorfulness", 150},     {"brightness", 255},
      {"contrast", 127},         {"saturation", 255},
      {"entropy", 10},           {"walkability", 1},
      {"objectness", 1},         {"geometric_complexity", 0.75},
      {"occlusion_score", 0.25}, {"watermark_score", 1},
      {"aesthetic_score", 8}};
  const uint32_t keep = 12 + rng.Below(10);  // of the 19 keys past the image size
  Json m;
  m["original_width"] = width;
  m["original_height"] = height;
  uint32_t kept = 0;
  for (const char* key : kInts) {
    if (kept < keep && rng.Below(19) < keep) {
      m[key] = rng.Below(8) == 0 ? 900 + rng.Below(300) : rng.Below(60);
      ++kept;
    }
  }
  for (const auto& [key, top] : kFloats) {
    if (kept < keep && rng.Below(19) < keep) {
      m[key] = Round3(top * (1.2 * rng.Uniform() - 0.1));
      ++kept;
    }
  }
  return m.dump();
}

std::string SynthPaletteJson(uint64_t seed) {
  Rng rng(seed);
  Json palettes = Json::object();
  for (int k = 1; k <= 7; ++k) {
    Json colours = Json::array();
    for (int c = 0; c < k; ++c) {
      Json rgb = Json::array();
      for (int ch = 0; ch < 3; ++ch) {
        // Half of the values end in .5: Python's round sends them to the even neighbour.
        const double v = rng.Below(256) + (rng.Below(2) == 0 ? 0.5 : Round3(rng.Uniform()));
        rgb.push_back(std::min(v, 255.0));
      }
      colours.push_back(rgb);
    }
    palettes[std::to_string(k)] = colours;
  }
  return Json::array({palettes}).dump();
}

std::string SynthPosesJson(uint64_t seed, int height, int width) {
  Rng rng(seed);
  const uint32_t people = rng.Below(3) == 0 ? 0 : 1 + rng.Below(3);
  if (people == 0) return "{}";
  auto uniform = [&](double lo, double hi) { return Round3(lo + (hi - lo) * rng.Uniform()); };
  auto matrix = [&] {  // 3 x 3, entries in [-1, 1]
    Json m = Json::array();
    for (int r = 0; r < 3; ++r)
      m.push_back(Json::array({uniform(-1, 1), uniform(-1, 1), uniform(-1, 1)}));
    return m;
  };
  Json boxes = Json::array(), global = Json::array(), body = Json::array(), betas = Json::array(),
       codes = Json::array(), cams = Json::array();
  for (uint32_t p = 0; p < people; ++p) {
    // Some boxes reach past the image, as a detector's do.
    const double x0 = uniform(-0.1, 0.8) * width, y0 = uniform(-0.1, 0.8) * height;
    boxes.push_back(
        Json::array({x0, y0, x0 + uniform(0.05, 0.6) * width, y0 + uniform(0.1, 0.7) * height}));
    global.push_back(Json::array({matrix()}));
    Json joints = Json::array();
    for (int j = 0; j < 23; ++j) joints.push_back(matrix());
    body.push_back(joints);
    Json b = Json::array();
    for (int k = 0; k < 10; ++k) b.push_back(rng.Below(10) == 0 ? uniform(-4, 4) : uniform(-3, 3));
    betas.push_back(b);
    Json c = Json::array();
    for (int k = 0; k < 8; ++k) c.push_back(rng.Below(1024));
    codes.push_back(c);
    cams.push_back(Json::array({uniform(-2, 2), uniform(-2, 2), uniform(0, 21)}));
  }
  Json poses;
  poses["bbox_xyxy"] = boxes;
  poses["pred_smpl_params"] =
      Json{{"global_orient", global}, {"body_pose", body}, {"betas", betas}};
  poses["pose_tokenized"] = codes;
  poses["pred_cam"] = cams;
  return poses.dump();
}

std::string SynthSamNpy(uint64_t seed, int crops) {
  Rng rng(seed);
  constexpr int kSide = 224, kTokens = 16;
  NumpyPickleWriter w;
  w.BeginObjectArray(crops);
  for (int c = 0; c < crops; ++c) {
    const uint32_t instances = rng.Below(7);
    std::string tokens, boxes;
    w.BeginDict();
    w.Str("points");
    w.BeginList();
    for (uint32_t i = 0; i < instances; ++i) {
      // A star-shaped polygon: vertices at increasing angles around a centre, radii jittered.
      const double cx = rng.Below(kSide), cy = rng.Below(kSide);
      const double r = 20 + rng.Below(90);
      const uint32_t n = 3 + rng.Below(10);
      std::vector<int32_t> xy;
      int32_t lo[2] = {kSide, kSide}, hi[2] = {0, 0};
      for (uint32_t v = 0; v < n; ++v) {
        const double angle = 2 * std::numbers::pi * (v + 0.8 * rng.Uniform()) / n;
        const double radius = r * (0.5 + 0.5 * rng.Uniform());
        const auto x =
            std::clamp<int32_t>(static_cast<int32_t>(cx + radius * std::cos(angle)), 0, kSide - 1);
        const auto y =
            std::clamp<int32_t>(static_cast<int32_t>(cy + radius * std::sin(angle)), 0, kSide - 1);
        xy.insert(xy.end(), {x, y});
        lo[0] = std::min(lo[0], x), lo[1] = std::min(lo[1], y);
        hi[0] = std::max(hi[0], x), hi[1] = std::max(hi[1], y);
      }
      w.BeginList();
      w.Array("<i4", {static_cast<int64_t>(n), 1, 2},
              std::string_view(reinterpret_cast<const char*>(xy.data()), xy.size() * 4));
      w.EndList();
      for (int t = 0; t < kTokens; ++t) {
        const int64_t id = rng.Below(1024);
        tokens.append(reinterpret_cast<const char*>(&id), sizeof id);
      }
      // (ymin, xmin, ymax, xmax) with fractions, which 4M truncates.
      const float box[4] = {static_cast<float>(lo[1] + 0.75 * rng.Uniform()),
                            static_cast<float>(lo[0] + 0.75 * rng.Uniform()),
                            static_cast<float>(hi[1] + 0.99 * rng.Uniform()),
                            static_cast<float>(hi[0] + 0.99 * rng.Uniform())};
      boxes.append(reinterpret_cast<const char*>(box), sizeof box);
    }
    w.EndList();
    w.Str("token_ids");
    w.Array("<i8", {static_cast<int64_t>(instances), kTokens}, tokens);
    w.Str("bbox");
    w.Array("<f4", {static_cast<int64_t>(instances), 4}, boxes);
    w.EndDict();
  }
  w.EndObjectArray();
  return w.Npy();
}

std::string SynthT5Npz(uint64_t seed, int crops) {
  Rng rng(seed);
  constexpr int64_t kWidth = 4096;
  std::vector<int64_t> valid(crops);
  int64_t longest = 1;
  for (int64_t& v : valid) {
    v = 1 + rng.Below(rng.Below(4) == 0 ? 24 : 12);
    longest = std::max(longest, v);
  }
  std::string emb(static_cast<size_t>(crops * longest * kWidth) * 2, '\0');
  std::string mask(static_cast<size_t>(crops * longest), '\0');
  for (int c = 0; c < crops; ++c) {
    for (int64_t row = 0; row < valid[c]; ++row) {
      mask[c * longest + row] = 1;
      char* out = emb.data() + ((c * longest + row) * kWidth) * 2;
      for (int64_t k = 0; k < kWidth; ++k) {
        // A float16 of magnitude 1/16..1 with a random sign and mantissa.
        const uint32_t bits = rng.Below(1u << 16);
        const auto half = static_cast<uint16_t>((bits & 0x8000) |
                                                ((0x0B + (bits >> 13 & 3)) << 10) | (bits & 0x3FF));
        out[2 * k] = static_cast<char>(half & 0xFF);
        out[2 * k + 1] = static_cast<char>(half >> 8);
      }
    }
  }
  NpzWriter npz;
  npz.AddBytes("emb", "<f2", {crops, longest, kWidth}, std::move(emb));
  npz.AddBytes("mask_valid", "|b1", {crops, longest}, std::move(mask));
  absl::StatusOr<std::string> bytes = npz.Encode();
  return bytes.ok() ? *std::move(bytes) : std::string();  // far below the zip limits
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

std::string SynthTokenizerJson(bool fourm21_words) {
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
  // The words of 4M-21's templates (human_poses, sam_instance), last so that 4M-7's ids stay.
  if (fourm21_words) {
    for (const char* w :
         {"none", "human", "pose", "global", "shape", "camera", "point", "polygon"}) {
      word(w);
    }
  }
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
