// cercle-mls-bench: throughput of the C++ MLS library, printed as one JSON object
// ({"metric": ops_per_second, ...}). bench.mjs runs it beside ts-mls and prints the ratios.
//   cercle-mls-bench [--sizes 10,100,1000] [--seconds 1.0]
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <sstream>

#include "cercle/mls/state.h"

using namespace cercle::mls;
namespace json = boost::json;

namespace {

double g_seconds = 1.0;

// Runs `op` until `g_seconds` have passed (at least 3 times); returns operations per second.
double rate(const std::function<void()>& op) {
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  int n = 0;
  double elapsed = 0;
  do {
    op();
    ++n;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < g_seconds || n < 3);
  return n / elapsed;
}

Credential cred(const std::string& name) { return Credential{to_bytes(name)}; }

struct Group {
  State creator;
  State member;  // leaf 1
};

// A group of `n` members built by one commit of n-1 Adds; leaf 1 joins from the Welcome.
Group make_group(int n) {
  State creator =
      State::create(to_bytes("bench"), cred("m0"), SignaturePrivateKey::generate()).value();
  std::vector<KeyPackageBundle> kps;
  CommitOptions opts;
  for (int i = 1; i < n; ++i) {
    kps.push_back(
        create_key_package(cred("m" + std::to_string(i)), SignaturePrivateKey::generate()).value());
    opts.add_key_packages.push_back(kps.back().key_package);
  }
  auto out = creator.commit(opts).value();
  State member = State::join(*out.welcome, kps.front()).value();
  return {std::move(out.pending), std::move(member)};
}

void bench_group(json::object& out, int n) {
  Group g = make_group(n);
  std::string suffix = "_" + std::to_string(n);
  // States are immutable: the same state commits (or processes the same commit) repeatedly.
  out["commit_with_path" + suffix] = rate([&] { (void)g.creator.commit(CommitOptions{}).value(); });
  Bytes commit = g.creator.commit(CommitOptions{}).value().message;
  out["process_commit" + suffix] = rate([&] { (void)g.member.process(commit).value(); });
}

void bench_messages(json::object& out) {
  Group g = make_group(2);
  const Bytes plaintext(100, 'x');
  State sender = g.creator;
  std::vector<Bytes> sent;
  out["app_encrypt"] = rate([&] {
    auto [msg, next] = sender.encrypt(plaintext).value();
    sender = std::move(next);
    if (sent.size() < 200000) sent.push_back(std::move(msg));
  });
  // Decrypt exactly the messages sent above, in order.
  State receiver = g.member;
  auto start = std::chrono::steady_clock::now();
  for (const auto& msg : sent) receiver = receiver.process(msg).value().state;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out["app_decrypt"] = static_cast<double>(sent.size()) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {10, 100, 1000};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--seconds") g_seconds = std::stod(argv[i + 1]);
    if (flag == "--sizes") {
      sizes.clear();
      std::stringstream ss(argv[i + 1]);
      for (std::string item; std::getline(ss, item, ',');) sizes.push_back(std::stoi(item));
    }
  }
  json::object out;
  out["key_package_create"] =
      rate([] { (void)create_key_package(cred("kp"), SignaturePrivateKey::generate()).value(); });
  bench_messages(out);
  for (int n : sizes) bench_group(out, n);
  std::cout << json::serialize(out) << "\n";
  return 0;
}
