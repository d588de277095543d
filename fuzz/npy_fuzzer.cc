// .npy files: the header dict, shapes whose product must not overflow, and the data that must
// be exactly there.
#include "fuzz_util.h"
#include "pipeline/shard/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  const std::string_view file = fuzz::AsView(data, size);
  absl::StatusOr<NpyHeader> h = ParseNpy(file);
  if (!h.ok()) return 0;
  fuzz::Check(h->data_offset <= file.size(), "data offset past the end");
  fuzz::Check(h->data_bytes == file.size() - h->data_offset, "data bytes differ from the file");
  // What was accepted re-encodes to a header of the same meaning.
  absl::StatusOr<NpyHeader> again =
      ParseNpy(EncodeNpyHeader(h->dtype, h->shape) + std::string(file.substr(h->data_offset)));
  fuzz::Check(again.ok() && again->shape == h->shape && again->dtype == h->dtype,
              "an accepted header does not round-trip");
  return 0;
}
