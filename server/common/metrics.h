// Prometheus text exposition (version 0.0.4): counters, gauges and fixed-bucket histograms, written
// into one string per scrape. Metrics carry counts and durations only: never handles, ids or
// content. Histogram is updated on one thread (the io thread); not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cercle::metrics {

class Histogram {
 public:
  // `bounds`: upper bounds of the buckets, increasing (seconds for durations).
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Appends the histogram's lines (with HELP and TYPE) under `name`.
  void write(std::string& out, std::string_view name, std::string_view help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // Per bucket (not cumulative), plus one for +Inf.
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Latency buckets from 0.5 ms to 10 s.
std::vector<double> latency_buckets();

// Appends one sample with its HELP and TYPE lines. `type`: "counter" or "gauge".
void write(std::string& out, std::string_view name, std::string_view type, std::string_view help,
           double value);

}  // namespace cercle::metrics
