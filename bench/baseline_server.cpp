#include "bench/baseline_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace cercle::bench {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Frame = std::shared_ptr<const std::string>;

class Session;
using Groups = std::unordered_map<std::string, std::vector<Session*>>;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Groups& groups) : ws_(std::move(socket)), groups_(groups) {}
  ~Session() {
    if (!group_.empty()) std::erase(groups_[group_], this);
  }

  void run() {
    ws_.auto_fragment(false);
    ws_.async_accept([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->read();
    });
  }

  void deliver(const Frame& frame, bool text = false) {
    queue_.push_back({frame, text});
    if (queue_.size() == 1) write();
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      self->on_message();
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }

  void on_message() {
    auto data = buffer_.data();
    std::string bytes(static_cast<const char*>(data.data()), data.size());
    if (ws_.got_text()) {
      group_ = bytes.substr(5);
      groups_[group_].push_back(this);
      return deliver(std::make_shared<const std::string>("ok"), true);
    }
    auto frame = std::make_shared<const std::string>(std::move(bytes));
    for (Session* s : groups_[group_]) {
      if (s != this) s->deliver(frame);
    }
    static const Frame kAck = std::make_shared<const std::string>("A");
    deliver(kAck);
  }

  void write() {
    ws_.text(queue_.front().text);
    ws_.binary(!queue_.front().text);
    ws_.async_write(asio::buffer(*queue_.front().frame),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec) return;
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->write();
                    });
  }

  struct Out {
    Frame frame;
    bool text;
  };
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  std::deque<Out> queue_;
  Groups& groups_;
  std::string group_;
};

}  // namespace

struct BaselineServer::Impl {
  Groups groups;  // Before ioc: sessions destroyed with the io_context unlink themselves from it.
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket), groups)->run();
      accept();
    });
  }
};

BaselineServer::BaselineServer() : impl_(std::make_unique<Impl>()) {}

BaselineServer::~BaselineServer() {
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t BaselineServer::start() {
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
  return impl_->acceptor.local_endpoint().port();
}

}  // namespace cercle::bench
