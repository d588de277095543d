// The text tokenizer alone, one thread: encodes every string of a corpus (a .jsonl.gz of
// {"text": ...} lines, such as the golden corpus) again and again for --seconds, and prints
// one JSON line with characters (code points) and strings per second.
//
//   build/bench/maskfeed-bench-tokenizer --tokenizer T.json --corpus C.jsonl.gz [--seconds 5]
// bench/tokenizer_vs_hf.sh runs it beside HuggingFace's encodeBatch on the same corpus.
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "frontend/cli_args.h"
#include "nlohmann/json.hpp"
#include "pipeline/base/json_line.h"
#include "pipeline/text/wordpiece_tokenizer.h"

namespace {

constexpr char kUsage[] =
    R"(The text tokenizer alone, one thread: encodes every string of a corpus (.jsonl.gz of
{"text": ...} lines) for --seconds; one JSON line with characters and strings per second.

usage: maskfeed-bench-tokenizer --tokenizer T.json --corpus C.jsonl.gz [--seconds 5]
)";

std::vector<std::string> ReadCorpus(const std::string& path) {
  std::vector<std::string> texts;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return texts;
  std::string all;
  char buf[1 << 16];
  for (int n; (n = gzread(f, buf, sizeof(buf))) > 0;) all.append(buf, static_cast<size_t>(n));
  gzclose(f);
  for (size_t start = 0; start < all.size();) {
    size_t end = all.find('\n', start);
    if (end == std::string::npos) end = all.size();
    if (end > start) {
      texts.push_back(nlohmann::json::parse(all.substr(start, end - start))["text"]);
    }
    start = end + 1;
  }
  return texts;
}

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace maskfeed;
  absl::StatusOr<CliArgs> args = CliArgs::Parse(std::vector<std::string>(argv + 1, argv + argc),
                                                {"tokenizer", "corpus", "seconds"}, {});
  if (args.ok() && args->help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!args.ok() || !args->Has("tokenizer") || !args->Has("corpus")) {
    if (!args.ok()) std::fprintf(stderr, "%s\n", std::string(args.status().message()).c_str());
    std::fputs(kUsage, stderr);
    return 2;
  }
  absl::StatusOr<int64_t> seconds = args->GetInt("seconds", 5, 1, 3600);
  absl::StatusOr<std::unique_ptr<text::WordPieceTokenizer>> tokenizer =
      text::WordPieceTokenizer::FromFile(args->GetString("tokenizer"));
  if (!seconds.ok() || !tokenizer.ok()) {
    std::fprintf(
        stderr, "maskfeed-bench-tokenizer: %s\n",
        std::string((seconds.ok() ? tokenizer.status() : seconds.status()).message()).c_str());
    return 1;
  }
  const std::vector<std::string> corpus = ReadCorpus(args->GetString("corpus"));
  if (corpus.empty()) {
    std::fprintf(stderr, "maskfeed-bench-tokenizer: no strings in %s\n",
                 args->GetString("corpus").c_str());
    return 1;
  }
  size_t corpus_chars = 0;
  for (const std::string& s : corpus) corpus_chars += CodePoints(s);
  std::vector<int32_t> ids;
  uint64_t passes = 0, total_ids = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(*seconds);
  do {
    for (const std::string& s : corpus) {
      ids.clear();
      (*tokenizer)->Encode(s, &ids);
      total_ids += ids.size();
    }
    ++passes;
  } while (std::chrono::steady_clock::now() < deadline);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s\n",
              JsonLine({{"bench", "tokenizer"},
                        {"impl", "maskfeed"},
                        {"threads", 1},
                        {"strings", corpus.size()},
                        {"chars", corpus_chars},
                        {"passes", passes},
                        {"seconds", elapsed},
                        {"chars_per_s", static_cast<uint64_t>(corpus_chars * passes / elapsed)},
                        {"strings_per_s", static_cast<uint64_t>(corpus.size() * passes / elapsed)},
                        {"ids_per_s", static_cast<uint64_t>(total_ids / elapsed)}})
                  .c_str());
  return 0;
}
