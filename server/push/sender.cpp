// The only file of server/push that includes Boost.Beast.
#include "server/push/sender.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <map>
#include <mutex>
#include <set>

#include "server/common/log.h"

namespace cercle::push {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::any_io_executor>;
using Request = http::request<http::string_body>;

// What one attempt came to: a status (0 for a network error or a timeout), or refused when the
// endpoint resolved only to addresses a push may not go to.
struct Reply {
  int status = 0;
  std::optional<std::chrono::seconds> retry_after;
  bool refused = false;
};

constexpr size_t kMaxResponseBody = 16 * 1024;  // Push services answer with little or nothing.

// One request to a push service: resolve, connect, TLS, write, read, on the sender's strand.
class Attempt : public std::enable_shared_from_this<Attempt> {
 public:
  using Done = std::function<void(const std::shared_ptr<Attempt>&, Reply)>;
  Attempt(Strand strand, std::shared_ptr<ssl::context> tls, Endpoint endpoint, Request request,
          SenderOptions options, Done done)
      : tls_(std::move(tls)),
        resolver_(strand),
        stream_(strand, *tls_),
        deadline_(strand),
        endpoint_(std::move(endpoint)),
        request_(std::move(request)),
        options_(std::move(options)),
        done_(std::move(done)) {}

  void run() {
    // A catch-all for the resolver, which has no timeout of its own.
    deadline_.expires_after(options_.connect_timeout + 3 * options_.io_timeout);
    deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->cancel();
    });
    resolver_.async_resolve(endpoint_.host, std::to_string(endpoint_.port),
                            [self = shared_from_this()](beast::error_code ec, auto results) {
                              self->on_resolve(ec, results);
                            });
  }

  void cancel() {
    resolver_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

 private:
  void on_resolve(beast::error_code ec, const tcp::resolver::results_type& results) {
    if (ec) return finish({});
    std::vector<tcp::endpoint> allowed;
    for (const auto& r : results) {
      if (address_allowed(r.endpoint().address(), options_.endpoints)) allowed.push_back(r);
    }
    if (allowed.empty()) return finish({.status = 0, .retry_after = std::nullopt, .refused = true});
    auto& tcp_stream = beast::get_lowest_layer(stream_);
    tcp_stream.expires_after(options_.connect_timeout);
    tcp_stream.async_connect(
        allowed, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
          self->on_connect(ec);
        });
  }

  void on_connect(beast::error_code ec) {
    if (ec) return finish({});
    if (!endpoint_.tls) return write();
    beast::error_code addr_ec;
    asio::ip::make_address(endpoint_.host, addr_ec);
    if (addr_ec && !SSL_set_tlsext_host_name(stream_.native_handle(), endpoint_.host.c_str())) {
      return finish({});
    }
    stream_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback(ssl::host_name_verification(endpoint_.host));
    beast::get_lowest_layer(stream_).expires_after(options_.io_timeout);
    stream_.async_handshake(ssl::stream_base::client,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (ec) return self->finish({});
                              self->write();
                            });
  }

  void write() {
    beast::get_lowest_layer(stream_).expires_after(options_.io_timeout);
    auto next = [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->finish({});
      self->read();
    };
    if (endpoint_.tls) {
      http::async_write(stream_, request_, std::move(next));
    } else {
      http::async_write(beast::get_lowest_layer(stream_), request_, std::move(next));
    }
  }

  void read() {
    beast::get_lowest_layer(stream_).expires_after(options_.io_timeout);
    parser_.body_limit(kMaxResponseBody);
    auto next = [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->finish({});
      const auto& response = self->parser_.get();
      Reply reply{static_cast<int>(response.result_int()), std::nullopt, false};
      if (auto it = response.find(http::field::retry_after); it != response.end()) {
        reply.retry_after = parse_retry_after(it->value(), std::chrono::system_clock::now());
      }
      self->finish(reply);
    };
    if (endpoint_.tls) {
      http::async_read(stream_, buffer_, parser_, std::move(next));
    } else {
      http::async_read(beast::get_lowest_layer(stream_), buffer_, parser_, std::move(next));
    }
  }

  void finish(Reply reply) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    cancel();  // One request per connection: nothing is kept open.
    done_(shared_from_this(), reply);
  }

  std::shared_ptr<ssl::context> tls_;
  tcp::resolver resolver_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  asio::steady_timer deadline_;
  Endpoint endpoint_;
  Request request_;
  const SenderOptions options_;  // A copy: an attempt may outlive its sender.
  http::response_parser<http::string_body> parser_;
  beast::flat_buffer buffer_;
  Done done_;
  bool finished_ = false;
};

