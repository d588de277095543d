#include "pipeline/base/limits.h"

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

TEST(LimitsTest, CheckRangeNamesTheFieldAndTheBounds) {
  EXPECT_TRUE(limits::CheckRange("n_repeats", 1, 1, limits::kMaxRepeats).ok());
  EXPECT_TRUE(limits::CheckRange("n_repeats", 1024, 1, limits::kMaxRepeats).ok());
  for (uint64_t bad : {uint64_t{0}, uint64_t{1025}, ~uint64_t{0}}) {
    const absl::Status s = limits::CheckRange("n_repeats", bad, 1, limits::kMaxRepeats);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), "n_repeats: must be in 1..1024, got " + std::to_string(bad));
  }
}

}  // namespace
}  // namespace maskfeed
