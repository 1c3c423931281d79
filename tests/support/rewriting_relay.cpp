#include "tests/support/rewriting_relay.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>

namespace cercle::testing {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Ws = websocket::stream<tcp::socket>;

struct RewritingRelay::Impl {
  struct Link;

  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  uint16_t port = 0;
  uint16_t server_port = 0;
  std::thread thread;
  std::set<std::shared_ptr<Link>> links;  // io thread only.

  std::mutex mu;
  Rewrite rewrite;

  void accept();
  std::string on_server_bytes(std::string bytes) {
    v1::ServerFrame frame;
    if (!frame.ParseFromString(bytes) || !frame.has_response()) return bytes;
    std::lock_guard lock(mu);
    if (!rewrite) return bytes;
    rewrite(*frame.mutable_response());
    return frame.SerializeAsString();
  }
};

// One client's connection and the relay's own connection to the real server for it.
struct RewritingRelay::Impl::Link : std::enable_shared_from_this<Link> {
  Link(Impl& relay, tcp::socket socket) : relay(relay), down(std::move(socket)), up(relay.ioc) {}

  void start() {
    auto self = shared_from_this();
    down.async_accept([self](beast::error_code ec) {
      if (ec) return self->close();
      const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), self->relay.server_port);
      self->up.next_layer().async_connect(server, [self](beast::error_code ec2) {
        if (ec2) return self->close();
        self->up.async_handshake("127.0.0.1", "/ws", [self](beast::error_code ec3) {
          if (ec3) return self->close();
          for (Ws* ws : {&self->down, &self->up}) {
            ws->binary(true);
            ws->read_message_max(64 << 20);
          }
          self->open = true;
          self->read(self->down, self->down_in, false);
          self->read(self->up, self->up_in, true);
          self->write_next(self->down, self->to_down, self->writing_down);
          self->write_next(self->up, self->to_up, self->writing_up);
        });
      });
    });
  }

  void read(Ws& ws, beast::flat_buffer& buffer, bool from_server) {
    ws.async_read(buffer, [self = shared_from_this(), &ws, &buffer, from_server](
                              beast::error_code ec, size_t) {
      if (ec) return self->close();
      std::string bytes = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      if (from_server) {
        self->to_down.push_back(self->relay.on_server_bytes(std::move(bytes)));
        self->write_next(self->down, self->to_down, self->writing_down);
      } else {
        self->to_up.push_back(std::move(bytes));
        self->write_next(self->up, self->to_up, self->writing_up);
      }
      self->read(ws, buffer, from_server);
    });
  }

  // One write in flight per stream, as Beast requires.
  void write_next(Ws& ws, std::deque<std::string>& queue, bool& writing) {
    if (!open || closed || writing || queue.empty()) return;
    writing = true;
    ws.async_write(asio::buffer(queue.front()), [self = shared_from_this(), &ws, &queue, &writing](
                                                    beast::error_code ec, size_t) {
      writing = false;
      if (ec) return self->close();
      queue.pop_front();
      self->write_next(ws, queue, writing);
    });
  }

  void close() {
    if (closed) return;
    closed = true;
    beast::error_code ignored;
    down.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    down.next_layer().close(ignored);
    up.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    up.next_layer().close(ignored);
    relay.links.erase(shared_from_this());
  }

  Impl& relay;
  Ws down;  // The client's connection: the relay is its server.
  Ws up;    // The relay's connection to the real server.
  beast::flat_buffer down_in, up_in;
  std::deque<std::string> to_down, to_up;
  bool writing_down = false, writing_up = false;
  bool open = false;
  bool closed = false;
};

void RewritingRelay::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // The acceptor was closed: the relay is stopping.
    auto link = std::make_shared<Link>(*this, std::move(socket));
    links.insert(link);
    link->start();
    accept();
  });
}

RewritingRelay::RewritingRelay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<RewritingRelay> RewritingRelay::start(uint16_t server_port, std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->server_port = server_port;
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  beast::error_code ec;
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) impl->port = impl->acceptor.local_endpoint(ec).port();
  if (ec) {
    if (error) *error = "the rewriting relay cannot listen: " + ec.message();
    return nullptr;
  }
  impl->accept();
  impl->thread = std::thread([i = impl.get()] { i->ioc.run(); });
  return std::unique_ptr<RewritingRelay>(new RewritingRelay(std::move(impl)));
}

RewritingRelay::~RewritingRelay() {
  std::promise<void> stopped;
  auto future = stopped.get_future();
  asio::post(impl_->ioc, [this, &stopped] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    const auto links = impl_->links;  // close() erases from the set.
    for (const auto& link : links) link->close();
    stopped.set_value();
  });
  future.wait_for(std::chrono::seconds(5));
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t RewritingRelay::port() const { return impl_->port; }

void RewritingRelay::set_rewrite(Rewrite rewrite) {
  std::lock_guard lock(impl_->mu);
  impl_->rewrite = std::move(rewrite);
}

}  // namespace cercle::testing
