#include "pipeline/base/prometheus_text.h"

#include "gtest/gtest.h"

namespace maskfeed {
namespace {

TEST(PrometheusTextTest, WritesFamiliesSamplesAndEscapedLabels) {
  PrometheusText page;
  page.Counter("a_total", "Things.\nMore", 18446744073709.0);
  page.Family("q", "gauge", "Depth.");
  page.Sample("q", {{"stream", "s\"1\\"}, {"rank", "0"}}, 2);
  page.Sample("q", {}, 0.25);
  EXPECT_EQ(page.Take(),
            "# HELP a_total Things.\\nMore\n"
            "# TYPE a_total counter\n"
            "a_total 18446744073709\n"
            "# HELP q Depth.\n"
            "# TYPE q gauge\n"
            "q{stream=\"s\\\"1\\\\\",rank=\"0\"} 2\n"
            "q 0.25\n");
}

}  // namespace
}  // namespace maskfeed
