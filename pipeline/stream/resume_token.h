// Resume tokens: small, versioned, opaque bytes recording where a stream stands (the next
// batch to deliver) and what it was opened on, so that a stream reopened with the token
// continues exactly after the last delivered batch, and a token from another dataset, config
// or rank layout is rejected clearly.
#ifndef MASKFEED_PIPELINE_STREAM_RESUME_TOKEN_H_
#define MASKFEED_PIPELINE_STREAM_RESUME_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace maskfeed {

struct ResumeState {
  uint64_t fingerprint = 0;  // dataset + masking config + order options
  uint32_t rank = 0;
  uint32_t world_size = 1;
  uint32_t batch_size = 0;
  uint64_t next_batch = 0;
};

std::string EncodeResumeToken(const ResumeState& state);

// INVALID_ARGUMENT "resume_token: ..." for bytes that are not a token of this version.
absl::StatusOr<ResumeState> DecodeResumeToken(std::string_view token);

// Checks a decoded token against the stream being opened; INVALID_ARGUMENT naming what differs.
absl::Status CheckResumeState(const ResumeState& token, const ResumeState& stream);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STREAM_RESUME_TOKEN_H_
