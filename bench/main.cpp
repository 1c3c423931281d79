// cercle-bench: measures the relay against a raw Beast baseline in the same run. See README.md.
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench/baseline_server.h"
#include "bench/cercle_workload.h"
#include "testing/server_process.h"

namespace {

using namespace cercle;
using namespace cercle::bench;

struct Args {
  RunOptions run;
  bool durable = true;
  bool baseline = true;
  bool json = false;
  bool crypto = false;
  int idle = 0;
};

constexpr const char* kUsage =
    "usage: cercle-bench [--connections N] [--group-size K] [--messages M] [--size BYTES]\n"
    "                    [--durable on|off] [--rate MSGS_PER_S] [--window W] [--no-baseline] "
    "[--json]\n"
    "                    [--timeout SECONDS] [--crypto]\n"
    "       cercle-bench --idle N [--json]\n";

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (flag == "--connections")
      a.run.connections = std::stoi(next());
    else if (flag == "--group-size")
      a.run.group_size = std::stoi(next());
    else if (flag == "--messages")
      a.run.messages = std::stoull(next());
    else if (flag == "--size")
      a.run.payload_bytes = std::stoul(next());
    else if (flag == "--durable")
      a.durable = next() != "off";
    else if (flag == "--rate")
      a.run.rate = std::stod(next());
    else if (flag == "--window")
      a.run.window = std::stoi(next());
    else if (flag == "--no-baseline")
      a.baseline = false;
    else if (flag == "--json")
      a.json = true;
    else if (flag == "--crypto")
      a.crypto = true;
    else if (flag == "--idle")
      a.idle = std::stoi(next());
    else if (flag == "--timeout")
      a.run.timeout = std::chrono::seconds(std::stoi(next()));
    else
      return false;
  }
  return a.run.connections > 0 && a.run.group_size >= 2 && a.run.messages > 0;
}

// Resident memory of a process, in bytes.
uint64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

double percentile_ms(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k] / 1000.0;
}

std::unique_ptr<cercle::testing::ServerProcess> start_server(const std::string& data,
                                                             bool durable) {
  // Every benchmark connection comes from 127.0.0.1: per-address limits would measure themselves.
  const std::string config = data + ".toml";
  std::ofstream(config) << "[rate_limits]\nregistrations_per_ip_per_hour = 0\n"
                           "auth_attempts_per_ip_per_minute = 0\nmessages_per_ip_per_second = 0\n"
                           "messages_per_account_per_second = 0\n"
                           "[limits]\nmax_connections_per_address = 1000000\n";
  std::string error;
  auto server = cercle::testing::ServerProcess::start(
      data,
      {"--registration", "open", "--sync", durable ? "true" : "false", "--log-level", "warn",
       "--config", config},
      &error);
  if (!server) std::cerr << "cercle-bench: " << error << "\n";
  return server;
}

void report(boost::json::object& out, const std::string& prefix, RunResult& r) {
  const double rate = r.seconds > 0 ? static_cast<double>(r.deliveries) / r.seconds : 0;
  out[prefix + "deliveries_per_s"] = rate;
  out[prefix + "p50_ms"] = percentile_ms(r.latency_us, 0.50);
  out[prefix + "p99_ms"] = percentile_ms(r.latency_us, 0.99);
  out[prefix + "p999_ms"] = percentile_ms(r.latency_us, 0.999);
  out[prefix + "complete"] = r.complete;
  if (!r.complete) out[prefix + "reason"] = r.reason;
  out[prefix + "deliveries"] = r.deliveries;
  out[prefix + "seconds"] = r.seconds;
}

// What the relay's clients went through: connections the relay closed, reconnections, messages
// sent again, deliveries dropped as already received.
void report_clients(boost::json::object& out, const RunResult& r) {
  out["connections_lost"] = r.connections_lost;
  out["reconnects"] = r.reconnects;
  out["resent"] = r.resent;
  out["duplicates"] = r.duplicates;
}

int run_relay(const Args& a, boost::json::object& out) {
  cercle::testing::TempDir dir;
  auto server = start_server(dir.path() + "/data", a.durable);
  if (!server) return 1;
  const uint64_t rss_before = rss_bytes(server->pid());
  CercleWorkload relay(server->port(), a.crypto);
  if (!relay.setup(a.run)) {
    std::cerr << "cercle-bench: relay setup: " << relay.why() << "\n";
    return 1;
  }
  const uint64_t rss_after = rss_bytes(server->pid());
  RunResult r = relay.run(a.run);
  report(out, "", r);
  report_clients(out, r);
  out["messages_per_s"] = r.seconds > 0 ? static_cast<double>(r.sent) / r.seconds : 0;
  out["rss_per_conn_bytes"] = (rss_after - rss_before) / static_cast<uint64_t>(a.run.connections);
  out["server_rss_bytes"] = rss_bytes(server->pid());
  relay.close_all();
  server->terminate();
  if (!a.baseline) return r.complete ? 0 : 1;

  BaselineServer baseline;
  auto workload = make_baseline_workload(baseline.start());
  if (!workload->setup(a.run)) {
    std::cerr << "cercle-bench: baseline setup: " << workload->why() << "\n";
    return 1;
  }
  RunResult b = workload->run(a.run);
  report(out, "baseline_", b);
  const double base = out["baseline_deliveries_per_s"].as_double();
  out["ratio_to_baseline"] = base > 0 ? out["deliveries_per_s"].as_double() / base : 0;
  return r.complete && b.complete ? 0 : 1;
}

int run_idle(const Args& a, boost::json::object& out) {
  cercle::testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  auto server = start_server(data, a.durable);
  if (!server) return 1;
  CercleWorkload workload(server->port());
  if (!workload.register_all(a.idle, 256)) {
    std::cerr << "cercle-bench: registration: " << workload.why() << "\n";
    return 1;
  }
  workload.close_all();
  server->terminate();
  // A fresh process holds the accounts but no connection: the difference is the connections' cost.
  server = start_server(data, a.durable);
  if (!server) return 1;
  workload.retarget(server->port());
  const uint64_t rss_before = rss_bytes(server->pid());
  const double seconds = workload.authenticate_all(256);
  if (seconds < 0) {
    std::cerr << "cercle-bench: authentication: " << workload.why() << "\n";
    return 1;
  }
  const uint64_t rss_after = rss_bytes(server->pid());
  out["connects_per_s"] = a.idle / seconds;
  out["rss_per_conn_bytes"] = (rss_after - rss_before) / static_cast<uint64_t>(a.idle);
  out["server_rss_before_bytes"] = rss_before;
  out["server_rss_after_bytes"] = rss_after;
  workload.close_all();
  server->terminate();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    std::cerr << kUsage;
    return 2;
  }
  if (sodium_init() < 0) return 1;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  boost::json::object out;
  out["durable"] = args.durable;
  out["connections"] = args.idle ? args.idle : args.run.connections;
  out["group_size"] = args.run.group_size;
  out["messages"] = args.run.messages;
  out["payload_bytes"] = args.run.payload_bytes;
  out["rate"] = args.run.rate;
  out["crypto"] = args.crypto;
  const int rc = args.idle ? run_idle(args, out) : run_relay(args, out);
  if (args.json) {
    std::cout << boost::json::serialize(out) << std::endl;
  } else {
    for (const auto& [k, v] : out) std::cout << k << ": " << boost::json::serialize(v) << "\n";
  }
  return rc;
}
