// cercle-admin: the instance admin's tool, run on the server machine.
//
//   cercle-admin [--socket PATH | --data DIR] [--json] COMMAND ...
//
// With the server running it talks to it through its admin socket (by default admin.sock in the
// data folder); with the server stopped it works on the data folder itself. Exit codes: 0 done,
// 1 refused or failed, 2 usage.
#include <sodium.h>
#include <sys/stat.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "server/api/admin.h"
#include "cercle/base/clock.h"
#include "server/net/admin_socket.h"
#include "server/storage/group_commit.h"

namespace {

namespace json = boost::json;
namespace asio = boost::asio;
using namespace cercle;

constexpr const char* kUsage =
    R"(usage: cercle-admin [--socket PATH | --data DIR] [--json] COMMAND ...
commands:
  code create [--ttl-hours N]              make a single-use registration code (printed alone)
  code revoke CODE                         make an unused code unusable
  account list                             every account: handle, type, flags
  account set-type HANDLE peer|professional
  account set-admin HANDLE on|off
  account suspend HANDLE | account unsuspend HANDLE
  stats                                    counts only: nothing about who or what
  report list                              reports members chose to reveal to the admins
  report answer ID TEXT                    answer a report (the reporter's devices get it)
  retention run                            erase now what is past each group's retention
  clock advance HOURS                      test instances only (cercle-server --test-clock true)
  backup create DIR [--keep N]             back up the data (online: the server keeps serving);
                                           with --keep, only the newest N backups stay in DIR
  backup verify DIR                        check the latest backup in DIR
  backup restore DIR TARGET                restore the latest backup into the empty folder TARGET
With the server running, cercle-admin uses its admin socket (admin.sock in the data folder unless
--socket says otherwise); with it stopped, it opens the data folder (default ./data).
)";

struct Args {
  std::string socket;
  std::string data = "./data";
  bool json = false;
  std::vector<std::string> words;
};

// Translates the command words into a request object; nullopt on a usage error.
std::optional<json::object> request_of(const std::vector<std::string>& w) {
  auto is = [&](std::initializer_list<const char*> words) {
    if (w.size() < words.size()) return false;
    size_t i = 0;
    for (const char* word : words) {
      if (w[i++] != word) return false;
    }
    return true;
  };
  if (is({"code", "create"}) && (w.size() == 2 || (w.size() == 4 && w[2] == "--ttl-hours"))) {
    return json::object{{"command", "code-create"},
                        {"ttl_hours", w.size() == 4 ? std::stoll(w[3]) : 0}};
  }
  if (is({"code", "revoke"}) && w.size() == 3)
    return json::object{{"command", "code-revoke"}, {"code", w[2]}};
  if (is({"account", "list"}) && w.size() == 2) return json::object{{"command", "account-list"}};
  if (is({"account", "set-type"}) && w.size() == 4) {
    return json::object{{"command", "account-set-type"}, {"handle", w[2]}, {"type", w[3]}};
  }
  if (is({"account", "set-admin"}) && w.size() == 4 && (w[3] == "on" || w[3] == "off")) {
    return json::object{
        {"command", "account-set-admin"}, {"handle", w[2]}, {"admin", w[3] == "on"}};
  }
  if ((is({"account", "suspend"}) || is({"account", "unsuspend"})) && w.size() == 3) {
    return json::object{
        {"command", "account-suspend"}, {"handle", w[2]}, {"suspended", w[1] == "suspend"}};
  }
  if (is({"stats"}) && w.size() == 1) return json::object{{"command", "stats"}};
  if (is({"report", "list"}) && w.size() == 2) return json::object{{"command", "report-list"}};
  if (is({"report", "answer"}) && w.size() == 4) {
    return json::object{{"command", "report-answer"}, {"id", std::stoll(w[2])}, {"text", w[3]}};
  }
  if (is({"retention", "run"}) && w.size() == 2) return json::object{{"command", "retention-run"}};
  if (is({"clock", "advance"}) && w.size() == 3) {
    return json::object{{"command", "clock-advance"}, {"hours", std::stoll(w[2])}};
  }
  if (is({"backup", "create"}) && w.size() == 3)
    return json::object{{"command", "backup-create"}, {"dir", w[2]}};
  if (is({"backup", "create"}) && w.size() == 5 && w[3] == "--keep") {
    return json::object{{"command", "backup-create"}, {"dir", w[2]}, {"keep", std::stoll(w[4])}};
  }
  if (is({"backup", "verify"}) && w.size() == 3)
    return json::object{{"command", "backup-verify"}, {"dir", w[2]}};
  if (is({"backup", "restore"}) && w.size() == 4) {
    return json::object{{"command", "backup-restore"}, {"dir", w[2]}, {"target", w[3]}};
  }
  return std::nullopt;
}

// Sends the request over the admin socket; nullopt when no server listens there.
std::optional<json::object> ask_server(const std::string& path, const json::object& request) {
  asio::io_context ioc;
  asio::local::stream_protocol::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(path), ec);
  if (ec) return std::nullopt;
  const std::string line = json::serialize(request) + "\n";
  asio::write(socket, asio::buffer(line), ec);
  asio::streambuf buffer;
  const size_t n = ec ? 0 : asio::read_until(socket, buffer, '\n', ec);
  if (ec) return api::admin_error("the server closed the admin connection: " + ec.message());
  const std::string answer(asio::buffers_begin(buffer.data()),
                           asio::buffers_begin(buffer.data()) + static_cast<ptrdiff_t>(n));
  auto value = json::parse(answer, ec);
  if (ec || !value.is_object()) return api::admin_error("the server sent an unreadable answer");
  return value.as_object();
}

