// The tokenizer golden file (tests/data/tokenizer/wordpiece_4m_goldens.jsonl.gz, made with
// HuggingFace's tokenizers by make_goldens.js): each string and the ids it gives.
#ifndef MASKFEED_TESTS_TESTING_TOKENIZER_GOLDENS_H_
#define MASKFEED_TESTS_TESTING_TOKENIZER_GOLDENS_H_

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace maskfeed::testing {

inline constexpr char kTokenizer4m[] =
    MASKFEED_SOURCE_DIR "/tests/data/4m/text_tokenizer_4m_wordpiece_30k.json";
inline constexpr char kTokenizerGoldens[] =
    MASKFEED_SOURCE_DIR "/tests/data/tokenizer/wordpiece_4m_goldens.jsonl.gz";

struct GoldenLine {
  std::string text;
  std::vector<int32_t> ids;
};

// Every line of a gzipped JSON Lines file, parsed; empty when it cannot be read.
inline std::vector<nlohmann::json> ReadGzipJsonLines(const char* path) {
  std::vector<nlohmann::json> lines;
  gzFile f = gzopen(path, "rb");
  if (f == nullptr) return lines;
  std::string all;
  char buf[1 << 16];
  for (int n; (n = gzread(f, buf, sizeof(buf))) > 0;) all.append(buf, static_cast<size_t>(n));
  gzclose(f);
  for (size_t start = 0; start < all.size();) {
    size_t end = all.find('\n', start);
    if (end == std::string::npos) end = all.size();
    if (end > start) lines.push_back(nlohmann::json::parse(all.substr(start, end - start)));
    start = end + 1;
  }
  return lines;
}

// Every line of the golden file; empty when it cannot be read.
inline std::vector<GoldenLine> ReadTokenizerGoldens() {
  std::vector<GoldenLine> lines;
  for (const nlohmann::json& line : ReadGzipJsonLines(kTokenizerGoldens)) {
    lines.push_back({line["text"].get<std::string>(), line["ids"].get<std::vector<int32_t>>()});
  }
  return lines;
}

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_TOKENIZER_GOLDENS_H_
