#include "pipeline/source/fourm_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "pipeline/base/log.h"
#include "pipeline/base/strings.h"
#include "pipeline/masking/masking_config.h"
#include "pipeline/order/repeat_spread.h"

namespace maskfeed {
namespace {

namespace fs = std::filesystem;

// 4M's argparse default for text_tokenizer_path, relative to its working directory.
constexpr char kDefaultTokenizer[] =
    "fourm/utils/tokenizer/trained/text_tokenizer_4m_wordpiece_30k.json";
constexpr int kDefaultTokens = 128;

// A YAML file and where in it we are, for messages.
struct Doc {
  std::string file;
  YAML::Node root;
};

std::string Where(const Doc& doc, const YAML::Node& node, std::string_view key) {
  const YAML::Mark mark = node.Mark();
  if (mark.line >= 0) return StrCat(doc.file, ":", mark.line + 1, ": ", key);
  return StrCat(doc.file, ": ", key);
}

absl::Status Bad(const Doc& doc, const YAML::Node& node, std::string_view key,
                 std::string_view message) {
  return absl::InvalidArgumentError(StrCat(Where(doc, node, key), ": ", message));
}

// A scalar as PyYAML's safe_load (YAML 1.1) resolves it.
struct Scalar {
  enum Kind { kNull, kBool, kInt, kFloat, kString } kind = kNull;
  bool boolean = false;
  double number = 0;  // kInt and kFloat
  std::string text;   // the scalar as written
};

bool AllOf(std::string_view s, std::string_view chars) {
  return !s.empty() && s.find_first_not_of(chars) == std::string_view::npos;
}

std::string Strip(std::string_view s, char c) {
  std::string out;
  for (char x : s) {
    if (x != c) out.push_back(x);
  }
  return out;
}

// PyYAML's int and float resolvers (sexagesimal forms aside): underscores are digit
// separators; a float needs a dot unless it is .inf or .nan; "1e-3" stays a string.
std::optional<double> PlainNumber(std::string_view s, bool* is_int) {
  std::string_view body = s;
  double sign = 1;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    sign = body[0] == '-' ? -1 : 1;
    body.remove_prefix(1);
  }
  *is_int = true;
  auto parse = [&](std::string_view digits, int base) -> std::optional<double> {
    const std::string clean = Strip(digits, '_');
    if (clean.empty()) return std::nullopt;
    errno = 0;
    const unsigned long long v = std::strtoull(clean.c_str(), nullptr, base);
    if (errno != 0) return std::nullopt;
    return sign * static_cast<double>(v);
  };
  if (body.substr(0, 2) == "0b" && AllOf(body.substr(2), "01_")) return parse(body.substr(2), 2);
  if (body.substr(0, 2) == "0x" && AllOf(body.substr(2), "0123456789abcdefABCDEF_")) {
    return parse(body.substr(2), 16);
  }
  if (body == "0") return 0.0;
  if (body.size() > 1 && body[0] == '0' && AllOf(body, "01234567_")) return parse(body, 8);
  if (!body.empty() && body[0] >= '1' && body[0] <= '9' && AllOf(body, "0123456789_")) {
    return parse(body, 10);
  }
  *is_int = false;
  if (body == ".inf" || body == ".Inf" || body == ".INF") return sign * HUGE_VAL;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::nan("");
  // [0-9][0-9_]*.[0-9_]*([eE][-+][0-9]+)?  or  .[0-9_]+([eE][-+][0-9]+)?
  const size_t dot = body.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view mantissa = body, exponent;
  if (const size_t e = body.find_first_of("eE"); e != std::string_view::npos) {
    mantissa = body.substr(0, e);
    exponent = body.substr(e + 1);
    if (exponent.size() < 2 || (exponent[0] != '-' && exponent[0] != '+') ||
        !AllOf(exponent.substr(1), "0123456789")) {
      return std::nullopt;
    }
  }
  const std::string_view whole = mantissa.substr(0, dot), fraction = mantissa.substr(dot + 1);
  if (whole.empty() ? !AllOf(fraction, "0123456789_")
                    : !(whole[0] >= '0' && whole[0] <= '9' && AllOf(whole, "0123456789_") &&
                        (fraction.empty() || AllOf(fraction, "0123456789_")))) {
    return std::nullopt;
  }
  const std::string clean = StrCat(Strip(mantissa, '_'), exponent.empty() ? "" : "e", exponent);
  return sign * std::strtod(clean.c_str(), nullptr);
}

Scalar Resolve(const YAML::Node& node) {
  Scalar s;
  s.text = node.Scalar();
  if (node.Tag() == "!") {  // quoted: always a string
    s.kind = Scalar::kString;
    return s;
  }
  const std::string& t = s.text;
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL") return s;
  for (const char* yes : {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}) {
    if (t == yes) {
      s.kind = Scalar::kBool;
      s.boolean = true;
      return s;
    }
  }
  for (const char* no : {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}) {
    if (t == no) {
      s.kind = Scalar::kBool;
      return s;
    }
  }
  bool is_int = false;
  if (std::optional<double> v = PlainNumber(t, &is_int)) {
    s.kind = is_int ? Scalar::kInt : Scalar::kFloat;
    s.number = *v;
    return s;
  }
  s.kind = Scalar::kString;
  return s;
}

// Typed reads of `map[key]`; each names file, line and key path on a wrong type.
class Reader {
 public:
  Reader(const Doc& doc, std::string path) : doc_(doc), path_(std::move(path)) {}

