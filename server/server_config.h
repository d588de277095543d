// maskfeed-server's configuration: the ServerConfig message (proto/maskfeed/v1/
// server_config.proto) read from a text-format file (pipeline/source/data_config.h) or built
// from flags, with defaults filled in and every field validated once, so the rest of the
// server reads plain values.
#ifndef MASKFEED_SERVER_SERVER_CONFIG_H_
#define MASKFEED_SERVER_SERVER_CONFIG_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "maskfeed/v1/server_config.pb.h"
#include "pipeline/source/data_config.h"  // ParseServerConfig, LoadServerConfigFile

namespace maskfeed {

inline constexpr char kDefaultListen[] = "127.0.0.1:50051";
inline constexpr char kDefaultMetricsListen[] = "127.0.0.1:9464";
inline constexpr uint32_t kDefaultMaxStreams = 64;
inline constexpr uint32_t kDefaultMaxBatchSize = 1024;
inline constexpr uint32_t kDefaultMaxRepeats = 16;
inline constexpr uint32_t kDefaultServerQueueDepth = 2;
inline constexpr uint32_t kDefaultShutdownGraceS = 5;

// Checks the data part as every front end does (FinalizeDataConfig: datasets, mixtures, the
// shard cache), then fills the server's defaults (listen address, threads = cores, metrics
// address, limits) and checks them; INVALID_ARGUMENT naming the field ("dataset[1].name: ...",
// "limits.max_streams: ..."). Dataset folders are opened later, by the service.
absl::StatusOr<v1::ServerConfig> FinalizeServerConfig(v1::ServerConfig config);

}  // namespace maskfeed

#endif  // MASKFEED_SERVER_SERVER_CONFIG_H_
