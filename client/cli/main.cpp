// cercle: the command-line client, built on the SDK (client/sdk/client.h).
//
//   cercle [--server ws://HOST:PORT/ws] [--data DIR] [--passphrase-file FILE] [--ca-file FILE]
//          [--json] COMMAND ...
//
// The passphrase comes from CERCLE_PASSPHRASE or --passphrase-file. Exit codes: 0 done, 1 other
// failure, 2 usage, 3 wrong passphrase, 4 network, 5 refused by the server, 6 not found,
// 7 no account yet, 8 local store in use or damaged.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "client/cli/cli.h"
#include "client/sdk/client.h"

using namespace cercle::client;

namespace {

constexpr const char* kUsage =
    R"(usage: cercle [--server ws://HOST:PORT/ws] [--data DIR] [--passphrase-file FILE]
              [--ca-file FILE] [--json] COMMAND ...
commands:
  register HANDLE [--code CODE] [--contact TOKEN]   create this device's account
  dm HANDLE                                          start a one-to-one conversation; prints its id
  group create                                       create a group; prints its id
  group add CONVERSATION HANDLE                      add someone to a group
  group remove CONVERSATION HANDLE                   remove someone from a group
  group members CONVERSATION                         list the members, each with their devices
                                                     (fingerprints, from the group's MLS leaves)
                                                     and whether you verified them
  group leave CONVERSATION                           leave a group
  group policy CONVERSATION [--open yes|no] [--relatives yes|no] [--retention DAYS]
               [--charter TEXT] [--objection-hours N]  show or change the group's rules
  group role CONVERSATION HANDLE facilitator|member  give or take back the facilitator role
  group invite CONVERSATION HANDLE [--accompanying HANDLE] [--hours N]
                                                     invite someone; prints the invitation's id
  group revoke CONVERSATION INVITATION               revoke a pending invitation
  group invitations                                  invitations for you, with their charter
  group accept INVITATION                            accept an invitation's charter
  group object CONVERSATION INVITATION               object to a professional's invitation
  group ban|unban CONVERSATION HANDLE                remove and ban someone, or lift the ban
  group mute|unmute CONVERSATION HANDLE              refuse or allow someone's messages
  group delete CONVERSATION SEQ                      delete a message for everyone
  group report CONVERSATION SEQ REASON [--to-admins] report a message to the facilitators (or,
                                                     with --to-admins, reveal it to the instance's
                                                     admins: only with the reporter's consent)
  group open                                         groups open to peers
  group join CONVERSATION                            ask to join an open group
  conversations                                      list conversations
  send CONVERSATION TEXT                             send a message
  listen [--count N] [--timeout SECONDS]             print incoming messages, one per line
  history CONVERSATION                               print a conversation's messages
  verify CONVERSATION HANDLE [--confirm [NUMBER]]    show the safety number you and HANDLE compare
                                                     (docs/safety-numbers.md); --confirm marks
                                                     HANDLE verified (give the NUMBER you compared:
                                                     refused if the devices changed since)
  devices                                            your account's devices, from its signed chain
  device request HANDLE                              (on a new device) ask to become a device of
                                                     HANDLE; shows a code once the approval starts,
                                                     then waits until it is approved
  device requests                                    new devices asking to join your account
  device approve REQUEST                             start approving: the new device shows a code
  device approve REQUEST CODE                        approve it with the code it shows (refused
                                                     when the code differs: nothing is added)
The passphrase of the local store comes from CERCLE_PASSPHRASE or --passphrase-file.
)";

volatile std::sig_atomic_t g_stop = 0;

struct Args {
  std::string server = "ws://127.0.0.1:8080/ws";
  std::string data;
  std::string passphrase_file;
  std::string ca_file;
  bool json = false;
  std::vector<std::string> rest;
};

std::string default_data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::string(xdg) + "/cercle";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.local/share/cercle";
  return "./cercle-data";
}

bool parse(int argc, char** argv, Args& a) {
  a.data = default_data_dir();
  int i = 1;
  for (; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (flag == "--json") {
      a.json = true;
    } else if (flag == "--server" || flag == "--data" || flag == "--passphrase-file" ||
               flag == "--ca-file") {
      const char* v = value();
      if (!v) return false;
      (flag == "--server"    ? a.server
       : flag == "--data"    ? a.data
       : flag == "--ca-file" ? a.ca_file
                             : a.passphrase_file) = v;
    } else {
      break;
    }
  }
  a.rest.assign(argv + i, argv + argc);
  return !a.rest.empty();
}

bool passphrase(const Args& a, std::string& out) {
  if (!a.passphrase_file.empty()) {
    std::ifstream in(a.passphrase_file);
    if (!in || !std::getline(in, out)) return false;
    return true;
  }
  const char* env = std::getenv("CERCLE_PASSPHRASE");
  if (!env) return false;
  out = env;
  return true;
}

}  // namespace