  std::string Key(std::string_view key) const {
    return path_.empty() ? std::string(key) : StrCat(path_, ".", key);
  }
  absl::Status Bad(const YAML::Node& n, std::string_view key, std::string_view msg) const {
    return maskfeed::Bad(doc_, n, Key(key), msg);
  }
  // Whether `key` is present (even as null).
  static bool Has(const YAML::Node& map, std::string_view key) {
    return map.IsMap() && map[std::string(key)].IsDefined();
  }
  static bool IsNull(const YAML::Node& n) {
    return n.IsNull() || (n.IsScalar() && Resolve(n).kind == Scalar::kNull);
  }
  absl::StatusOr<double> Number(const YAML::Node& map, std::string_view key) const {
    return NumberAt(map[std::string(key)], key);
  }
  // The same for a node already in hand (a list element), named `key` in messages.
  absl::StatusOr<double> NumberAt(const YAML::Node& n, std::string_view key) const {
    if (n.IsScalar()) {
      const Scalar s = Resolve(n);
      if (s.kind == Scalar::kInt || s.kind == Scalar::kFloat) return s.number;
      if (s.kind == Scalar::kString && s.text.find_first_of("eE") != std::string::npos) {
        return Bad(n, key,
                   StrCat("'", s.text,
                          "' is a string to PyYAML (YAML 1.1 floats need a dot: "
                          "write 1.0e-3)"));
      }
    }
    return Bad(n, key, "must be a number");
  }
  absl::StatusOr<int64_t> Int(const YAML::Node& map, std::string_view key, int64_t lo,
                              int64_t hi) const {
    const YAML::Node n = map[std::string(key)];
    if (n.IsScalar()) {
      const Scalar s = Resolve(n);
      if (s.kind == Scalar::kInt && s.number >= static_cast<double>(lo) &&
          s.number <= static_cast<double>(hi)) {
        return static_cast<int64_t>(s.number);
      }
    }
    return Bad(n, key, StrCat("must be an integer in ", lo, "..", hi));
  }
  absl::StatusOr<bool> Bool(const YAML::Node& map, std::string_view key) const {
    const YAML::Node n = map[std::string(key)];
    if (n.IsScalar()) {
      const Scalar s = Resolve(n);
      if (s.kind == Scalar::kBool) return s.boolean;
    }
    return Bad(n, key, "must be true or false");
  }
  absl::StatusOr<std::string> String(const YAML::Node& map, std::string_view key) const {
    const YAML::Node n = map[std::string(key)];
    if (n.IsScalar() && Resolve(n).kind == Scalar::kString) return n.Scalar();
    return Bad(n, key, "must be a string");
  }