std::shared_ptr<ssl::context> default_tls() {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_default_verify_paths();
  return ctx;
}

}  // namespace

struct Sender::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor executor, VapidKey key, SenderOptions opts, GoneHandler gone)
      : strand(asio::make_strand(executor)),
        timer(strand),
        vapid(std::move(key)),
        options(std::move(opts)),
        on_gone(std::move(gone)),
        queue(options.limits),
        tls(options.tls ? options.tls : default_tls()) {}

  void enqueue(Push push, std::string origin);
  void pump();
  void start(PushQueue::Entry entry);
  void on_reply(const std::shared_ptr<Attempt>& attempt, PushQueue::Entry entry, Reply reply);
  Result<std::string> authorization(const std::string& origin);
  Result<Request> request_for(const PushQueue::Entry& entry, const Endpoint& endpoint);
  void halt();
  void publish();

  Strand strand;
  asio::steady_timer timer;
  VapidKey vapid;
  SenderOptions options;
  GoneHandler on_gone;
  PushQueue queue;
  std::shared_ptr<ssl::context> tls;
  std::set<std::shared_ptr<Attempt>> attempts;
  struct Token {
    std::string header;
    int64_t expires = 0;
  };
  std::map<std::string, Token> tokens;  // By origin: one signature per push service per while.
  bool stopped = false;                 // Strand only.
  std::atomic<bool> stopping{false};
  mutable std::mutex stats_mu;
  QueueStats stats;
};

void Sender::Impl::enqueue(Push push, std::string origin) {
  if (stopped) return;
  queue.add(std::move(push), std::move(origin), PushQueue::Clock::now());
  pump();
}

void Sender::Impl::pump() {
  if (stopped) return;
  const auto now = PushQueue::Clock::now();
  while (auto entry = queue.take(now)) start(std::move(*entry));
  publish();
  const auto wake = queue.next_wake();
  if (!wake) return;
  timer.expires_at(*wake);
  timer.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->pump();
  });
}

void Sender::Impl::start(PushQueue::Entry entry) {
  auto endpoint = parse_endpoint(entry.push.subscription.endpoint, options.endpoints);
  auto request = endpoint ? request_for(entry, *endpoint) : Result<Request>(endpoint.error());
  if (!request) {
    log::warn("push.not_sent", {{"reason", request.error().message}});
    queue.finish(std::move(entry), PushQueue::Outcome::kFailed, PushQueue::Clock::now());
    return;
  }
  auto attempt =
      std::make_shared<Attempt>(strand, tls, std::move(*endpoint), std::move(*request), options,
                                // Weak: the sender holds its attempts, not the reverse.
                                [weak = weak_from_this(), entry = std::move(entry)](
                                    const std::shared_ptr<Attempt>& a, Reply reply) mutable {
                                  if (auto self = weak.lock()) {
                                    self->on_reply(a, std::move(entry), reply);
                                  }
                                });
  attempts.insert(attempt);
  attempt->run();
}

void Sender::Impl::on_reply(const std::shared_ptr<Attempt>& attempt, PushQueue::Entry entry,
                            Reply reply) {
  attempts.erase(attempt);
  if (stopped) return;
  using Outcome = PushQueue::Outcome;
  const auto now = PushQueue::Clock::now();
  std::optional<PushQueue::Clock::duration> wait;
  Outcome outcome = Outcome::kFailed;
  if (reply.refused || reply.status == 404 || reply.status == 410) {
    outcome = Outcome::kGone;
    log::info("push.gone", {{"status", reply.status}});
    if (on_gone) on_gone(Gone{entry.push.device, entry.push.subscription.endpoint, reply.status});
  } else if (reply.status >= 200 && reply.status < 300) {
    outcome = Outcome::kSent;
    log::debug("push.sent", {{"status", reply.status}});
  } else if (reply.status == 0 || reply.status == 429 || reply.status >= 500) {
    outcome = Outcome::kRetry;
    if (reply.retry_after) wait = *reply.retry_after;
    log::debug("push.retry", {{"status", reply.status}, {"attempt", entry.attempts + 1}});
  } else {
    log::warn("push.refused", {{"status", reply.status}});
  }
  queue.finish(std::move(entry), outcome, now, wait);
  pump();
}

