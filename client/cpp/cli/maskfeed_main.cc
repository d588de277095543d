// maskfeed: the command-line client. One command per file (bench_command.cc, ...).
//
//   maskfeed bench [--address A] [--streams N] [--batches M] [--batch-size B] [--seed S] [--json]
//   maskfeed bench --in-process --data DIR [--preset NAME | --config FILE] [--threads N] ...
//   maskfeed describe [--address A] [--json]
//   maskfeed fetch --out DIR [--batches N] ...      (batches as .npz files)
//   maskfeed preview --out FILE.svg [--rows R] ...  (a picture of one batch's masks)
#include "client/cpp/cli/commands.h"
#include "frontend/cli_args.h"
#include "frontend/malloc_tuning.h"

namespace {

constexpr const char* kUsage = R"(usage: maskfeed COMMAND [ARGS]

commands:
  bench [--address A] [--dataset NAME] [--streams N] [--batches M] [--batch-size B]
        [--seed S] [--encoding packed|plain] [--json]
      Streams from a maskfeed-server over gRPC (address host:port or unix:/path, default
      127.0.0.1:50051): N concurrent streams, one connection each, M batches each after 2
      warm-up batches, expanded to plain tensors as a trainer would use them.
      Defaults: 1 stream, 200 batches, batch size 128, seed 0, packed encoding.
  bench --in-process --data DIR [--preset NAME | --config FILE] [--threads N] [--streams N]
        [--batches M] [--batch-size B] [--seed S] [--json]
        [--text-tokenizer FILE] [--main-augment-domain M] [--fast-pixels] [--window-shards K]
      The same measurement of the pipeline alone (read + decode + mask + collate, no gRPC).
      Defaults as maskfeed-server --data: preset 4m-7 when DIR has rgb images (else
      4m-7-tokens), DIR/tokenizer.json, main augment domain rgb@224; threads = cores.
  describe [--address A] [--json]
      What a server serves: datasets, modalities, shapes, dtypes, limits.
  fetch --out DIR [--address A] [--dataset NAME] [--batches N] [--batch-size B] [--seed S]
        [--rank R --world-size W] [--resume FILE]
      Writes N batches as DIR/batch-SEQUENCE.npz (numpy.load: "<modality>/tensor",
      ".../input_mask", ".../target_mask", ".../decoder_attention_mask", "sequence",
      "resume_token", "samples", "datasets") and DIR/resume_token to continue from.
      Defaults: 1 batch of 128.
  preview --out FILE.svg [--address A] [--dataset NAME] [--batch-size B] [--rows R]
          [--seed S] [--rank R --world-size W] [--resume FILE]
      Draws the masks of the first R samples (default 4) of one batch (default 8 samples):
      each image modality's token grid and each sequence's positions, coloured as encoder
      input, decoder target or neither.
  tokenize --tokenizer FILE
      4M's text tokenization (a HuggingFace WordPiece tokenizer.json, such as 4M's
      text_tokenizer_4m_wordpiece_30k.json): each UTF-8 line of stdin becomes one line of
      space-separated token ids (no EOS added), as HuggingFace's tokenizers gives them.

Every command that connects to a server also takes, for a TCP address of a server with TLS:
  --tls-ca PEM          CA bundle that signed the server's certificate (default: system roots)
  --tls-cert PEM --tls-key PEM   this client's certificate and key (mutual TLS)
  --tls-server-name N   the name the server's certificate carries, when not the address's host
)";

}  // namespace

int main(int argc, char** argv) {
  maskfeed::KeepLargeAllocationsInHeap();
  namespace cli = maskfeed::cli;
  return maskfeed::DispatchCommand(argc, argv, "maskfeed", kUsage,
                                   {{"bench", cli::Bench},
                                    {"describe", cli::Describe},
                                    {"fetch", cli::Fetch},
                                    {"preview", cli::Preview},
                                    {"tokenize", cli::Tokenize}});
}
