// .npz members (4M's t5_caption) read from memory: what is not a zip archive is refused.
#include "pipeline/text/npz.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace maskfeed {
namespace {

// .npz members (4M's t5_caption) that are not zip archives are DATA_LOSS saying so; real ones
// are read in tests/python/test_raw_4m.py, as numpy writes them.
TEST(NpzTest, NotAZipIsDataLoss) {
  for (std::string bytes :
       {std::string(), std::string("PK\x03\x04 truncated"), std::string(300, 'x')}) {
    absl::StatusOr<NpzArrays> a = ReadNpz(bytes, {"emb"});
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(testing::Message(a.status()), ::testing::HasSubstr("npz: "));
  }
}

}  // namespace
}  // namespace maskfeed
