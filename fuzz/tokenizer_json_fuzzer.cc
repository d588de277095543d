// tokenizer.json files: parsed and checked; a loaded tokenizer then encodes a fixed text.
#include "fuzz_util.h"
#include "pipeline/text/wordpiece_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  absl::StatusOr<std::unique_ptr<text::WordPieceTokenizer>> t =
      text::WordPieceTokenizer::FromJson(fuzz::AsView(data, size), "fuzz.json");
  if (!t.ok()) return 0;
  std::vector<int32_t> ids;
  (*t)->Encode("A person riding a horse. v0=12 [EOS] Café 中文 persons person's", &ids);
  return 0;
}
