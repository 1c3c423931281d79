// AdminSocket: the running server's local door for cercle-admin. A Unix stream socket in the data
// folder (mode 0600: only the server's system user, and root, can use it). One JSON request line
// per connection, one JSON answer line (see server/api/admin.h). Backups (backup-create,
// backup-verify) run on a worker thread so that the relay keeps serving.
// Lives on the io_context thread; close() before the io_context stops.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <string>

#include "server/api/admin.h"
#include "server/common/result.h"
#include "server/storage/store.h"

namespace cercle::net {

class AdminSocket {
 public:
  // Listens on `path`, replacing a stale socket file. Errors: kInternal.
  static Result<std::unique_ptr<AdminSocket>> open(boost::asio::io_context& ioc,
                                                   const std::string& path, api::Admin& admin,
                                                   storage::Store& store);
  ~AdminSocket();
  void close();

 private:
  AdminSocket(boost::asio::io_context& ioc, api::Admin& admin, storage::Store& store);
  void accept();
  void serve(boost::asio::local::stream_protocol::socket socket);

  boost::asio::io_context& ioc_;
  api::Admin& admin_;
  storage::Store& store_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::thread_pool worker_{1};
  std::string path_;
};

// Runs a backup command on the store: {"command": "backup-create"|"backup-verify", "dir": ...}.
// Blocking; for a worker thread or a stopped server's data folder.
boost::json::object run_backup_command(storage::Store* store, const boost::json::object& request);

}  // namespace cercle::net