namespace cercle::cli {

std::string option(const std::vector<std::string>& rest, const std::string& name) {
  for (size_t i = 0; i + 1 < rest.size(); ++i) {
    if (rest[i] == name) return rest[i + 1];
  }
  return {};
}

int exit_code(const Error& e) {
  switch (e.code) {
    case Errc::kBadPassphrase:
      return 3;
    case Errc::kNetwork:
      return 4;
    case Errc::kServer:
    case Errc::kRefused:
      return 5;
    case Errc::kNotFound:
      return 6;
    case Errc::kNotRegistered:
      return 7;
    case Errc::kStorage:
      return 8;
    default:
      return 1;
  }
}

int fail(const Error& e) {
  std::cerr << "cercle: " << e.message << "\n";
  return exit_code(e);
}

void print_message(const Message& m, bool json) {
  if (json) {
    boost::json::object o{{"conversation", m.conversation}, {"seq", m.seq},   {"sender", m.sender},
                          {"time_ms", m.time_ms},           {"text", m.text}, {"own", m.own},
                          {"professional", m.professional}};
    std::cout << boost::json::serialize(o) << std::endl;
  } else {
    std::cout << m.conversation.substr(0, 8) << " #" << m.seq << " " << m.sender
              << (m.professional ? " (professionnel·le)" : "") << ": " << m.text << std::endl;
  }
}

}  // namespace cercle::cli

