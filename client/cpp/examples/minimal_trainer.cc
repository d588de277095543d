// The smallest C++ trainer loop over maskfeed: open a Feed, read batches, keep the resume
// token. It links the client library alone (gRPC, protobuf and the batch layout), which the
// test suite checks on this binary's link line.
//
//   maskfeed-minimal-trainer unix:/run/maskfeed/feed.sock 10
#include <cstdio>
#include <cstdlib>
#include <string>

#include "client/cpp/feed.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ADDRESS [BATCHES]\n", argv[0]);
    return 2;
  }
  maskfeed::FeedOptions options;
  options.addresses = {argv[1]};
  options.request.set_batch_size(8);
  options.request.set_max_batches(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 4);
  absl::StatusOr<std::unique_ptr<maskfeed::Feed>> feed = maskfeed::Feed::Open(options);
  if (!feed.ok()) {
    std::fprintf(stderr, "%s\n", std::string(feed.status().message()).c_str());
    return 1;
  }
  uint64_t samples = 0;
  while (true) {
    absl::StatusOr<std::optional<maskfeed::StreamBatch>> batch = (*feed)->Next();
    if (!batch.ok()) {
      std::fprintf(stderr, "%s\n", std::string(batch.status().message()).c_str());
      return 1;
    }
    if (!batch->has_value()) break;
    samples += static_cast<uint64_t>((*batch)->batch.size);
  }
  std::printf("%llu samples; resume token %zu bytes\n", static_cast<unsigned long long>(samples),
              (*feed)->state().size());
  return 0;
}
