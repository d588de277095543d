#include "pipeline/base/address.h"

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

TEST(AddressTest, ParsesEveryForm) {
  absl::StatusOr<Address> a = ParseAddress("f", "127.0.0.1:0");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 0);
  EXPECT_FALSE(a->is_unix());
  EXPECT_EQ(a->ToString(), "127.0.0.1:0");

  a = ParseAddress("f", "[::1]:50051");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 50051);
  EXPECT_EQ(a->ToString(), "[::1]:50051");

  a = ParseAddress("f", "localhost:65535");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "localhost");

  a = ParseAddress("f", "unix:/run/x.sock");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->is_unix());
  EXPECT_EQ(a->path, "/run/x.sock");
  EXPECT_EQ(a->ToString(), "unix:/run/x.sock");
}

TEST(AddressTest, RefusesMalformedAddressesNamingTheField) {
  for (const char* bad :
       {"unix:", ":80", "host", "host:", "host:65536", "host:-1", "host:8x", "::1:80", "[]:80"}) {
    absl::StatusOr<Address> a = ParseAddress("listen[2]", bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(a.status().message().substr(0, 10), "listen[2]:") << a.status();
  }
}

}  // namespace
}  // namespace maskfeed