 private:
  const Doc& doc_;
  std::string path_;
};

absl::StatusOr<Doc> Load(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return absl::NotFoundError(StrCat("4M config ", path, ": no such file"));
  }
  try {
    return Doc{path, YAML::LoadFile(path)};
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": not valid YAML: ", e.msg));
  }
}

std::string Resolved(const std::string& root, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return (fs::path(root) / path).lexically_normal().string();
}

std::vector<std::string> SplitDomains(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t dash = std::min(s.find('-', start), s.size());
    if (dash > start) out.push_back(s.substr(start, dash - start));
    start = dash + 1;
  }
  return out;
}

// The global settings of a model config.
struct Globals {
  int num_input = kDefaultTokens, num_target = kDefaultTokens;
  int min_input = -1, min_target = -1;  // -1: null (= num)
  std::string tokenizer;
};

bool IsSequence(const v1::Modality& m) { return m.type() != v1::MODALITY_TYPE_IMG; }

absl::StatusOr<v1::KeepScheme> KeepOf(const Reader& r, const YAML::Node& n, std::string_view key) {
  if (n.IsScalar()) {
    const std::string& v = n.Scalar();
    if (v == "random") return v1::KEEP_SCHEME_RANDOM;
    if (v == "all") return v1::KEEP_SCHEME_ALL;
    if (v == "binary") return v1::KEEP_SCHEME_BINARY;
  }
  return r.Bad(n, key, "must be 'random', 'all' or 'binary'");
}

// Alphas config form B (docs/4m-configs.md): flat, or sampling_weights + alphas_mixture.
absl::Status ImportAlphasFile(const std::string& path, const v1::MaskingConfig& masking,
                              v1::MaskingConfig* out) {
  absl::StatusOr<Doc> loaded = Load(path);
  if (!loaded.ok()) return loaded.status();
  const Doc& doc = *loaded;
  Reader top(doc, "");
  if (!doc.root.IsMap()) return Bad(doc, doc.root, "$", "an alphas config is a mapping");
  // (YAML::Node's operator= would overwrite the node it refers to: reset() re-points.)
  YAML::Node table;
  table.reset(doc.root);
  std::string prefix;
  std::vector<double> weights;
  if (Reader::Has(doc.root, "alphas_mixture")) {
    table.reset(doc.root["alphas_mixture"]);
    prefix = "alphas_mixture";
    if (!Reader::Has(doc.root, "sampling_weights")) {
      return Bad(doc, table, "alphas_mixture", "needs sampling_weights beside it");
    }
    const YAML::Node w = doc.root["sampling_weights"];
    if (!w.IsSequence() || w.size() == 0) {
      return Bad(doc, w, "sampling_weights", "must be a non-empty list");
    }
    for (size_t k = 0; k < w.size(); ++k) {
      const std::string at = StrCat("sampling_weights[", k, "]");
      absl::StatusOr<double> v = top.NumberAt(w[k], at);
      if (!v.ok()) return v.status();
      if (!(*v > 0)) return Bad(doc, w[k], at, "must be > 0");
      weights.push_back(*v);
    }
  }
  if (!table.IsMap()) return Bad(doc, table, prefix.empty() ? "$" : prefix, "must be a mapping");
  size_t components = weights.size();
  std::vector<v1::MixtureComponent> mixture;
  for (const v1::Modality& m : masking.modalities()) {
    const std::string key = prefix.empty() ? m.name() : StrCat(prefix, ".", m.name());
    if (!Reader::Has(table, m.name())) {
      return Bad(doc, table, key, "missing: every modality of the dataset needs its alphas here");
    }
    const YAML::Node entry = table[m.name()];
    std::vector<std::string> lists = {"input_alphas", "target_alphas"};
    if (IsSequence(m)) lists.push_back("keep");
    for (const std::string& list : lists) {
      const YAML::Node values = entry[list];
      if (!values.IsDefined() || !values.IsSequence()) {
        return Bad(doc, entry, StrCat(key, ".", list),
                   list == "keep" ? "required for a sequence modality (a list)" : "must be a list");
      }
      if (components == 0) components = values.size();
      if (values.size() != components || components == 0) {
        return Bad(doc, values, StrCat(key, ".", list),
                   StrCat("has ", values.size(), " values but the mixture has ", components,
                          " components"));
      }
      if (mixture.empty()) mixture.resize(components);
      for (size_t k = 0; k < components; ++k) {
        Reader r(doc, StrCat(key, ".", list));
        const std::string at = StrCat("[", k, "]");
        v1::MixtureComponent& c = mixture[k];
        if (list == "keep") {
          absl::StatusOr<v1::KeepScheme> keep = KeepOf(r, values[k], at);
          if (!keep.ok()) return keep.status();
          (*c.mutable_keep())[m.name()] = *keep;
          continue;
        }
        absl::StatusOr<double> v = r.NumberAt(values[k], at);
        if (!v.ok()) return v.status();
        if (!(*v >= 0)) return r.Bad(values[k], at, "must be >= 0");
        (*(list == "input_alphas" ? c.mutable_input_alpha() : c.mutable_target_alpha()))[m.name()] =
            *v;
      }
    }
  }
  for (size_t k = 0; k < mixture.size(); ++k) {
    mixture[k].set_name(StrCat("component_", k));
    mixture[k].set_weight(weights.empty() ? 1.0 : weights[k]);
    *out->add_mixture() = std::move(mixture[k]);
  }
  return absl::OkStatus();
}

