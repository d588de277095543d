// The commands of the `maskfeed` command-line client, one per file (bench_command.cc, ...),
// and the helpers they share. Each command takes its arguments (after the command name) and
// returns the process exit code (kExitOk, kExitFailed, kExitUsage from cli_args.h).
#ifndef MASKFEED_CLIENT_CPP_CLI_COMMANDS_H_
#define MASKFEED_CLIENT_CPP_CLI_COMMANDS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/cpp/feed_client.h"
#include "frontend/cli_args.h"
#include "maskfeed/v1/feed.pb.h"

namespace maskfeed::cli {

inline constexpr char kDefaultAddress[] = "127.0.0.1:50051";

int Bench(const std::vector<std::string>& args);
int Describe(const std::vector<std::string>& args);
int Fetch(const std::vector<std::string>& args);
int Preview(const std::vector<std::string>& args);
int Tokenize(const std::vector<std::string>& args);

// Each command's lines of the program's usage (DispatchCommand prints them for --help).
std::string BenchUsage();
extern const char kDescribeUsage[];
extern const char kFetchUsage[];
extern const char kPreviewUsage[];
extern const char kTokenizeUsage[];

// Prints "maskfeed: <message>" on stderr (and a usage hint for kExitUsage); returns `code`.
int Fail(const absl::Status& status, int code = kExitFailed);
// The connection flags every command that talks to a server takes, added to `flags`:
// --tls-ca PEM, --tls-cert PEM, --tls-key PEM, --tls-server-name NAME (value flags).
std::set<std::string> WithTlsFlags(std::set<std::string> flags);
// Those flags as a ChannelTls; nullopt (plaintext) when none is given. Errors name the file.
absl::StatusOr<std::optional<ChannelTls>> TlsFromFlags(const CliArgs& args);
// A channel to `address` with the TLS of those flags.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ChannelFromFlags(const CliArgs& args,
                                                                const std::string& address);
// `status` with the server's address in front of its message.
absl::Status AtAddress(const std::string& address, const absl::Status& status);
// The StreamBatchesRequest of fetch and preview, from --dataset, --batch-size, --seed,
// --rank, --world-size and --resume FILE (NOT_FOUND when FILE cannot be read).
absl::StatusOr<v1::StreamBatchesRequest> RequestFromFlags(const CliArgs& args,
                                                          int64_t default_batch_size);
// Writes `bytes` to `path` atomically (a temporary renamed into place).
absl::Status WriteWholeFile(const std::string& path, std::string_view bytes);

}  // namespace maskfeed::cli

#endif  // MASKFEED_CLIENT_CPP_CLI_COMMANDS_H_
