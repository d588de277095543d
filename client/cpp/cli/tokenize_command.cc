// maskfeed tokenize: 4M's text tokenization as a filter, for checking parity with a 4M
// install: each UTF-8 line of stdin becomes one line of space-separated ids on stdout (no EOS
// added; an empty line gives an empty line).
#include <cstdio>
#include <iostream>
#include <string>

#include "client/cpp/cli/commands.h"
#include "pipeline/text/wordpiece_tokenizer.h"

namespace maskfeed::cli {

const char kTokenizeUsage[] = R"(  tokenize --tokenizer FILE
      4M's text tokenization (a HuggingFace WordPiece tokenizer.json, such as 4M's
      text_tokenizer_4m_wordpiece_30k.json): each UTF-8 line of stdin becomes one line of
      space-separated token ids (no EOS added), as HuggingFace's tokenizers gives them.
)";

int Tokenize(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, {"tokenizer"}, {});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  if (!args->Has("tokenizer")) {
    return Fail(absl::InvalidArgumentError("--tokenizer FILE (a tokenizer.json) is required"),
                kExitUsage);
  }
  absl::StatusOr<std::unique_ptr<text::WordPieceTokenizer>> tokenizer =
      text::WordPieceTokenizer::FromFile(args->GetString("tokenizer"));
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  std::ios::sync_with_stdio(false);
  std::string line, out;
  std::vector<int32_t> ids;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF input
    ids.clear();
    (*tokenizer)->Encode(line, &ids);
    out.clear();
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) out.push_back(' ');
      out += std::to_string(ids[i]);
    }
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  return std::fflush(stdout) == 0 ? kExitOk : Fail(absl::UnavailableError("cannot write stdout"));
}

}  // namespace maskfeed::cli
