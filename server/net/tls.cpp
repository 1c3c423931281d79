#include "server/net/tls.h"

namespace cercle::net {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> make_tls_context(const std::string& certificate,
                                                       const std::string& key) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(certificate, ec);
  if (ec) {
    return make_error(Errc::kInvalidArgument,
                      "cannot load the TLS certificate " + certificate + ": " + ec.message());
  }
  ctx->use_private_key_file(key, ssl::context::pem, ec);
  if (ec)
    return make_error(Errc::kInvalidArgument,
                      "cannot load the TLS key " + key + ": " + ec.message());
  return ctx;
}

}  // namespace cercle::net
