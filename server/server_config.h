// maskfeed-server's configuration: the ServerConfig message (proto/maskfeed/v1/
// server_config.proto) read from a text-format file or built from flags, with defaults filled
// in and every field validated once, so the rest of the server reads plain values.
#ifndef MASKFEED_SERVER_SERVER_CONFIG_H_
#define MASKFEED_SERVER_SERVER_CONFIG_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "maskfeed/v1/server_config.pb.h"

namespace maskfeed {

inline constexpr char kDefaultListen[] = "127.0.0.1:50051";
inline constexpr char kDefaultMetricsListen[] = "127.0.0.1:9464";
inline constexpr uint32_t kDefaultMaxStreams = 64;
inline constexpr uint32_t kDefaultMaxBatchSize = 1024;
inline constexpr uint32_t kDefaultMaxRepeats = 16;
inline constexpr uint32_t kDefaultServerQueueDepth = 2;
inline constexpr uint32_t kDefaultShutdownGraceS = 5;

inline constexpr uint32_t kDefaultFetchThreads = 4;

// maskfeed's cache directory: $MASKFEED_CACHE_DIR, else $XDG_CACHE_HOME/maskfeed, else
// ~/.cache/maskfeed, else a folder in the temporary directory. The demo's data and (under
// "shards") remote datasets' shards live there.
std::string MaskfeedCacheDir();

// Parses protobuf text; INVALID_ARGUMENT with the parser's line and column.
absl::StatusOr<v1::ServerConfig> ParseServerConfig(std::string_view text);
// Reads and parses a file; errors name it (NOT_FOUND when missing).
absl::StatusOr<v1::ServerConfig> LoadServerConfigFile(const std::string& path);

// Fills defaults (listen address, threads = cores, metrics address, limits, the shard cache's
// directory and fetch threads) and checks names,
// paths, weights and limits; INVALID_ARGUMENT naming the field ("dataset[1].name: ...").
// Dataset folders are opened later, by the service.
absl::StatusOr<v1::ServerConfig> FinalizeServerConfig(v1::ServerConfig config);

}  // namespace maskfeed

#endif  // MASKFEED_SERVER_SERVER_CONFIG_H_
