#include "server/net/http_session.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <memory>
#include <optional>

#include "server/common/log.h"
#include "server/net/peer.h"
#include "server/net/static_files.h"
#include "server/net/ws_session.h"

namespace cercle::net {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;

constexpr size_t kHeaderLimit = 8 * 1024;
constexpr size_t kBodyLimit = 4 * 1024;  // Nothing here takes a request body.

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

template <class Body>
void set_common(http::response<Body>& res, bool keep_alive) {
  res.set(http::field::server, "cercle");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.keep_alive(keep_alive);
}

http::message_generator text_response(const http::request<http::string_body>& req,
                                      http::status status, std::string body) {
  http::response<http::string_body> res{status, req.version()};
  set_common(res, req.keep_alive());
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.body() = req.method() == http::verb::head ? std::string() : std::move(body);
  res.prepare_payload();
  return res;
}

http::message_generator static_response(const http::request<http::string_body>& req,
                                        const StaticFile& file) {
  beast::error_code ec;
  http::file_body::value_type body;
  body.open(file.path.c_str(), beast::file_mode::scan, ec);
  if (ec) return text_response(req, http::status::not_found, "not found\n");
  const auto size = body.size();
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                      std::make_tuple(http::status::ok, req.version())};
  set_common(res, req.keep_alive());
  res.set(http::field::content_type, file.content_type);
  res.set(http::field::cache_control, file.cache_control);
  res.set(http::field::vary, "Accept-Encoding");
  // The web client needs nothing from elsewhere: forbid it all (scripts, frames, connections).
  res.set("Content-Security-Policy",
          "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
          "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  if (file.gzip) res.set(http::field::content_encoding, "gzip");
  res.content_length(size);
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> head{http::status::ok, req.version()};
    head.base() = res.base();
    return head;
  }
  return res;
}

// Stream: beast::tcp_stream, or TlsStream when the server speaks TLS.
template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(tcp::socket socket, NetContext& ctx, AddressSlot slot)
      : stream_(std::move(socket)), ctx_(ctx), slot_(std::move(slot)) {
    ++ctx_.connections;
  }
  HttpSession(tcp::socket socket, NetContext& ctx, AddressSlot slot,
              std::shared_ptr<asio::ssl::context> tls)
      : tls_(std::move(tls)), stream_(std::move(socket), *tls_), ctx_(ctx), slot_(std::move(slot)) {
    ++ctx_.connections;
  }
  ~HttpSession() { --ctx_.connections; }

  void run() {
    if constexpr (kTls) {
      tcp_layer().expires_after(std::chrono::seconds(ctx_.config.handshake_timeout_s));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();
                                self->do_read();
                              });
    } else {
      do_read();
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kBodyLimit);
    tcp_layer().expires_after(std::chrono::seconds(ctx_.config.handshake_timeout_s));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec) return close();  // End of stream, timeout or a malformed request: just close.
    auto req = parser_->release();
    parser_.reset();
    if (beast::websocket::is_upgrade(req)) {
      if (path_of(req.target()) != "/ws" || ctx_.stopping) {
        return write(text_response(req, http::status::not_found, "not found\n"));
      }
      if (!slot_ && !take_forwarded_slot(req)) {
        ++ctx_.counters.refused_per_address;
        log::warn("accept.refused_per_address", {});
        auto res = text_response(req, http::status::too_many_requests,
                                 "too many connections from this address\n");
        return write(std::move(res));
      }
      tcp_layer().expires_never();
      if constexpr (kTls) {
        return start_websocket(std::move(stream_), std::move(req), ctx_, std::move(slot_), tls_);
      } else {
        return start_websocket(stream_.release_socket(), std::move(req), ctx_, std::move(slot_));
      }
    }
    write(route(req));
  }

  // A connection from a trusted proxy was not counted when accepted: its WebSocket counts against
  // the address the proxy forwards for.
  bool take_forwarded_slot(const http::request<http::string_body>& req) {
    beast::error_code ec;
    const auto peer = tcp_layer().socket().remote_endpoint(ec);
    if (ec) return false;
    const auto client =
        client_address(peer.address(), req["X-Forwarded-For"], ctx_.trusted_proxies);
    slot_ = ctx_.addresses.take(peer_of(client), ctx_.config.max_connections_per_address);
    return static_cast<bool>(slot_);
  }

  http::message_generator route(const http::request<http::string_body>& req) {
    const auto path = path_of(req.target());
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return text_response(req, http::status::method_not_allowed, "method not allowed\n");
    }
    if (path == "/healthz") return text_response(req, http::status::ok, "ok\n");
    if (path == "/readyz") {
      return ctx_.stopping ? text_response(req, http::status::service_unavailable, "stopping\n")
                           : text_response(req, http::status::ok, "ready\n");
    }
    if (path == "/metrics") {
      beast::error_code ec;
      const auto peer = tcp_layer().socket().remote_endpoint(ec);
      const bool local =
          !ec && client_address(peer.address(), req["X-Forwarded-For"], ctx_.trusted_proxies)
                     .is_loopback();
      if (!ctx_.metrics || (!ctx_.config.metrics_public && !local)) {
        return text_response(req, http::status::not_found, "not found\n");
      }
      return text_response(req, http::status::ok, ctx_.metrics());
    }
    if (path == "/ws")
      return text_response(req, http::status::upgrade_required, "upgrade to a WebSocket\n");
    const bool gzip = accepts_gzip(req[http::field::accept_encoding]);
    if (auto file = resolve_static(ctx_.config.web_dir, req.target(), gzip)) {
      return static_response(req, *file);
    }
    return text_response(req, http::status::not_found, "not found\n");
  }

  void write(http::message_generator msg) {
    const bool keep_alive = msg.keep_alive() && !ctx_.stopping;
    beast::async_write(stream_, std::move(msg),
                       [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                         if (ec || !keep_alive) return self->close();
                         self->do_read();
                       });
  }

  void close() {
    beast::error_code ignored;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  std::shared_ptr<asio::ssl::context> tls_;  // Before stream_, which is made with it.
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  NetContext& ctx_;
  AddressSlot slot_;  // Empty for a connection from a trusted proxy until it upgrades.
};

}  // namespace

void start_http(tcp::socket socket, NetContext& ctx, AddressSlot slot) {
  if (ctx.tls) {
    std::make_shared<HttpSession<TlsStream>>(std::move(socket), ctx, std::move(slot), ctx.tls)
        ->run();
  } else {
    std::make_shared<HttpSession<beast::tcp_stream>>(std::move(socket), ctx, std::move(slot))
        ->run();
  }
}

}  // namespace cercle::net
