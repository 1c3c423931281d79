// cercle-server: the relay. See server/net/config.h for the command line.
#include <sodium.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
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

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
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
