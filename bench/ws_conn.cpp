#include "bench/ws_conn.h"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>

namespace cercle::bench {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Conn final : public WsConn, public std::enable_shared_from_this<Conn> {
 public:
  explicit Conn(asio::io_context& ioc) : ws_(ioc) {}

  void connect(const tcp::endpoint& endpoint, Done done) override {
    ws_.next_layer().async_connect(
        endpoint, [self = shared_from_this(), done](beast::error_code ec) {
          if (ec) return done(false);
          self->ws_.next_layer().set_option(tcp::no_delay(true));
          self->ws_.auto_fragment(false);
          self->ws_.read_message_max(64 << 20);
          self->ws_.async_handshake("127.0.0.1", "/ws", [self, done](beast::error_code ec2) {
            if (ec2) return done(false);
            self->ws_.binary(true);
            self->read();
            done(true);
          });
        });
  }

  void on_message(OnMessage fn) override { on_message_ = std::move(fn); }
  void on_close(std::function<void()> fn) override { on_close_ = std::move(fn); }

  void send(std::string bytes, bool text) override {
    queue_.push_back({std::move(bytes), text});
    if (!writing_) write();
  }

  void close() override {
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        if (self->on_close_) self->on_close_();
        return;
      }
      auto data = self->buffer_.data();
      if (self->on_message_) {
        self->on_message_(std::string_view(static_cast<const char*>(data.data()), data.size()));
      }
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }

  void write() {
    writing_ = true;
    ws_.text(queue_.front().text);
    ws_.async_write(asio::buffer(queue_.front().bytes),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec) return;
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->write();
                    });
  }

  struct Out {
    std::string bytes;
    bool text;
  };
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  std::deque<Out> queue_;
  bool writing_ = false;
  OnMessage on_message_;
  std::function<void()> on_close_;
};

}  // namespace

std::shared_ptr<WsConn> WsConn::create(asio::io_context& ioc) {
  return std::make_shared<Conn>(ioc);
}

}  // namespace cercle::bench
