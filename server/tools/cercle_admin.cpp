// cercle-admin: the instance admin's tool, run on the server machine.
//
//   cercle-admin [--socket PATH | --data DIR] [--json] COMMAND ...   (`cercle-admin --help`,
//                                                                      `... COMMAND --help`)
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

#include "cercle/base/clock.h"
#include "server/api/admin.h"
#include "server/net/admin_socket.h"
#include "server/storage/group_commit.h"
#include "server/tools/admin_commands.h"

namespace {

namespace json = boost::json;
namespace asio = boost::asio;
using namespace cercle;

constexpr const char* kFooter =
    R"(With the server running, cercle-admin uses its admin socket (admin.sock in the data folder
unless --socket says otherwise); with it stopped, it opens the data folder.
Each command has its own help: cercle-admin COMMAND --help (or cercle-admin help COMMAND).
Exit codes: 0 done, 1 refused or failed, 2 usage.)";

struct Args {
  std::string socket;
  std::string data = "./data";
  bool json = false;
};

void build(CLI::App& app, Args& args, std::optional<json::object>& request) {
  app.require_subcommand(1);
  app.add_option("--socket", args.socket,
                 "the running server's admin socket (default DIR/admin.sock)")
      ->type_name("PATH");
  app.add_option("--data", args.data, "the server's data folder (default " + args.data + ")")
      ->type_name("DIR");
  app.add_flag("--json", args.json, "print the server's answer as one JSON object");
  admin_tool::add_commands(app, request);
  app.footer(kFooter);  // Last: subcommands would copy it.
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
  CLI::App app{"cercle-admin: the instance admin's tool, run on the server machine",
               "cercle-admin"};
  Args args;
  std::optional<json::object> request;
  build(app, args, request);
  if (auto code = cli::parse_command_line(app, argc, argv)) return *code;
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