Result<std::string> Sender::Impl::authorization(const std::string& origin) {
  using namespace std::chrono;
  const int64_t now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  const int64_t lifetime =
      std::min<seconds>(options.token_lifetime, kMaxTokenLifetime - minutes(1)).count();
  if (tokens.size() > 256 && !tokens.contains(origin)) tokens.clear();  // Bounded.
  Token& token = tokens[origin];
  if (token.header.empty() || token.expires - now < lifetime / 2) {
    auto header = vapid.authorization(origin, options.subject, now + lifetime);
    if (!header) return std::move(header).error();
    token = Token{std::move(*header), now + lifetime};
  }
  return token.header;
}

Result<Request> Sender::Impl::request_for(const PushQueue::Entry& entry, const Endpoint& endpoint) {
  auto body = encrypt_push(entry.push.subscription.keys, entry.push.payload);
  if (!body) return std::move(body).error();
  auto auth = authorization(endpoint.origin);
  if (!auth) return std::move(auth).error();
  // The time it has left: a retried push does not get its whole TTL again.
  const auto left =
      std::chrono::duration_cast<std::chrono::seconds>(entry.expires - PushQueue::Clock::now());
  Request request{http::verb::post, endpoint.target, 11};
  request.set(http::field::host, endpoint.origin.substr(endpoint.origin.find("://") + 3));
  request.set("TTL", std::to_string(std::max<int64_t>(0, left.count())));
  request.set("Urgency", urgency_text(entry.push.urgency));
  request.set(http::field::content_encoding, "aes128gcm");
  request.set(http::field::content_type, "application/octet-stream");
  request.set(http::field::authorization, *auth);
  request.keep_alive(false);
  request.body() = std::move(*body);
  request.prepare_payload();
  return request;
}

void Sender::Impl::halt() {
  stopped = true;
  timer.cancel();
  for (const auto& attempt : attempts) attempt->cancel();
  attempts.clear();
  queue.clear();
  publish();
}

void Sender::Impl::publish() {
  std::lock_guard lock(stats_mu);
  stats = queue.stats();
}

Result<std::unique_ptr<Sender>> Sender::create(asio::any_io_executor executor, VapidKey vapid,
                                               SenderOptions options, GoneHandler on_gone) {
  if (!valid_subject(options.subject)) {
    return make_error(Errc::kInvalidArgument, "the VAPID subject must be a mailto: or https: URI");
  }
  auto impl = std::make_shared<Impl>(std::move(executor), std::move(vapid), std::move(options),
                                     std::move(on_gone));
  return std::unique_ptr<Sender>(new Sender(std::move(impl)));
}

Sender::~Sender() { stop(); }

Status Sender::send(Push push) {
  if (impl_->stopping) return make_error(Errc::kShuttingDown, "the push sender is stopped");
  if (push.payload.size() > kMaxPlaintext) {
    return make_error(Errc::kInvalidArgument, "the push payload is too large");
  }
  const PushKeys& keys = push.subscription.keys;
  if (keys.p256dh.size() != kPointSize || keys.p256dh[0] != 0x04 ||
      keys.auth.size() != kAuthSecretSize) {
    return make_error(Errc::kInvalidArgument, "malformed subscription keys");
  }
  auto endpoint = parse_endpoint(push.subscription.endpoint, impl_->options.endpoints);
  if (!endpoint) return std::move(endpoint).error();
  asio::post(impl_->strand, [impl = impl_, push = std::move(push),
                             origin = std::move(endpoint->origin)]() mutable {
    impl->enqueue(std::move(push), std::move(origin));
  });
  return Ok{};
}

void Sender::stop() {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->strand, [impl = impl_] { impl->halt(); });
}

QueueStats Sender::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->stats;
}

const VapidKey& Sender::vapid() const { return impl_->vapid; }

}  // namespace cercle::push
