#include "server/net/admin_socket.h"

#include <sys/stat.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>

#include "server/common/log.h"

namespace cercle::net {

namespace asio = boost::asio;
namespace json = boost::json;
using local = asio::local::stream_protocol;

namespace {

constexpr size_t kMaxRequestBytes = 64 * 1024;

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::object backup_answer(const Result<storage::Store::BackupInfo>& info) {
  if (!info) return api::admin_error(info.error().message);
  return json::object{{"ok", true},
                      {"backup_id", info->id},
                      {"timestamp_s", info->timestamp_s},
                      {"size_bytes", info->size_bytes}};
}

}  // namespace

json::object run_backup_command(storage::Store* store, const json::object& request) {
  const std::string command = text(request, "command");
  const std::string dir = text(request, "dir");
  if (dir.empty()) return api::admin_error("a backup folder is needed");
  if (command == "backup-create") {
    if (!store) return api::admin_error("no open data folder");
    const auto* keep = request.if_contains("keep");
    const int64_t n = keep && keep->is_int64() ? keep->as_int64() : 0;
    if (n < 0 || n > 1000) return api::admin_error("keep must be between 1 and 1000");
    return backup_answer(store->create_backup(dir, static_cast<uint32_t>(n)));
  }
  if (command == "backup-verify") return backup_answer(storage::Store::verify_backup(dir));
  if (command == "backup-restore") {
    return backup_answer(storage::Store::restore_backup(dir, text(request, "target")));
  }
  return api::admin_error("unknown command: " + command);
}

AdminSocket::AdminSocket(asio::io_context& ioc, api::Admin& admin, storage::Store& store)
    : ioc_(ioc), admin_(admin), store_(store), acceptor_(ioc) {}

AdminSocket::~AdminSocket() {
  close();
  worker_.join();
}

Result<std::unique_ptr<AdminSocket>> AdminSocket::open(asio::io_context& ioc,
                                                       const std::string& path, api::Admin& admin,
                                                       storage::Store& store) {
  std::unique_ptr<AdminSocket> s(new AdminSocket(ioc, admin, store));
  s->path_ = path;
  // The data folder's lock makes this server its only user: a socket file left here is stale.
  std::remove(path.c_str());
  boost::system::error_code ec;
  const mode_t old_mask = ::umask(0077);  // Created 0600.
  s->acceptor_.open(local(), ec);
  if (!ec) s->acceptor_.bind(local::endpoint(path), ec);
  ::umask(old_mask);
  if (!ec) s->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(Errc::kInternal,
                      "cannot open the admin socket " + path + ": " + ec.message());
  s->accept();
  return s;
}

void AdminSocket::close() {
  boost::system::error_code ignored;
  if (acceptor_.is_open()) {
    acceptor_.close(ignored);
    std::remove(path_.c_str());
  }
}

void AdminSocket::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, local::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) serve(std::move(socket));
    if (acceptor_.is_open()) accept();
  });
}

void AdminSocket::serve(local::socket socket) {
  struct Conn {
    explicit Conn(local::socket s) : socket(std::move(s)) {}
    local::socket socket;
    asio::streambuf buffer{kMaxRequestBytes};
    std::string answer;
  };
  auto conn = std::make_shared<Conn>(std::move(socket));
  auto reply = [conn](json::object answer) {
    conn->answer = json::serialize(answer) + "\n";
    asio::async_write(conn->socket, asio::buffer(conn->answer), [conn](auto, size_t) {});
  };
  asio::async_read_until(conn->socket, conn->buffer, '\n', [this, conn, reply](auto ec, size_t n) {
    if (ec) return;
    std::string line(asio::buffers_begin(conn->buffer.data()),
                     asio::buffers_begin(conn->buffer.data()) + static_cast<ptrdiff_t>(n));
    boost::system::error_code parse_ec;
    auto value = json::parse(line, parse_ec);
    if (parse_ec || !value.is_object())
      return reply(api::admin_error("the request is not a JSON object"));
    const auto& request = value.as_object();
    const std::string command = text(request, "command");
    log::info("admin.command", {{"command", command}});
    if (command.rfind("backup-", 0) == 0) {
      // Off the io thread: copying the database takes time, and the relay keeps serving.
      return asio::post(worker_, [this, request, reply] {
        auto answer = run_backup_command(&store_, request);
        asio::post(ioc_,
                   [reply, answer = std::move(answer)]() mutable { reply(std::move(answer)); });
      });
    }
    admin_.run(request, reply);
  });
}

}  // namespace cercle::net
