// Starts the WebSocket side of a connection whose HTTP request asked to upgrade on /ws.
// Runs on the io_context thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "server/net/net_context.h"

namespace cercle::net {

// Takes over `socket`: answers the upgrade, then runs the device's protocol session until the
// connection ends. The connection keeps itself alive, and `slot` (its place among its client
// address's connections) until it ends; nothing to own.
void start_websocket(boost::asio::ip::tcp::socket socket,
                     boost::beast::http::request<boost::beast::http::string_body> request,
                     NetContext& ctx, AddressSlot slot);

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// The same over TLS (after its handshake); `tls` is the context the stream was made with.
void start_websocket(TlsStream stream,
                     boost::beast::http::request<boost::beast::http::string_body> request,
                     NetContext& ctx, AddressSlot slot,
                     std::shared_ptr<boost::asio::ssl::context> tls);

}  // namespace cercle::net
