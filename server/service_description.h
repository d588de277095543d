// What Describe answers, computed once when the service starts: per served dataset its
// sources, modalities, shapes and dtypes, and the server's limits — including the largest
// message a stream can produce, which clients size their receive limit by.
#ifndef MASKFEED_SERVER_SERVICE_DESCRIPTION_H_
#define MASKFEED_SERVER_SERVICE_DESCRIPTION_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "maskfeed/v1/feed.pb.h"
#include "maskfeed/v1/server_config.pb.h"
#include "pipeline/source/served_source.h"

namespace maskfeed {

struct ServiceDescription {
  v1::DescribeResponse response;
  // The largest message a stream can produce: limits.max_batch_size rows of the widest sample
  // at int64 tokens, plus headers (Limits.max_message_bytes).
  uint64_t max_message_bytes = 0;
};

// INVALID_ARGUMENT naming limits.max_batch_size when the largest message would reach gRPC's
// 2 GiB ceiling.
absl::StatusOr<ServiceDescription> DescribeService(const std::vector<ServedSource>& served,
                                                   const v1::ServerLimits& limits);

}  // namespace maskfeed

#endif  // MASKFEED_SERVER_SERVICE_DESCRIPTION_H_
