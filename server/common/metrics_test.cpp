#include "server/common/metrics.h"

#include <gtest/gtest.h>

namespace cercle::metrics {
namespace {

TEST(Metrics, HistogramBucketsAreCumulative) {
  Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(0.7);
  h.observe(3);
  std::string out;
  h.write(out, "x_seconds", "help");
  EXPECT_NE(out.find("# TYPE x_seconds histogram"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{le=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_count 4\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_sum 4.25"), std::string::npos);
}

TEST(Metrics, SamplesHaveHelpAndType) {
  std::string out;
  write(out, "cercle_connections", "gauge", "Open connections.", 12);
  EXPECT_EQ(out,
            "# HELP cercle_connections Open connections.\n# TYPE cercle_connections gauge\n"
            "cercle_connections 12\n");
}

}  // namespace
}  // namespace cercle::metrics