namespace {

using namespace cercle::cli;

void print_id(const std::string& id, bool json) {
  if (json) {
    std::cout << boost::json::serialize(boost::json::object{{"conversation", id}}) << std::endl;
  } else {
    std::cout << id << std::endl;
  }
}

int listen(Client& c, const Args& a) {
  const std::string count_text = option(a.rest, "--count");
  const std::string timeout_text = option(a.rest, "--timeout");
  const long count = count_text.empty() ? -1 : std::stol(count_text);
  const auto deadline = timeout_text.empty() ? std::chrono::steady_clock::time_point::max()
                                             : std::chrono::steady_clock::now() +
                                                   std::chrono::seconds(std::stol(timeout_text));
  long seen = 0;
  while (!g_stop && (count < 0 || seen < count) && std::chrono::steady_clock::now() < deadline) {
    auto events = c.poll(std::chrono::milliseconds(500));
    if (!events) return fail(events.error());
    for (const auto& e : *events) {
      if (e.kind == Event::Kind::kMessage) {
        print_message(e.message, a.json);
        if (count >= 0 && ++seen >= count) break;
      } else if (e.kind == Event::Kind::kWarning) {
        std::cerr << "cercle: " << e.detail << "\n";
      } else {
        print_event(e, a.json);
      }
    }
  }
  return (count >= 0 && seen < count) ? 4 : 0;  // Timed out before the expected messages.
}

int group_command(Client& c, const Args& a) {
  const auto& r = a.rest;
  if (r.size() == 2 && r[1] == "create") {
    auto id = c.create_group();
    if (!id) return fail(id.error());
    print_id(*id, a.json);
    return 0;
  }
  if (r.size() == 3 && r[1] == "members") return members_command(c, r[2], a.json);
  if (r.size() == 3 && r[1] == "leave") {
    auto s = c.leave(r[2]);
    return s ? 0 : fail(s.error());
  }
  if (r.size() == 4 && (r[1] == "add" || r[1] == "remove")) {
    auto s = r[1] == "add" ? c.add_member(r[2], r[3]) : c.remove_member(r[2], r[3]);
    return s ? 0 : fail(s.error());
  }
  const int code = moderation_command(c, r, a.json);
  if (code == 2) std::cerr << kUsage;
  return code;
}

int run(Client& c, const Args& a) {
  const auto& r = a.rest;
  const std::string& cmd = r[0];
  if (cmd == "register" && r.size() >= 2) {
    auto s = c.register_account(r[1], option(r, "--code"), option(r, "--contact"));
    if (!s) return fail(s.error());
    if (a.json)
      std::cout << boost::json::serialize(boost::json::object{{"handle", c.handle()}}) << std::endl;
    return 0;
  }
  if (cmd == "device") {
    const int code = device_command(c, r, a.json);
    if (code == 2) std::cerr << kUsage;
    return code;
  }
  if (!c.registered())
    return fail(make_error(Errc::kNotRegistered, "no account yet: run cercle register"));
  if (cmd == "devices" && r.size() == 1) return devices_command(c, a.json);
  if (cmd == "dm" && r.size() == 2) {
    auto id = c.start_direct(r[1]);
    if (!id) return fail(id.error());
    print_id(*id, a.json);
    return 0;
  }
  if (cmd == "group" && r.size() >= 2) return group_command(c, a);
  if (cmd == "send" && r.size() == 3) {
    auto seq = c.send_text(r[1], r[2]);
    if (!seq) return fail(seq.error());
    if (a.json)
      std::cout << boost::json::serialize(boost::json::object{{"seq", *seq}}) << std::endl;
    return 0;
  }
  if (cmd == "listen") return listen(c, a);
  if (cmd == "verify") {
    const int code = verify_command(c, r, a.json);
    if (code == 2) std::cerr << kUsage;
    return code;
  }
  if (cmd == "conversations") {
    (void)c.poll(std::chrono::milliseconds(200));  // Take in invitations that are waiting.
    for (const auto& conv : c.conversations()) {
      if (a.json) {
        boost::json::array members;
        for (const auto& m : conv.members) members.push_back(boost::json::string(m));
        std::cout << boost::json::serialize(boost::json::object{{"conversation", conv.id},
                                                                {"direct", conv.direct},
                                                                {"epoch", conv.epoch},
                                                                {"members", members},
                                                                {"left", conv.left}})
                  << std::endl;
      } else {
        std::cout << conv.id << (conv.direct ? " direct" : " groupe");
        for (const auto& m : conv.members) std::cout << " " << m;
        std::cout << (conv.left ? " (quittée)" : "") << std::endl;
      }
    }
    return 0;
  }
  if (cmd == "history" && r.size() == 2) {
    auto history = c.history(r[1]);
    if (!history) return fail(history.error());
    for (const auto& m : *history) print_message(m, a.json);
    return 0;
  }
  std::cerr << kUsage;
  return 2;
}

}  // namespace

// Help needs no passphrase, data folder or server: whoever asks for it has none yet.
bool asks_for_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h" || (i == 1 && a == "help")) return true;
  }
  return false;
}

int main(int argc, char** argv) {
  if (asks_for_help(argc, argv)) {
    std::cout << kUsage;
    return 0;
  }
  Args args;
  if (!parse(argc, argv, args)) {
    std::cerr << kUsage;
    return 2;
  }
  std::string phrase;
  if (!passphrase(args, phrase)) {
    std::cerr << "cercle: set CERCLE_PASSPHRASE or give --passphrase-file\n";
    return 2;
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  Options options;
  options.server_url = args.server;
  options.data_dir = args.data;
  options.passphrase = phrase;
  options.ca_file = args.ca_file;
  options.client_name = "cercle-cli/0.1";
  auto client = Client::open(options);
  if (!client) return fail(client.error());
  if (auto s = (*client)->connect(); !s) return fail(s.error());
  int code = 2;
  try {
    code = run(**client, args);
  } catch (const std::exception&) {  // A number that does not read as one (std::stoul...).
    std::cerr << kUsage;
  }
  (*client)->disconnect();
  return code;
}
