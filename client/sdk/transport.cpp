#include "client/sdk/transport.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>

namespace cercle::client {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

Error network(std::string what) { return make_error(Errc::kNetwork, std::move(what)); }

// Everything but the stream type is shared by the plain and TLS transports.
template <class Stream>
class WsTransport final : public Transport {
 public:
  template <class... Args>
  explicit WsTransport(asio::io_context& ioc, Args&&... args)
      : ioc_(ioc), ws_(ioc, std::forward<Args>(args)...) {}

  Status handshake(const Endpoint& e, std::chrono::milliseconds timeout) {
    tcp::resolver resolver(ioc());
    beast::error_code ec;
    auto results = resolver.resolve(e.host, e.port, ec);
    if (ec) return network("cannot resolve " + e.host + ": " + ec.message());
    bool done = false;
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(timeout);
    tcp_layer.async_connect(results, [&](beast::error_code e1, const tcp::endpoint&) {
      ec = e1;
      done = true;
    });
    if (!run(done) || ec) return network("cannot connect to " + e.host + ":" + e.port);
    tcp_layer.socket().set_option(tcp::no_delay(true));
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      if (!SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), e.host.c_str())) {
        return network("cannot set the TLS server name");
      }
      ws_.next_layer().set_verify_callback(ssl::host_name_verification(e.host));
      done = false;
      ws_.next_layer().async_handshake(ssl::stream_base::client, [&](beast::error_code e2) {
        ec = e2;
        done = true;
      });
      if (!run(done) || ec)
        return network("TLS handshake with " + e.host + " failed: " + ec.message());
    }
    tcp_layer.expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.read_message_max(64 << 20);
    done = false;
    ws_.async_handshake(e.host, e.path, [&](beast::error_code e3) {
      ec = e3;
      done = true;
    });
    if (!run(done, timeout) || ec) return network("WebSocket handshake failed: " + ec.message());
    ws_.binary(true);
    start_read();
    return Ok{};
  }

  void send(std::string message) override {
    out_.push_back(std::move(message));
    if (!writing_) write();
  }

  Result<std::optional<std::string>> receive(std::chrono::milliseconds timeout) override {
    if (in_.empty() && open_) {
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      while (in_.empty() && open_) {
        if (ioc().stopped()) ioc().restart();
        if (ioc().run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline)
          break;
      }
    }
    if (!in_.empty()) {
      std::string m = std::move(in_.front());
      in_.pop_front();
      return std::optional<std::string>(std::move(m));
    }
    if (!open_) return network("the connection to the server was lost: " + error_);
    return std::optional<std::string>();
  }

  bool is_open() const override { return open_; }

  void close(std::chrono::milliseconds timeout) override {
    if (!open_) return;
    bool done = false;
    ws_.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
    run(done, timeout);
    open_ = false;
  }

 private:
  asio::io_context& ioc() { return ioc_; }

  bool run(bool& done, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done) {
      if (ioc().stopped()) ioc().restart();
      if (ioc().run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) break;
    }
    return done;
  }

  void start_read() {
    ws_.async_read(buffer_, [this](beast::error_code ec, size_t) {
      if (ec) {
        open_ = false;
        error_ = ec.message();
        return;
      }
      auto data = buffer_.data();
      in_.emplace_back(static_cast<const char*>(data.data()), data.size());
      buffer_.consume(buffer_.size());
      start_read();
    });
  }

  void write() {
    writing_ = true;
    ws_.async_write(asio::buffer(out_.front()), [this](beast::error_code ec, size_t) {
      writing_ = false;
      if (ec) {
        open_ = false;
        error_ = ec.message();
        return;
      }
      out_.pop_front();
      if (!out_.empty()) write();
    });
  }

  asio::io_context& ioc_;
  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> in_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool open_ = true;
  std::string error_;
};

// Owns the io_context (and TLS context) before the transport that uses them.
template <class Stream>
struct Owned final : Transport {
  std::unique_ptr<asio::io_context> ioc = std::make_unique<asio::io_context>(1);
  std::unique_ptr<ssl::context> tls;
  std::unique_ptr<WsTransport<Stream>> inner;
  void send(std::string m) override { inner->send(std::move(m)); }
  Result<std::optional<std::string>> receive(std::chrono::milliseconds t) override {
    return inner->receive(t);
  }
  bool is_open() const override { return inner->is_open(); }
  void close(std::chrono::milliseconds t) override { inner->close(t); }
  ~Owned() override { inner.reset(); }
};

}  // namespace

Result<Endpoint> parse_url(std::string_view url) {
  Endpoint e;
  if (url.rfind("wss://", 0) == 0) {
    e.tls = true;
    url.remove_prefix(6);
  } else if (url.rfind("ws://", 0) == 0) {
    url.remove_prefix(5);
  } else {
    return make_error(Errc::kInvalidArgument, "the server address must start with ws:// or wss://");
  }
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) e.path = std::string(url.substr(slash));
  // A port follows the last colon, unless that colon is inside an IPv6 literal "[...]".
  const auto colon = authority.rfind(':');
  const auto bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    e.host = std::string(authority.substr(0, colon));
    e.port = std::string(authority.substr(colon + 1));
  } else {
    e.host = std::string(authority);
    e.port = e.tls ? "443" : "80";
  }
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') {
    e.host = e.host.substr(1, e.host.size() - 2);
  }
  if (e.host.empty() || e.port.empty()) {
    return make_error(Errc::kInvalidArgument, "the server address has no host or port");
  }
  return e;
}

Result<std::unique_ptr<Transport>> Transport::connect(const Endpoint& endpoint,
                                                      std::chrono::milliseconds timeout,
                                                      const std::string& ca_file) {
  if (!endpoint.tls) {
    auto t = std::make_unique<Owned<beast::tcp_stream>>();
    t->inner = std::make_unique<WsTransport<beast::tcp_stream>>(*t->ioc);
    if (auto s = t->inner->handshake(endpoint, timeout); !s) return std::move(s).error();
    return std::unique_ptr<Transport>(std::move(t));
  }
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;
  auto t = std::make_unique<Owned<TlsStream>>();
  t->tls = std::make_unique<ssl::context>(ssl::context::tls_client);
  t->tls->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                      ssl::context::no_tlsv1_1);
  beast::error_code ec;
  if (ca_file.empty()) {
    t->tls->set_default_verify_paths(ec);
  } else {
    t->tls->load_verify_file(ca_file, ec);
  }
  if (ec) return network("cannot load trusted certificates: " + ec.message());
  t->tls->set_verify_mode(ssl::verify_peer);
  t->inner = std::make_unique<WsTransport<TlsStream>>(*t->ioc, *t->tls);
  if (auto s = t->inner->handshake(endpoint, timeout); !s) return std::move(s).error();
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace cercle::client