// Runs the request on a stopped server's data folder.
json::object run_offline(const std::string& data, const json::object& request) {
  const std::string command(request.at("command").as_string());
  if (command == "backup-verify" || command == "backup-restore") {
    return net::run_backup_command(nullptr, request);
  }
  if (!std::filesystem::exists(data)) {
    // A new instance: its first registration codes are made before the server first starts.
    std::cerr << "cercle-admin: creating a new data folder at " << data << "\n";
  }
  auto store = storage::Store::open({data, /*create_if_missing=*/true});
  if (!store) return api::admin_error(store.error().message);
  if (command == "backup-create") return net::run_backup_command(store->get(), request);
  struct NoOutbox : domain::Outbox {
    void publish(const ConvId&, uint64_t, const storage::LogRecord&,
                 std::span<const DeviceId>) override {}
  } outbox;
  storage::GroupCommitter committer(
      **store, true, [](std::function<void()> fn) { fn(); }, nullptr);
  SystemClock clock;
  domain::Domain domain(domain::Config{}, **store, committer, clock, outbox);
  if (auto loaded = domain.load(); !loaded) return api::admin_error(loaded.error().message);
  api::Admin admin(domain, nullptr);  // No connection to close: the server is stopped.
  std::promise<json::object> answer;
  admin.run(request, [&](json::object a) { answer.set_value(std::move(a)); });
  auto out = answer.get_future().get();
  committer.stop();
  return out;
}

void print(const json::object& request, const json::object& answer) {
  const std::string command(request.at("command").as_string());
  if (command == "code-create") {
    std::cout << answer.at("code").as_string().c_str() << "\n";
  } else if (command == "account-list") {
    for (const auto& a : answer.at("accounts").as_array()) {
      const auto& o = a.as_object();
      std::cout << o.at("handle").as_string().c_str() << "\t" << o.at("type").as_string().c_str()
                << (o.at("admin").as_bool() ? "\tadmin" : "")
                << (o.at("suspended").as_bool() ? "\tsuspended" : "") << "\n";
    }
  } else if (command == "report-list") {
    for (const auto& r : answer.at("reports").as_array()) {
      const auto& o = r.as_object();
      std::cout << "#" << json::serialize(o.at("id")) << "\t"
                << o.at("reporter").as_string().c_str() << "\tconversation "
                << o.at("conversation").as_string().c_str() << " message "
                << json::serialize(o.at("seq")) << "\n  text: " << o.at("text").as_string().c_str()
                << "\n  reason: " << o.at("reason").as_string().c_str()
                << "\n  answer: " << o.at("answer").as_string().c_str() << "\n";
    }
  } else {
    for (const auto& [key, value] : answer) {
      if (key != "ok") std::cout << key << ": " << json::serialize(value) << "\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--socket" || a == "--data") && i + 1 < argc) {
      (a == "--socket" ? args.socket : args.data) = argv[++i];
    } else if (a == "--json") {
      args.json = true;
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      args.words.assign(argv + i, argv + argc);
      break;
    }
  }
  std::optional<json::object> request;
  try {
    request = request_of(args.words);
  } catch (const std::exception&) {  // A number that does not read as one.
  }
  if (!request) {
    std::cerr << kUsage;
    return 2;
  }
  if (sodium_init() < 0) return 1;
  ::umask(
      077);  // A data folder it creates or restores is the server's alone, like the server's own.
  const std::string socket = args.socket.empty() ? args.data + "/admin.sock" : args.socket;
  std::optional<json::object> answer = ask_server(socket, *request);
  if (!answer) {
    if (!args.socket.empty()) {
      std::cerr << "cercle-admin: no server answers on " << socket << "\n";
      return 1;
    }
    answer = run_offline(args.data, *request);
  }
  if (args.json) {
    std::cout << json::serialize(*answer) << "\n";
  } else if (answer->at("ok").as_bool()) {
    print(*request, *answer);
  }
  if (!answer->at("ok").as_bool()) {
    std::cerr << "cercle-admin: " << answer->at("error").as_string().c_str() << "\n";
    return 1;
  }
  return 0;
}