// Form A: input_alphas / target_alphas strings, zipped with the sorted in/out domains.
absl::Status ImportInlineAlphas(const Reader& r, const YAML::Node& entry,
                                const std::vector<std::string>& in,
                                const std::vector<std::string>& out, v1::MaskingConfig* masking) {
  v1::MixtureComponent c;
  c.set_name("component_0");
  c.set_weight(1);
  for (const auto& [key, domains, alphas] :
       {std::tuple{"input_alphas", &in, c.mutable_input_alpha()},
        std::tuple{"target_alphas", &out, c.mutable_target_alpha()}}) {
    if (!Reader::Has(entry, key)) continue;  // absent: alpha 0
    absl::StatusOr<std::string> text = r.String(entry, key);
    if (!text.ok()) {
      return r.Bad(entry[key], key,
                   "must be a quoted string (\"0.5\" or \"a-b-c\"); 4M fails on a number or null");
    }
    std::vector<std::string> values = SplitDomains(*text);
    if (values.size() == 1) values.assign(domains->size(), values[0]);
    if (values.size() != domains->size()) {
      LogEvent("warn", "fourm_alphas_count",
               {{"key", r.Key(key)},
                {"values", std::to_string(values.size())},
                {"domains", std::to_string(domains->size())},
                {"message",
                 "zipped with the sorted domains as 4M does: surplus dropped, "
                 "missing ones 0"}});
    }
    for (size_t i = 0; i < domains->size() && i < values.size(); ++i) {
      bool is_int = false;
      const std::optional<double> v = PlainNumber(values[i], &is_int);
      if (!v || !(*v >= 0)) {
        return r.Bad(entry[key], key, StrCat("'", values[i], "' is not a number >= 0"));
      }
      (*alphas)[(*domains)[i]] = *v;
    }
  }
  for (const v1::Modality& m : masking->modalities()) {
    if (IsSequence(m)) (*c.mutable_keep())[m.name()] = v1::KEEP_SCHEME_RANDOM;
  }
  *masking->add_mixture() = std::move(c);
  return absl::OkStatus();
}

