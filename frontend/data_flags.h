// The flags with which a front end says what data to stream, the same for maskfeed-server and
// `maskfeed bench --in-process`: a config file, a dataset root (a folder, s3:// or http(s)://),
// 4M's own YAML configs, what builds raw members (tokenizer, main_augment_domain, fast
// pixels), per-dataset order and error settings, and the shard cache. They become the data
// part of a ServerConfig (pipeline/source/data_config.h), which pipeline/source opens.
//
//   absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, WithDataFlags({...}),
//   WithDataSwitches({...})); absl::StatusOr<v1::ServerConfig> config = DataConfigFromFlags(*args);
//   ... any library error on the way: WithFlagHints(status) names the flags of its fields.
#ifndef MASKFEED_FRONTEND_DATA_FLAGS_H_
#define MASKFEED_FRONTEND_DATA_FLAGS_H_

#include <functional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "frontend/cli_args.h"
#include "maskfeed/v1/server_config.pb.h"

namespace maskfeed {

// `flags` plus the data flags that take a value / the data switches, for CliArgs::Parse.
std::set<std::string> WithDataFlags(std::set<std::string> flags);
std::set<std::string> WithDataSwitches(std::set<std::string> switches);
// The first data flag given ("window-shards"), or empty when none was.
std::string FirstDataFlag(const CliArgs& args);

// The data flags' help, one block of lines for a program's --help.
extern const char kDataFlagsHelp[];

// The datasets, mixtures and shard cache the flags describe (a --config file's other settings
// are kept as they are). With no data flag at all, `no_data` names the dataset root to serve
// (the server's demo); without it that is an error naming the flags. INVALID_ARGUMENT naming
// the flag for a bad flag or combination; a file's own errors name the file.
absl::StatusOr<v1::ServerConfig> DataConfigFromFlags(
    const CliArgs& args, const std::function<absl::StatusOr<std::string>()>& no_data = nullptr);

// `status` with the flags for the config fields it names (pipeline/base/status_fields.h)
// appended: "...(window_shards) or raise ...; flags: --window-shards K, --cache-limit BYTES".
absl::Status WithFlagHints(absl::Status status);

}  // namespace maskfeed

#endif  // MASKFEED_FRONTEND_DATA_FLAGS_H_
