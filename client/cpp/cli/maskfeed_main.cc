// maskfeed: the command-line client. One command per file (bench_command.cc, ...).
//
//   maskfeed bench [--address A] [--streams N] [--batches M] [--batch-size B] [--seed S] [--json]
//   maskfeed bench --in-process [--data DIR|URL | --config FILE | --4m-config YAML] [--threads N]
//   ... maskfeed describe [--address A] [--json] maskfeed fetch --out DIR [--batches N] ...
//   (batches as .npz files) maskfeed preview --out FILE.svg [--rows R] ...  (a picture of one
//   batch's masks)
#include "client/cpp/cli/commands.h"
#include "frontend/cli_args.h"
#include "frontend/malloc_tuning.h"

namespace {

constexpr char kFooter[] = R"(
Every command that connects to a server also takes, for a TCP address of a server with TLS:
  --tls-ca PEM          CA bundle that signed the server's certificate (default: system roots)
  --tls-cert PEM --tls-key PEM   this client's certificate and key (mutual TLS)
  --tls-server-name N   the name the server's certificate carries, when not the address's host
)";

}  // namespace

int main(int argc, char** argv) {
  maskfeed::KeepLargeAllocationsInHeap();
  namespace cli = maskfeed::cli;
  return maskfeed::DispatchCommand(
      argc, argv, "maskfeed", "The command-line client of maskfeed-server, and its benchmark.\n",
      {{"bench", cli::BenchUsage(), cli::Bench},
       {"describe", cli::kDescribeUsage, cli::Describe},
       {"fetch", cli::kFetchUsage, cli::Fetch},
       {"preview", cli::kPreviewUsage, cli::Preview},
       {"tokenize", cli::kTokenizeUsage, cli::Tokenize}},
      kFooter);
}
