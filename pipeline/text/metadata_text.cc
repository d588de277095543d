// metadata (docs/raw-modalities.md#metadata).
#include <charconv>
#include <cmath>

#include "pipeline/base/strings.h"
#include "pipeline/text/json_values.h"
#include "pipeline/text/text_builders.h"

namespace maskfeed::text {
namespace {

enum class Group { kImageSize, kInteger, kWatermark, kAesthetic, kRange };

struct MetadataKey {
  const char* name;
  int j;  // the v1= type token
  Group group;
  double vmax;  // kRange only
};

// 4M's metadata keys, their type tokens and encodings.
constexpr MetadataKey kKeys[] = {
    {"original_width", 0, Group::kImageSize, 0},
    {"original_height", 1, Group::kImageSize, 0},
    {"caption_n_chars", 2, Group::kInteger, 0},
    {"caption_n_words", 3, Group::kInteger, 0},
    {"caption_n_sentences", 4, Group::kInteger, 0},
    {"n_humans", 5, Group::kInteger, 0},
    {"n_sam_instances", 6, Group::kInteger, 0},
    {"n_coco_instances", 7, Group::kInteger, 0},
    {"coco_instance_diversity", 8, Group::kInteger, 0},
    {"colorfulness", 9, Group::kRange, 150},
    {"brightness", 10, Group::kRange, 255},
    {"contrast", 11, Group::kRange, 127},
    {"saturation", 12, Group::kRange, 255},
    {"entropy", 13, Group::kRange, 10},
    {"walkability", 14, Group::kRange, 1},
    {"objectness", 15, Group::kRange, 1},
    {"semantic_diversity", 16, Group::kInteger, 0},
    {"geometric_complexity", 17, Group::kRange, 0.75},
    {"occlusion_score", 18, Group::kRange, 0.25},
    {"watermark_score", 19, Group::kWatermark, 0},
    {"aesthetic_score", 20, Group::kAesthetic, 0},
};

// Python's min(v, hi) then max(0, ·) on numbers of either type: the argument returned keeps
// its type, and NaN ends as the int 0 (min keeps NaN, max(0, NaN) returns 0).
PyNumber ClampPy(PyNumber v, int64_t hi) {
  if (static_cast<double>(hi) < v.value()) v = PyNumber{.is_int = true, .i = hi};
  if (!(v.value() > 0)) v = PyNumber{.is_int = true, .i = 0};
  return v;
}

std::string Print(const PyNumber& v) {
  return v.is_int ? std::to_string(v.i) : PythonFloatRepr(v.f);
}

// Python's floor division by 32: an int stays an int, a float stays a float.
PyNumber FloorDiv32(const PyNumber& v) {
  if (v.is_int) {
    const int64_t q = v.i / 32 - ((v.i % 32 != 0) && (v.i < 0) ? 1 : 0);
    return PyNumber{.is_int = true, .i = q};
  }
  return PyNumber{.f = std::floor(v.f / 32)};
}

}  // namespace

std::string PythonFloatRepr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // The shortest digits that round-trip, then Python's layout: positional for exponents
  // -4..15 (with ".0" on integral values), scientific with a two-digit exponent otherwise.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, end);  // d[.ddd]e±XX
  const size_t e = sci.find('e');
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string sign, digits;
  for (char c : sci.substr(0, e)) {
    if (c == '-') sign = "-";
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  if (exponent < -4 || exponent >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    const int a = std::abs(exponent);
    return StrCat(out, "e", exponent < 0 ? "-" : "+", a < 10 ? "0" : "", a);
  }
  if (exponent < 0) return StrCat(sign, "0.", std::string(-exponent - 1, '0'), digits);
  const size_t int_digits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= int_digits) {
    return StrCat(sign, digits, std::string(int_digits - digits.size(), '0'), ".0");
  }
  return StrCat(sign, digits.substr(0, int_digits), ".", digits.substr(int_digits));
}

absl::StatusOr<std::vector<std::string>> BuildMetadataChunks(JsonValue metadata, Rng& rng) {
  if (!metadata.is_object()) return JsonDataLoss("$", "metadata must be an object");
  std::vector<std::string> chunks;
  // In the dict's order, as 4M's shuffle starts from it.
  for (const auto& [name, value] : Items(metadata)) {
    const MetadataKey* key = nullptr;
    for (const MetadataKey& k : kKeys) {
      if (name == k.name) key = &k;
    }
    if (key == nullptr) return JsonDataLoss(Printable(name), "not a 4M metadata key");
    absl::StatusOr<PyNumber> v = NumberAt(value, Printable(name));
    if (!v.ok()) return v.status();
    std::string encoded;
    switch (key->group) {
      case Group::kImageSize:
        encoded = Print(ClampPy(FloorDiv32(*v), 999));
        break;
      case Group::kInteger:
        encoded = Print(ClampPy(*v, 999));
        break;
      case Group::kWatermark:
        encoded = v->value() < 0.5 ? "0" : "1";
        break;
      case Group::kAesthetic:
        encoded = v->value() < 4.5 ? "0" : (v->value() < 5.5 ? "1" : "2");
        break;
      case Group::kRange: {
        // min(v, vmax) then max(0, ·) as above, then (c / vmax) * 49, truncated.
        double c = v->value();
        if (key->vmax < c) c = key->vmax;
        if (!(c > 0)) c = 0;
        encoded = std::to_string(static_cast<int64_t>(c / key->vmax * 49));
        break;
      }
    }
    chunks.push_back(StrCat("v1=", key->j, " v0=", encoded));
  }
  // random.shuffle: Fisher-Yates from the end.
  for (size_t i = chunks.size(); i > 1; --i) {
    std::swap(chunks[i - 1], chunks[rng.Below(static_cast<uint32_t>(i))]);
  }
  return chunks;
}

}  // namespace maskfeed::text
