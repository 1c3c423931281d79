// ScannedSocket: the TCP socket of a plain (not TLS) WebSocket connection, as the WebSocket
// library's next layer. Every byte the library reads from it goes through a FrameScanner, so that
// the connection knows when the library holds nothing unread and it may wait for the socket to
// become readable instead of keeping a read pending (see ws_session.cpp). Also: whether the kernel
// holds bytes to read, and taking a pong frame from the socket without the library.
//
// Lives on the io_context thread, inside its connection.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "server/net/frame_scanner.h"

namespace cercle::net {

// A plain connection's socket. Bound to the io_context's own executor (8 bytes) rather than
// any_io_executor (56), which every pending operation on it also copies.
using PlainSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

// A plain connection's socket as Beast's next layer: every byte Beast reads goes through the
// scanner, so that the connection knows when Beast holds nothing unread.
class ScannedSocket {
 public:
  using executor_type = PlainSocket::executor_type;
  explicit ScannedSocket(PlainSocket socket) : socket_(std::move(socket)) {}

  executor_type get_executor() { return socket_.get_executor(); }
  PlainSocket& next_layer() { return socket_; }
  const FrameScanner& scanner() const { return scanner_; }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    socket_.async_read_some(buffers, [this, buffers, handler = std::forward<Handler>(handler)](
                                         boost::system::error_code ec, size_t n) mutable {
      scan(buffers, n);
      std::move(handler)(ec, n);
    });
  }
  template <class Buffers>
  size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
    const size_t n = socket_.read_some(buffers, ec);
    scan(buffers, n);
    return n;
  }
  template <class Buffers>
  size_t read_some(const Buffers& buffers) {
    boost::system::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    socket_.async_write_some(buffers, std::forward<Handler>(handler));
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
    return socket_.write_some(buffers, ec);
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers) {
    return socket_.write_some(buffers);
  }

 private:
  template <class Buffers>
  void scan(const Buffers& buffers, size_t n) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         n > 0 && it != boost::asio::buffer_sequence_end(buffers); ++it) {
      const boost::asio::const_buffer b(*it);
      const size_t take = std::min(n, b.size());
      scanner_.feed(static_cast<const uint8_t*>(b.data()), take);
      n -= take;
    }
  }

  PlainSocket socket_;
  FrameScanner scanner_;
};

// Whether the kernel holds bytes (or the end of the stream, or an error) to read on `socket`.
inline bool readable_now(PlainSocket& socket) {
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

// If the kernel holds a whole pong frame (a client's frames are masked; at most 125 bytes of
// payload, FIN, no reserved bit) at the front of `socket`'s bytes, reads it and returns true.
// Anything else is left for Beast.
inline bool take_pong(PlainSocket& socket) {
  uint8_t b[6 + 125];
  const ssize_t n = ::recv(socket.native_handle(), b, sizeof b, MSG_PEEK | MSG_DONTWAIT);
  if (n < 6 || b[0] != 0x8A || (b[1] & 0x80) == 0 || (b[1] & 0x7F) > 125) return false;
  const size_t size = 6 + (b[1] & 0x7F);
  if (static_cast<size_t>(n) < size) return false;
  return ::recv(socket.native_handle(), b, size, MSG_DONTWAIT) == static_cast<ssize_t>(size);
}

}  // namespace cercle::net
