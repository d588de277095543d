// Resume tokens: a client may send anything; a token that decodes is checked against a stream
// and re-encodes to itself (a version-1 token, to a version-2 token of the same state), and
// the elastic path (the tokens of every old rank) takes it alone, twice, or at another layout
// without crashing or overflowing.
#include "fuzz_util.h"
#include "pipeline/stream/resume_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  const std::string_view token = fuzz::AsView(data, size);
  absl::StatusOr<ResumeState> state = DecodeResumeToken(token);
  if (!state.ok()) return 0;
  const std::string again = EncodeResumeToken(*state);
  absl::StatusOr<ResumeState> redecoded = DecodeResumeToken(again);
  fuzz::Check(redecoded.ok() && EncodeResumeToken(*redecoded) == again,
              "an accepted token does not round-trip");
  fuzz::Check(redecoded->fingerprint == state->fingerprint &&
                  redecoded->next_batch == state->next_batch && redecoded->base == state->base &&
                  redecoded->first_batch == state->first_batch,
              "re-encoding changed the state");
  if (token.size() == again.size()) fuzz::Check(again == token, "a version-2 token changed");
  ResumeState stream = *state;
  stream.next_batch = 0;
  (void)CheckResumeState(*state, stream);
  const std::string t(token);
  (void)ResumeFrom({t}, stream);
  (void)ResumeFrom({t, t}, stream);
  stream.world_size = state->world_size + 1;
  stream.batch_size = state->batch_size ^ 1;
  (void)ResumeFrom({t}, stream);
  return 0;
}
