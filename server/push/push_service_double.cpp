#include "server/push/push_service_double.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <thread>

namespace cercle::push::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

struct Certificate {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, EVP_PKEY_free};
  std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, X509_free};
};

// A self-signed P-256 certificate for `name` (subjectAltName DNS:<name>), valid for a day.
Certificate self_signed(const std::string& name) {
  Certificate c;
  c.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "prime256v1"));
  c.cert.reset(X509_new());
  X509* x = c.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, c.key.get());
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, subject);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  const std::string san = "DNS:" + name;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x, c.key.get(), EVP_sha256());
  return c;
}

}  // namespace

struct PushServiceDouble::Impl {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  uint16_t port = 0;
  std::thread thread;
  Certificate certificate;                   // TLS only.
  std::shared_ptr<ssl::context> server_tls;  // Null: plain HTTP.
  std::vector<std::shared_ptr<void>> held;   // io thread only; destroyed before ioc.

  mutable std::mutex mu;
  std::condition_variable arrived;
  std::vector<Received> received;
  Script script = [](const Received&, size_t) { return Answer{}; };

  template <class Stream>
  struct Session : std::enable_shared_from_this<Session<Stream>> {
    template <class... Args>
    Session(Impl& owner, Args&&... args) : owner(owner), stream(std::forward<Args>(args)...) {}
    Impl& owner;
    Stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;

    void start() {
      http::async_read(stream, buffer, request,
                       [self = this->shared_from_this()](beast::error_code ec, size_t) {
                         if (!ec) self->answer();
                       });
    }
    void answer() {
      const Answer a = owner.record(request);
      if (a.hold) {
        owner.held.push_back(this->shared_from_this());  // Open, unanswered, until the end.
        return;
      }
      response.result(a.status);
      response.version(11);
      if (!a.retry_after.empty()) response.set(http::field::retry_after, a.retry_after);
      response.keep_alive(false);
      response.prepare_payload();
      http::async_write(
          stream, response, [self = this->shared_from_this()](beast::error_code, size_t) {
            beast::error_code ignored;
            beast::get_lowest_layer(self->stream).shutdown(tcp::socket::shutdown_both, ignored);
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
      if (!server_tls) {
        std::make_shared<Session<tcp::socket>>(*this, std::move(socket))->start();
      } else {
        using Tls = beast::ssl_stream<tcp::socket>;
        auto s = std::make_shared<Session<Tls>>(*this, std::move(socket), *server_tls);
        s->stream.async_handshake(ssl::stream_base::server, [s](beast::error_code ec) {
          if (!ec) s->start();
        });
      }
      accept();
    });
  }

  void listen() {
    const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(at.protocol());
    acceptor.bind(at);
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    accept();
    thread = std::thread([this] { ioc.run(); });
  }
};

PushServiceDouble::PushServiceDouble() : impl_(std::make_unique<Impl>()) { impl_->listen(); }

PushServiceDouble::PushServiceDouble(const std::string& certified_name)
    : impl_(std::make_unique<Impl>()) {
  impl_->certificate = self_signed(certified_name);
  impl_->server_tls = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX_use_certificate(impl_->server_tls->native_handle(), impl_->certificate.cert.get());
  SSL_CTX_use_PrivateKey(impl_->server_tls->native_handle(), impl_->certificate.key.get());
  impl_->listen();
}

PushServiceDouble::~PushServiceDouble() {
  impl_->ioc.stop();
  impl_->thread.join();
}

uint16_t PushServiceDouble::port() const { return impl_->port; }

std::string PushServiceDouble::origin(const std::string& host) const {
  return (impl_->server_tls ? "https://" : "http://") + host + ":" + std::to_string(impl_->port);
}

std::string PushServiceDouble::endpoint(const std::string& token, const std::string& host) const {
  return origin(host) + "/push/" + token;
}

std::shared_ptr<ssl::context> PushServiceDouble::trusting_context() const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx->native_handle()), impl_->certificate.cert.get());
  return ctx;
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
