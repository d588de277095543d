// Resume tokens: a client may send anything; a token that decodes is checked against a stream
// and re-encodes to itself.
#include "fuzz_util.h"
#include "pipeline/stream/resume_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  const std::string_view token = fuzz::AsView(data, size);
  absl::StatusOr<ResumeState> state = DecodeResumeToken(token);
  if (!state.ok()) return 0;
  fuzz::Check(EncodeResumeToken(*state) == token, "an accepted token does not round-trip");
  ResumeState stream = *state;
  stream.next_batch = 0;
  (void)CheckResumeState(*state, stream);
  return 0;
}
