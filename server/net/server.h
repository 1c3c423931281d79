// Server: cercle-server assembled. Opens the store, loads the domain, listens for HTTP and
// WebSocket connections, flushes delivery cursors periodically, and stops cleanly on SIGTERM or
// SIGINT: it stops accepting, finishes the durable writes under way (and answers them), closes
// every WebSocket with a close frame, then returns from run().
//
// All network and domain work runs on the thread that calls run(); storage writes run on the
// GroupCommitter's thread. stop() may be called from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "cercle/base/clock.h"
#include "server/api/admin.h"
#include "server/api/hub.h"
#include "server/api/push_relay.h"
#include "server/domain/domain.h"
#include "server/net/admin_socket.h"
#include "server/net/config.h"
#include "server/net/net_context.h"
#include "server/push/sender.h"
#include "server/storage/group_commit.h"
#include "server/storage/store.h"

namespace cercle::net {

class Server {
 public:
  // Opens the data folder and binds the listening socket. Errors: kInternal (storage, bind), with a
  // message for the person running the server.
  static Result<std::unique_ptr<Server>> create(ServerConfig config);
  ~Server();

  // The bound port (useful with port 0).
  uint16_t port() const { return port_; }

  // Serves until stopped. Returns the process exit code: 0 after a clean stop, 1 after a storage
  // failure.
  int run();

  // Starts the clean stop. Safe from any thread.
  void stop();

 private:
  explicit Server(ServerConfig config);
  void accept();
  void admit(boost::asio::ip::tcp::socket socket);
  void write_connection_limits(std::string& out) const;
  void schedule_flush();
  void schedule_sweep();
  static int64_t steady_ms();
  void shutdown();
  void wait_for_connections(int ticks_left);
  std::string metrics_text();
  void wait_for_reload();
  // Web Push (server_push.cpp): the VAPID key from the data folder, the sender on its own thread,
  // the hub told. Push stays off when [push] says so or no contact is configured.
  Status start_push();
  void stop_push();

  ServerConfig config_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::GroupCommitter> committer_;
  AdjustableClock clock_;
  uint32_t sweeps_ = 0;  // Seconds since the last retention run.
  api::Hub hub_;
  std::unique_ptr<domain::Domain> domain_;
  std::unique_ptr<api::Admin> admin_;
  // Connections still open at exit are destroyed with the io_context, and give their place back
  // to the context then: it outlives the io_context (it only refers to it).
  NetContext ctx_;
  // Declared after everything its pending handlers use, so that it is destroyed first.
  boost::asio::io_context ioc_{1};
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set reload_signal_;
  boost::asio::steady_timer flush_timer_;
  boost::asio::steady_timer accept_timer_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer shutdown_timer_;
  std::unique_ptr<AdminSocket> admin_socket_;
  // Web Push runs on its own thread: encrypting, signing and TLS with push services never take
  // the relay's. Its gone reports come back to ioc_.
  boost::asio::io_context push_ioc_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      push_work_;
  std::unique_ptr<push::Sender> push_sender_;
  std::unique_ptr<api::PushRelay> push_relay_;
  std::thread push_thread_;
  uint16_t port_ = 0;
  std::atomic<int> exit_code_{0};
  bool shutting_down_ = false;
};

}  // namespace cercle::net
