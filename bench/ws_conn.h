// WsConn: one client WebSocket connection of the benchmark, callback style on one io_context
// thread. Sends are queued and written one at a time; every received message is handed to
// `on_message`. Lives on its io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace cercle::bench {

class WsConn {
 public:
  using OnMessage = std::function<void(std::string_view)>;
  using Done = std::function<void(bool ok)>;

  static std::shared_ptr<WsConn> create(boost::asio::io_context& ioc);
  virtual ~WsConn() = default;

  // Connects to ws://endpoint/ws; `done` says whether the handshake succeeded.
  virtual void connect(const boost::asio::ip::tcp::endpoint& endpoint, Done done) = 0;
  // Messages and close are reported through these; set before connecting.
  virtual void on_message(OnMessage fn) = 0;
  virtual void on_close(std::function<void()> fn) = 0;
  // Queues one message (binary unless `text`).
  virtual void send(std::string bytes, bool text = false) = 0;
  virtual void close() = 0;
};

}  // namespace cercle::bench
