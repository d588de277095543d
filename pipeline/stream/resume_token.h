// Resume tokens: small, versioned, opaque bytes recording where a stream stands (the next
// batch to deliver) and what it was opened on, so that a stream reopened with the token
// continues exactly after the last delivered batch, and a token from another dataset, config
// or rank layout is rejected clearly.
#ifndef MASKFEED_PIPELINE_STREAM_RESUME_TOKEN_H_
#define MASKFEED_PIPELINE_STREAM_RESUME_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace maskfeed {

struct ResumeState {
  uint64_t fingerprint = 0;  // dataset + masking config + order options
  uint32_t rank = 0;
  uint32_t world_size = 1;
  uint32_t batch_size = 0;
  uint64_t next_batch = 0;
  // Where this rank layout began (sample_order.h: LayoutStart): 0, 0 unless the job was
  // resumed at another world size or batch size.
  uint64_t base = 0;
  uint64_t first_batch = 0;
};

std::string EncodeResumeToken(const ResumeState& state);

// INVALID_ARGUMENT "resume_token: ..." for bytes that are not a token of this version.
absl::StatusOr<ResumeState> DecodeResumeToken(std::string_view token);

// Checks a decoded token against the stream being opened; INVALID_ARGUMENT naming what differs.
absl::Status CheckResumeState(const ResumeState& token, const ResumeState& stream);

// Where a stream (its fingerprint, rank, world size and batch size in `stream`) resumes from
// `tokens`: its own rank's last token, or — to go on at another world size or batch size
// (an elastic restart) — the last tokens of every rank of the old layout, all saved after
// the same step: the new layout starts at the position they reached together, with batch
// numbers going on from that step, so no sample is lost or read twice. INVALID_ARGUMENT
// saying what to pass otherwise.
absl::StatusOr<ResumeState> ResumeFrom(const std::vector<std::string>& tokens,
                                       const ResumeState& stream);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STREAM_RESUME_TOKEN_H_