// num_*_tokens and min_*_tokens of a dataset (4M's null rules, docs/4m-configs.md).
absl::Status ImportTokens(const Reader& r, const YAML::Node& entry, std::string_view which,
                          int global_num, int global_min, v1::TokenRange* range) {
  const std::string num_key = StrCat("num_", which, "_tokens");
  const std::string min_key = StrCat("min_", which, "_tokens");
  int num = global_num;
  if (Reader::Has(entry, num_key)) {
    if (Reader::IsNull(entry[num_key])) {
      return r.Bad(entry[num_key], num_key, "null is not allowed (4M fails on it)");
    }
    absl::StatusOr<int64_t> v = r.Int(entry, num_key, 1, 65536);
    if (!v.ok()) return v.status();
    num = static_cast<int>(*v);
  }
  int min = global_min < 0 ? global_num : global_min;
  if (Reader::Has(entry, min_key)) {
    if (Reader::IsNull(entry[min_key])) {
      min = num;  // present null: this dataset's num, not the global min
    } else {
      absl::StatusOr<int64_t> v = r.Int(entry, min_key, 0, 65536);
      if (!v.ok()) return v.status();
      min = static_cast<int>(*v);
    }
  }
  range->set_max(static_cast<uint32_t>(num));
  range->set_min(static_cast<uint32_t>(min));
  range->set_min_is_zero(min == 0);
  return absl::OkStatus();
}

