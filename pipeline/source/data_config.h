// The description of what to serve: the datasets, mixtures and shard cache of a ServerConfig
// (proto/maskfeed/v1/server_config.proto), read from protobuf text and checked once, the same
// for every front end — maskfeed-server, `maskfeed bench --in-process`, the benchmarks. The
// server's own settings (addresses, limits, TLS) are checked by server/server_config.h.
//
//   absl::StatusOr<v1::ServerConfig> config = LoadServerConfigFile("serve.textproto");
//   if (absl::Status s = FinalizeDataConfig(&*config); !s.ok()) ...   // names the field
#ifndef MASKFEED_PIPELINE_SOURCE_DATA_CONFIG_H_
#define MASKFEED_PIPELINE_SOURCE_DATA_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "maskfeed/v1/server_config.pb.h"

namespace maskfeed {

inline constexpr uint32_t kDefaultFetchThreads = 4;

// maskfeed's cache directory: $MASKFEED_CACHE_DIR, else $XDG_CACHE_HOME/maskfeed, else
// ~/.cache/maskfeed, else a folder in the temporary directory. The demo's data and (under
// "shards") remote datasets' shards live there.
std::string MaskfeedCacheDir();

// Parses protobuf text; INVALID_ARGUMENT with the parser's line and column.
absl::StatusOr<v1::ServerConfig> ParseServerConfig(std::string_view text);
// Reads and parses a file; errors name it (NOT_FOUND when missing).
absl::StatusOr<v1::ServerConfig> LoadServerConfigFile(const std::string& path);

// Checks the datasets (names, paths, masking configs resolved, order settings) and mixtures
// (components, weights), and fills the defaults: default_dataset (the first mixture, else the
// first dataset) and the shard cache's (directory, fetch threads).
// INVALID_ARGUMENT naming the field ("dataset[1].name: ..."). Dataset folders are opened later
// (served_source.h).
absl::Status FinalizeDataConfig(v1::ServerConfig* config);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SOURCE_DATA_CONFIG_H_
