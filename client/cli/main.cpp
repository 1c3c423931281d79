// cercle: the command-line client, built on the SDK (client/sdk/client.h).
//
//   cercle [--server ws://HOST:PORT/ws] [--data DIR] [--passphrase-file FILE] [--ca-file FILE]
//          [--json] COMMAND ...        (`cercle --help`, `cercle COMMAND --help`)
//
// The passphrase comes from CERCLE_PASSPHRASE or --passphrase-file. Exit codes: 0 done, 1 other
// failure, 2 usage, 3 wrong passphrase, 4 network, 5 refused by the server, 6 not found,
// 7 no account yet, 8 local store in use or damaged.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "client/cli/cli.h"
#include "client/sdk/client.h"

using namespace cercle::client;
using namespace cercle::cli;

namespace {

constexpr const char* kFooter =
    R"(The passphrase of the local store comes from CERCLE_PASSPHRASE or --passphrase-file.
Each command has its own help: cercle COMMAND --help (or cercle help COMMAND).
Exit codes: 0 done, 1 other failure, 2 usage, 3 wrong passphrase, 4 network, 5 refused by the
server, 6 not found, 7 no account yet, 8 local store in use or damaged.)";

struct Globals {
  std::string server = "ws://127.0.0.1:8080/ws";
  std::string data;
  std::string passphrase_file;
  std::string ca_file;
};

std::string default_data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::string(xdg) + "/cercle";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.local/share/cercle";
  return "./cercle-data";
}

bool passphrase(const Globals& g, std::string& out) {
  if (!g.passphrase_file.empty()) {
    std::ifstream in(g.passphrase_file);
    return in && std::getline(in, out);
  }
  const char* env = std::getenv("CERCLE_PASSPHRASE");
  if (!env) return false;
  out = env;
  return true;
}

void add_globals(CLI::App& app, Globals& g, Context& ctx) {
  app.add_option("--server", g.server, "the relay's WebSocket address (default " + g.server + ")")
      ->type_name("ws://HOST:PORT/ws");
  app.add_option("--data", g.data,
                 "this device's data folder (default $XDG_DATA_HOME/cercle, else "
                 "~/.local/share/cercle)")
      ->type_name("DIR");
  app.add_option("--passphrase-file", g.passphrase_file,
                 "read the local store's passphrase from FILE's first line")
      ->type_name("FILE");
  app.add_option("--ca-file", g.ca_file, "trust the relay certificate's CA from FILE (wss://)")
      ->type_name("FILE");
  app.add_flag("--json", ctx.json, "print one JSON object per line");
}

// Builds every command of `cercle`; nothing here touches the environment.
void build(CLI::App& app, Globals& g, Context& ctx) {
  app.require_subcommand(1);
  add_globals(app, g, ctx);
  add_message_commands(app, ctx);
  auto* group = app.add_subcommand("group",
                                   "groupes de parole: members, rules, invitations, "
                                   "moderation");
  group->require_subcommand(1);
  add_group_commands(*group, ctx);
  add_invitation_commands(*group, ctx);
  add_seance_commands(*group, ctx);
  add_verify_commands(app, *group, ctx);
  add_device_commands(app, ctx);
  app.footer(kFooter);  // Last: subcommands would copy it.
}

int run(const Globals& g, const Context& ctx) {
  std::string phrase;
  if (!passphrase(g, phrase)) {
    std::cerr << "cercle: no passphrase for the local store: set CERCLE_PASSPHRASE or give "
                 "--passphrase-file FILE\n";
    return kUsageExit;
  }
  install_stop_handlers();
  Options options;
  options.server_url = g.server;
  options.data_dir = g.data.empty() ? default_data_dir() : g.data;
  options.passphrase = phrase;
  options.ca_file = g.ca_file;
  options.client_name = "cercle-cli/0.1";
  auto client = Client::open(options);
  if (!client) return fail(client.error());
  if (auto s = (*client)->connect(); !s) return fail(s.error());
  int code = 0;
  if (ctx.needs_account && !(*client)->registered()) {
    code = fail(make_error(Errc::kNotRegistered, "no account yet: run cercle register"));
  } else {
    code = ctx.action(**client);
  }
  (*client)->disconnect();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cercle: messages and groupes de parole, end-to-end encrypted (MLS)", "cercle"};
  Globals globals;
  Context ctx;
  build(app, globals, ctx);
  if (auto code = parse_command_line(app, argc, argv)) return *code;
  return run(globals, ctx);
}