absl::StatusOr<v1::DatasetConfig> ImportDataset(const Doc& doc, const std::string& name,
                                                const YAML::Node& entry, const Globals& g,
                                                const FourMImport& import) {
  const Reader r(doc, StrCat("train.datasets.", name));
  if (!entry.IsMap()) return r.Bad(entry, "", "must be a mapping");
  for (const char* required : {"type", "in_domains", "out_domains", "data_path"}) {
    if (!Reader::Has(entry, required)) return r.Bad(entry, required, "required");
  }
  absl::StatusOr<std::string> type = r.String(entry, "type");
  if (!type.ok()) return type.status();
  if (*type != "multimodal") {
    return r.Bad(entry["type"], "type",
                 *type == "huggingface"
                     ? "a HuggingFace text dataset is read through HuggingFace's library, not "
                       "from shards: write it as shards with `maskfeed-shard import-jsonl --in "
                       "FILE.jsonl --out DIR` (C4 is published as JSON Lines), then make this "
                       "entry type: multimodal, use_wds: true, with data_path "
                       "DIR/[caption]/shard-{00000..LAST}.tar; or leave it out with "
                       "--4m-datasets"
                     : StrCat("'", *type, "' is neither multimodal nor huggingface"));
  }
  if (!Reader::Has(entry, "use_wds")) return r.Bad(entry, "use_wds", "required for multimodal");
  absl::StatusOr<bool> wds = r.Bool(entry, "use_wds");
  if (!wds.ok()) return wds.status();
  if (!*wds) {
    return r.Bad(entry["use_wds"], "use_wds",
                 "false (4M's folder format) is not served; maskfeed reads tar or .mfs shards");
  }
  v1::DatasetConfig d;
  d.set_name(name);
  std::vector<std::string> in, out;
  for (const auto& [key, list] : {std::pair{"in_domains", &in}, std::pair{"out_domains", &out}}) {
    absl::StatusOr<std::string> s = r.String(entry, key);
    if (!s.ok()) return s.status();
    *list = SplitDomains(*s);
    if (list->empty()) return r.Bad(entry[key], key, "names no modality");
    std::sort(list->begin(), list->end());
  }
  std::set<std::string> domains(in.begin(), in.end());
  domains.insert(out.begin(), out.end());
  v1::MaskingConfig& masking = *d.mutable_masking();
  for (const std::string& m : domains) {
    absl::StatusOr<v1::Modality> modality = FourMModality(m);
    if (!modality.ok())
      return r.Bad(entry["in_domains"], "in_domains", ToStd(modality.status().message()));
    *masking.add_modalities() = std::move(*modality);
  }
  if (absl::Status s =
          ImportTokens(r, entry, "input", g.num_input, g.min_input, masking.mutable_input_tokens());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ImportTokens(r, entry, "target", g.num_target, g.min_target,
                                    masking.mutable_target_tokens());
      !s.ok()) {
    return s;
  }
  if (Reader::Has(entry, "alphas_config") && !Reader::IsNull(entry["alphas_config"])) {
    absl::StatusOr<std::string> rel = r.String(entry, "alphas_config");
    if (!rel.ok()) return rel.status();
    std::string path = Resolved(import.root, *rel);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) && fs::is_regular_file(path + ".yaml", ec)) {
      // 4M's superres data config names its alphas file without ".yaml" (4M itself fails).
      LogEvent("warn", "fourm_alphas_path",
               {{"key", r.Key("alphas_config")}, {"path", path}, {"using", path + ".yaml"}});
      path += ".yaml";
    }
    if (!fs::is_regular_file(path, ec)) {
      return absl::NotFoundError(StrCat(Where(doc, entry["alphas_config"], r.Key("alphas_config")),
                                        ": ", path,
                                        " does not exist (relative paths are "
                                        "resolved against --4m-root, ",
                                        import.root, ")"));
    }
    if (absl::Status s = ImportAlphasFile(path, masking, &masking); !s.ok()) return s;
  } else if (absl::Status s = ImportInlineAlphas(r, entry, in, out, &masking); !s.ok()) {
    return s;
  }
  // data_path: the import's replacement, else the config's, relative to the root.
  std::string data_path;
  if (auto it = import.data_paths.find(name); it != import.data_paths.end()) {
    data_path = it->second;
  } else if (auto all = import.data_paths.find(""); all != import.data_paths.end()) {
    data_path = all->second;
  } else {
    absl::StatusOr<std::string> p = r.String(entry, "data_path");
    if (!p.ok()) return p.status();
    data_path = *p;
  }
  if (data_path.find("://") != std::string::npos) {
    return r.Bad(entry["data_path"], "data_path",
                 StrCat("'", data_path, "' is remote; maskfeed reads local shards today"));
  }
  d.set_data_path(Resolved(import.root, data_path));
  if (Reader::Has(entry, "wds_n_repeats")) {
    absl::StatusOr<int64_t> n = r.Int(entry, "wds_n_repeats", 1, 1000);
    if (!n.ok()) return n.status();
    d.set_n_repeats(static_cast<uint32_t>(*n));
  }
  // The shuffle buffer after 4M's repeat stage: how far copies spread (repeat_spread.h).
  if (Reader::Has(entry, "wds_shuffle_buffer_repeat")) {
    absl::StatusOr<int64_t> n = r.Int(entry, "wds_shuffle_buffer_repeat", 1, kMaxRepeatSpread);
    if (!n.ok()) return n.status();
    d.set_repeat_spread(static_cast<uint32_t>(*n));
  }
  if (Reader::Has(entry, "main_augment_domain") && !Reader::IsNull(entry["main_augment_domain"])) {
    absl::StatusOr<std::string> m = r.String(entry, "main_augment_domain");
    if (!m.ok()) return m.status();
    d.set_main_augment_domain(*m);
  }
  if (Reader::Has(entry, "aligned_captions")) {
    absl::StatusOr<bool> aligned = r.Bool(entry, "aligned_captions");
    if (!aligned.ok()) return aligned.status();
    d.set_unaligned_captions(!*aligned);
  }
  if (Reader::Has(entry, "tok_train_aug")) {
    absl::StatusOr<bool> aug = r.Bool(entry, "tok_train_aug");
    if (!aug.ok()) return aug.status();
    masking.set_no_crop_augmentation(!*aug);
  }
  // RandomCropImageAugmenter's settings, for data without crop_settings.
  if (Reader::Has(entry, "hflip") && !Reader::IsNull(entry["hflip"])) {
    absl::StatusOr<double> hflip = r.Number(entry, "hflip");
    if (!hflip.ok()) return hflip.status();
    d.mutable_random_crop()->set_hflip(*hflip);
  }
  for (const char* key : {"crop_scale", "crop_ratio"}) {
    if (!Reader::Has(entry, key) || Reader::IsNull(entry[key])) continue;
    const YAML::Node pair = entry[key];
    if (!pair.IsSequence() || pair.size() != 2) {
      return r.Bad(pair, key, "must be a list of two numbers [min, max]");
    }
    double v[2];
    for (size_t k = 0; k < 2; ++k) {
      absl::StatusOr<double> x = r.NumberAt(pair[k], StrCat(key, "[", k, "]"));
      if (!x.ok()) return x.status();
      v[k] = *x;
    }
    v1::RandomCropConfig& crop = *d.mutable_random_crop();
    if (std::string_view(key) == "crop_scale") {
      crop.set_scale_min(v[0]);
      crop.set_scale_max(v[1]);
    } else {
      crop.set_ratio_min(v[0]);
      crop.set_ratio_max(v[1]);
    }
  }
  if (Reader::Has(entry, "modality_name_map") && !Reader::IsNull(entry["modality_name_map"])) {
    const YAML::Node map = entry["modality_name_map"];
    if (!map.IsMap()) return r.Bad(map, "modality_name_map", "must be a mapping folder: path");
    for (const auto& kv : map) {
      if (!kv.second.IsScalar()) {
        return r.Bad(kv.second, StrCat("modality_name_map.", kv.first.Scalar()),
                     "must be a string");
      }
      (*d.mutable_modality_name_map())[kv.first.Scalar()] = kv.second.Scalar();
    }
  }
  if (!g.tokenizer.empty()) d.set_text_tokenizer(g.tokenizer);
  return d;
}

