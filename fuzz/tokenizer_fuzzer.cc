// The text tokenizer's input: any bytes (invalid UTF-8 included) encoded with 4M's tokenizer;
// every id must be a vocabulary id, encoding must be deterministic, and the word-run shortcut
// for class names must give what the scan at every position gives.
#include "fuzz_util.h"
#include "pipeline/text/wordpiece_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  static const text::WordPieceTokenizer* tokenizer = [] {
    absl::StatusOr<std::unique_ptr<text::WordPieceTokenizer>> t =
        text::WordPieceTokenizer::FromFile(MASKFEED_SOURCE_DIR
                                           "/tests/data/4m/text_tokenizer_4m_wordpiece_30k.json");
    fuzz::Check(t.ok(), "load 4M's tokenizer");
    return t->release();
  }();
  std::vector<int32_t> ids, again;
  tokenizer->Encode(fuzz::AsView(data, size), &ids);
  for (int32_t id : ids) fuzz::Check(id >= 0 && id < 30000, "an id outside the vocabulary");
  tokenizer->Encode(fuzz::AsView(data, size), &again);
  fuzz::Check(ids == again, "two encodings of the same text differ");
  again.clear();
  tokenizer->EncodeScanningEveryPosition(fuzz::AsView(data, size), &again);
  fuzz::Check(ids == again, "the word-run shortcut and the scan at every position differ");
  return 0;
}
