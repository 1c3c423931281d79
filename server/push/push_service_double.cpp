#include "server/push/push_service_double.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace cercle::push::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct PushServiceDouble::Impl {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  uint16_t port = 0;
  std::thread thread;
  struct Session;
  std::vector<std::shared_ptr<Session>> held;  // io thread only; before ioc in destruction.

  mutable std::mutex mu;
  std::condition_variable arrived;
  std::vector<Received> received;
  Script script = [](const Received&, size_t) { return Answer{}; };

  struct Session : std::enable_shared_from_this<Session> {
    Session(Impl& owner, tcp::socket s) : owner(owner), socket(std::move(s)) {}
    Impl& owner;
    tcp::socket socket;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;

    void start() {
      http::async_read(socket, buffer, request,
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (!ec) self->answer();
                       });
    }
    void answer() {
      const Answer a = owner.record(request);
      if (a.hold) {
        owner.held.push_back(shared_from_this());  // Open, unanswered, until the double ends.
        return;
      }
      response.result(a.status);
      response.version(11);
      if (!a.retry_after.empty()) response.set(http::field::retry_after, a.retry_after);
      response.keep_alive(false);
      response.prepare_payload();
      http::async_write(socket, response, [self = shared_from_this()](beast::error_code, size_t) {
        beast::error_code ignored;
        self->socket.shutdown(tcp::socket::shutdown_both, ignored);
      });
    }
  };

  Answer record(const http::request<http::string_body>& request) {
    Received r;
    r.target = std::string(request.target());
    for (const auto& field : request) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(field.value());
    }
    r.body = request.body();
    r.at = std::chrono::steady_clock::now();
    std::lock_guard lock(mu);
    const Answer a = script(r, received.size());
    received.push_back(std::move(r));
    arrived.notify_all();
    return a;
  }

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      std::make_shared<Session>(*this, std::move(socket))->start();
      accept();
    });
  }
};

PushServiceDouble::PushServiceDouble() : impl_(std::make_unique<Impl>()) {
  const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(at.protocol());
  impl_->acceptor.bind(at);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

PushServiceDouble::~PushServiceDouble() {
  impl_->ioc.stop();
  impl_->thread.join();
}

uint16_t PushServiceDouble::port() const { return impl_->port; }

std::string PushServiceDouble::origin() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

std::string PushServiceDouble::endpoint(const std::string& token) const {
  return origin() + "/push/" + token;
}

void PushServiceDouble::script(Script script) {
  std::lock_guard lock(impl_->mu);
  impl_->script = std::move(script);
}

bool PushServiceDouble::wait_for(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->arrived.wait_for(lock, timeout, [&] { return impl_->received.size() >= count; });
}

std::vector<PushServiceDouble::Received> PushServiceDouble::received() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received;
}

}  // namespace cercle::push::testing
