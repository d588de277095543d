#include "pipeline/base/json_line.h"

#include <limits>

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

TEST(JsonLineTest, OneObjectPerLineThatAlwaysParses) {
  const nlohmann::ordered_json object = {
      {"bench", "maskfeed"},
      {"address", "unix:/tmp/a \"quoted\"\\path\n"},
      {"samples", 160},
      {"seconds", 0.5},
      {"samples_per_s", std::numeric_limits<double>::infinity()},  // seconds == 0 upstream
      {"ok", true}};
  const std::string line = JsonLine(object);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.substr(0, 30), "{\"bench\": \"maskfeed\", \"address");
  const nlohmann::json parsed = nlohmann::json::parse(line);  // throws if invalid
  EXPECT_EQ(parsed["address"], "unix:/tmp/a \"quoted\"\\path\n");
  EXPECT_EQ(parsed["samples"], 160);
  EXPECT_TRUE(parsed["samples_per_s"].is_null()) << "JSON has no infinity";
  EXPECT_EQ(JsonLine(nlohmann::ordered_json::object()), "{}");
}

}  // namespace
}  // namespace maskfeed
