// cercle-server: the relay. See server/net/config.h for the command line.
#include <sodium.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "server/common/log.h"
#include "server/net/config.h"
#include "server/net/server.h"

namespace {

using namespace cercle;

// Raises the open-file limit to its hard maximum: every connection is a file descriptor.
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

template <class T, class Call>
Result<T> wait_for(Call call) {
  std::promise<Result<T>> promise;
  call([&](Result<T> r) { promise.set_value(std::move(r)); });
  return promise.get_future().get();
}

// Admin commands on a stopped server's data folder. Returns the exit code.
int run_admin(const net::ServerConfig& config, const std::vector<std::string>& args) {
  auto store = storage::Store::open({config.data_dir});
  if (!store) {
    std::cerr << "cercle-server: " << store.error().message << "\n";
    return 1;
  }
  struct NoOutbox : domain::Outbox {
    void publish(const ConvId&, uint64_t, const storage::LogRecord&, std::span<const DeviceId>) override {}
  } outbox;
  storage::GroupCommitter committer(**store, true, [](std::function<void()> fn) { fn(); }, nullptr);
  SystemClock clock;
  domain::Domain domain(config.domain, **store, committer, clock, outbox);
  if (auto loaded = domain.load(); !loaded) {
    std::cerr << "cercle-server: " << loaded.error().message << "\n";
    return 1;
  }
  auto& identity = domain.identity();
  const std::string command = args.empty() ? "" : args[0];
  Status status = Ok{};
  if (command == "code-create" && (args.size() == 1 || (args.size() == 3 && args[1] == "--ttl-hours"))) {
    const int64_t hours = args.size() == 3 ? std::stoll(args[2]) : 0;
    auto code = wait_for<domain::RegistrationCode>(
        [&](auto cb) { identity.create_registration_code(0, hours * 3'600'000, cb); });
    if (code) std::cout << code->code << "\n";
    status = code ? Status(Ok{}) : Status(code.error());
  } else if (command == "set-admin" && args.size() == 3 && (args[2] == "on" || args[2] == "off")) {
    status = wait_for<Ok>([&](auto cb) { identity.set_admin(args[1], args[2] == "on", cb); });
  } else if (command == "set-type" && args.size() == 3 &&
             (args[2] == "peer" || args[2] == "professional")) {
    const auto type = args[2] == "peer" ? domain::AccountType::kPeer : domain::AccountType::kProfessional;
    status = wait_for<Ok>([&](auto cb) { identity.set_account_type(0, args[1], type, cb); });
  } else {
    std::cerr << net::kUsage;
    return 2;
  }
  if (!status) {
    std::cerr << "cercle-server: " << status.error().message << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> admin_args;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "admin") {
      admin_args.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      args.resize(i);
      admin_args.insert(admin_args.begin(), "");  // Marks admin mode even with no command.
      break;
    }
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << net::kUsage;
      return 0;
    }
  }
  if (sodium_init() < 0) {
    std::cerr << "cercle-server: libsodium failed to initialise\n";
    return 1;
  }
  net::ServerConfig config;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--config") {
      if (auto s = net::load_config_file(args[i + 1], config); !s) {
        std::cerr << "cercle-server: " << s.error().message << "\n";
        return 2;
      }
    }
  }
  if (auto s = net::apply_flags(args, config); !s) {
    std::cerr << "cercle-server: " << s.error().message << "\n";
    return 2;
  }
  if (!log::set_level(config.log_level)) {
    std::cerr << "cercle-server: log level must be debug, info, warn or error\n";
    return 2;
  }
  if (!admin_args.empty()) {
    admin_args.erase(admin_args.begin());
    return run_admin(config, admin_args);
  }
  std::signal(SIGPIPE, SIG_IGN);
  raise_file_limit();
  auto server = net::Server::create(config);
  if (!server) {
    std::cerr << "cercle-server: " << server.error().message << "\n";
    return 1;
  }
  std::cout << "listening on " << config.listen_host << ":" << (*server)->port() << std::endl;
  return (*server)->run();
}
