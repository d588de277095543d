// The largest values maskfeed accepts, in one table: what a config file, a stream request or
// a command-line flag may ask for. Each bounds memory or work that a value multiplies (a batch
// is batch_size rows; a stream holds queue_depth batches), so every layer checks against the
// same numbers, with CheckRange's message.
#ifndef MASKFEED_PIPELINE_BASE_LIMITS_H_
#define MASKFEED_PIPELINE_BASE_LIMITS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace maskfeed::limits {

inline constexpr uint64_t kMaxBatchSize = 1 << 16;      // samples per batch
inline constexpr uint64_t kMaxRepeats = 1024;           // views of one sample (n_repeats)
inline constexpr uint64_t kMaxQueueDepth = 64;          // batches ready per stream
inline constexpr uint64_t kMaxThreads = 1024;           // masking workers
inline constexpr uint64_t kMaxStreams = 4096;           // concurrent streams per server
inline constexpr uint64_t kMaxWorldSize = 1 << 20;      // ranks of one training job
inline constexpr uint64_t kMaxShutdownGraceS = 3600;    // seconds a draining server waits
inline constexpr uint64_t kMinBufferedBytes = 1 << 20;  // batch bytes a server holds
inline constexpr uint64_t kMaxBufferedBytes = uint64_t{1} << 50;

// OK when lo <= value <= hi; otherwise INVALID_ARGUMENT "<field>: must be in lo..hi, got v".
absl::Status CheckRange(std::string_view field, uint64_t value, uint64_t lo, uint64_t hi);

}  // namespace maskfeed::limits

#endif  // MASKFEED_PIPELINE_BASE_LIMITS_H_
