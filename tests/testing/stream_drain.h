// Every batch of an in-process stream, until it ends: what several stream tests compare.
#ifndef MASKFEED_TESTS_TESTING_STREAM_DRAIN_H_
#define MASKFEED_TESTS_TESTING_STREAM_DRAIN_H_

#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/stream/stream.h"

namespace maskfeed::testing {

// A failure to open or a batch error is a test failure; what came before it is returned.
inline std::vector<StreamBatch> DrainStream(std::shared_ptr<const MixtureSource> source,
                                            const StreamOptions& options, int threads) {
  tbb::task_arena arena(threads);
  absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(source, options, &arena);
  EXPECT_TRUE(stream.ok()) << stream.status();
  std::vector<StreamBatch> out;
  while (stream.ok()) {
    absl::StatusOr<std::optional<StreamBatch>> next = (*stream)->Next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) break;
    out.push_back(std::move(**next));
  }
  return out;
}

inline std::vector<StreamBatch> DrainStream(std::shared_ptr<const StreamSource> source,
                                            const StreamOptions& options, int threads) {
  return DrainStream(MixtureSource::Single(std::move(source)), options, threads);
}

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_STREAM_DRAIN_H_
