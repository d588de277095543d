#include "frontend/cli_args.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace maskfeed {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<uint64_t> Bytes(const std::string& value) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse({"--cache-limit", value}, {"cache-limit"});
  EXPECT_TRUE(args.ok()) << args.status();
  return args->GetBytes("cache-limit", 7);
}

TEST(CliArgsTest, SizesTakeBinarySuffixes) {
  EXPECT_EQ(*Bytes("0"), 0u);
  EXPECT_EQ(*Bytes("1234"), 1234u);
  EXPECT_EQ(*Bytes("8K"), 8u << 10);
  EXPECT_EQ(*Bytes("500m"), uint64_t{500} << 20);
  EXPECT_EQ(*Bytes("50G"), uint64_t{50} << 30);
  EXPECT_EQ(*Bytes("2T"), uint64_t{2} << 40);
  absl::StatusOr<CliArgs> none = CliArgs::Parse({}, {"cache-limit"});
  EXPECT_EQ(*none->GetBytes("cache-limit", 7), 7u) << "the fallback when the flag is absent";
}

TEST(CliArgsTest, WhatIsNotASizeIsNamed) {
  for (const char* bad : {"", "G", "-1", "1.5G", "8GB", "8 G", "x", "9223372036854775809",
                          "8388609T", "99999999999999999999"}) {
    absl::StatusOr<uint64_t> v = Bytes(bad);
    ASSERT_FALSE(v.ok()) << "'" << bad << "' gave " << (v.ok() ? *v : 0);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(v.status().message(), HasSubstr("--cache-limit"));
  }
  EXPECT_EQ(*Bytes("8388608T"), uint64_t{1} << 63) << "2^63 itself is the most";
}

}  // namespace
}  // namespace maskfeed