absl::Status ImportGlobals(const Doc& doc, Globals* g) {
  const Reader r(doc, "");
  for (const auto& [key, value] : {std::pair{"num_input_tokens", &g->num_input},
                                   {"num_target_tokens", &g->num_target},
                                   {"min_input_tokens", &g->min_input},
                                   {"min_target_tokens", &g->min_target}}) {
    if (!Reader::Has(doc.root, key)) continue;
    if (Reader::IsNull(doc.root[key])) {
      if (std::string_view(key).substr(0, 3) == "num") {
        return r.Bad(doc.root[key], key, "null is not allowed");
      }
      *value = -1;
      continue;
    }
    absl::StatusOr<int64_t> v = r.Int(doc.root, key, 0, 65536);
    if (!v.ok()) return v.status();
    *value = static_cast<int>(*v);
  }
  if (Reader::Has(doc.root, "text_tokenizer_path")) {
    absl::StatusOr<std::string> t = r.String(doc.root, "text_tokenizer_path");
    if (!t.ok()) return t.status();
    g->tokenizer = *t;
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ServerConfig> ImportUnguarded(const FourMImport& import) {
  if (import.files.empty()) return absl::InvalidArgumentError("--4m-config: no file given");
  Globals globals;
  std::optional<Doc> data;
  std::string data_config;  // named by a model config
  for (const std::string& file : import.files) {
    absl::StatusOr<Doc> doc = Load(file);
    if (!doc.ok()) return doc.status();
    if (!doc->root.IsMap()) return Bad(*doc, doc->root, "$", "a 4M config is a mapping");
    const bool is_data = Reader::Has(doc->root, "train");
    const bool is_model = Reader::Has(doc->root, "data_config") ||
                          Reader::Has(doc->root, "num_input_tokens") ||
                          Reader::Has(doc->root, "model");
    if (!is_data && !is_model) {
      return Bad(*doc, doc->root, "$",
                 Reader::Has(doc->root, "alphas_mixture") || Reader::Has(doc->root, "caption")
                     ? "an alphas config; give the data config that names it"
                     : "neither a 4M model config (data_config, num_input_tokens) nor a data "
                       "config (train.datasets)");
    }
    if (is_model) {
      if (absl::Status s = ImportGlobals(*doc, &globals); !s.ok()) return s;
      if (Reader::Has(doc->root, "data_config")) {
        absl::StatusOr<std::string> p = Reader(*doc, "").String(doc->root, "data_config");
        if (!p.ok()) return p.status();
        data_config = Resolved(import.root, *p);
      }
    }
    if (is_data) data = std::move(*doc);
  }
  if (!data) {
    if (data_config.empty()) {
      return absl::InvalidArgumentError(
          StrCat(import.files.back(), ": data_config: required when no data config is given"));
    }
    absl::StatusOr<Doc> doc = Load(data_config);
    if (!doc.ok()) return doc.status();
    data = std::move(*doc);
  }
  if (!import.text_tokenizer.empty()) {
    globals.tokenizer = import.text_tokenizer;
  } else if (!globals.tokenizer.empty()) {
    globals.tokenizer = Resolved(import.root, globals.tokenizer);
  } else {
    const std::string fallback = Resolved(import.root, kDefaultTokenizer);
    std::error_code ec;
    if (fs::is_regular_file(fallback, ec)) globals.tokenizer = fallback;
  }

  const Doc& d = *data;
  const YAML::Node datasets = d.root["train"]["datasets"];
  if (!datasets.IsMap() || datasets.size() == 0) {
    return Bad(d, d.root["train"], "train.datasets", "must map dataset names to their settings");
  }
  std::vector<double> weights;
  if (Reader::Has(d.root["train"], "weights")) {
    const YAML::Node w = d.root["train"]["weights"];
    if (!w.IsSequence() || w.size() != datasets.size()) {
      return Bad(d, w, "train.weights",
                 StrCat("must list one weight per dataset (", datasets.size(), ")"));
    }
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string at = StrCat("train.weights[", i, "]");
      absl::StatusOr<double> v = Reader(d, "").NumberAt(w[i], at);
      if (!v.ok()) return v.status();
      if (!(*v > 0)) return Bad(d, w[i], at, "must be > 0");
      weights.push_back(*v);
    }
  } else {
    weights.assign(datasets.size(), 1.0);
  }
  v1::ServerConfig config;
  v1::MixtureConfig mixture;
  mixture.set_name("train");
  const std::set<std::string> wanted(import.datasets.begin(), import.datasets.end());
  std::set<std::string> unseen = wanted;
  size_t i = 0;
  for (const auto& kv : datasets) {
    const std::string name = kv.first.Scalar();
    const double weight = weights[i++];
    unseen.erase(name);
    if (!wanted.empty() && !wanted.contains(name)) continue;
    absl::StatusOr<v1::DatasetConfig> dataset = ImportDataset(d, name, kv.second, globals, import);
    if (!dataset.ok()) return dataset.status();
    *config.add_dataset() = std::move(*dataset);
    v1::MixtureComponentRef* ref = mixture.add_component();
    ref->set_dataset(name);
    ref->set_weight(weight);
  }
  if (!unseen.empty()) {
    return absl::InvalidArgumentError(
        StrCat("--4m-datasets: ", *unseen.begin(), " is not in ", d.file, "'s train.datasets"));
  }
  if (config.dataset_size() > 1) *config.add_mixture() = std::move(mixture);
  return config;
}

}  // namespace

absl::StatusOr<v1::ServerConfig> ImportFourMConfig(const FourMImport& import) {
  // yaml-cpp throws where a node of the wrong kind is indexed (a list where a mapping was
  // expected, a key of a missing key); every such case is a structure error of the input.
  try {
    return ImportUnguarded(import);
  } catch (const YAML::Exception& e) {
    std::string files;
    for (const std::string& f : import.files) StrAppend(&files, files.empty() ? "" : ", ", f);
    return absl::InvalidArgumentError(
        StrCat(files, ": unexpected structure for a 4M config (", e.what(), ")"));
  }
}

}  // namespace maskfeed
