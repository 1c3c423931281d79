// The WebSocket transport of one device connection (Boost.Beast). Reads client messages in small
// slices so that an idle connection holds almost no buffer, discards oversized messages without
// storing them, and writes from a bounded queue with one write in flight, coalescing queued
// deliveries into one message.
//
// Idle handling does not use Beast's per-stream timeout (a timer operation pending on every
// connection costs about 600 bytes each): the server's sweep timer visits every connection once a
// second, pings the quiet ones and drops the silent ones. It also closes a connection that did not
// authenticate in time (answering pings does not count) and drops one that leaves a message
// unfinished past its deadline. The buffers of unfinished messages share one server-wide budget:
// a connection that would take it past the budget is closed (1013), so that a crowd of half-sent
// messages cannot pin the server's memory.
//
// An idle plain connection keeps no read pending in Beast (about 450 bytes of operation state) and
// no input buffer: once the bytes Beast read end exactly with a message it delivered (FrameScanner)
// and the kernel holds nothing more, it waits for the socket to become readable, and answers the
// pongs to its own pings without waking Beast. TLS connections always keep a Beast read pending
// (OpenSSL may hold decrypted bytes the socket does not show).
#include "server/net/ws_session.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/api/frames.h"
#include "server/api/session.h"
#include "server/common/log.h"
#include "server/net/peer.h"
#include "server/net/scanned_socket.h"

namespace cercle::net {

// Beast closes the WebSocket's TCP connection through these (found by argument-dependent lookup,
// hence in ScannedSocket's namespace).
void teardown(boost::beast::role_type role, ScannedSocket& s, boost::beast::error_code& ec) {
  boost::beast::websocket::teardown(role, s.next_layer(), ec);
}
template <class Handler>
void async_teardown(boost::beast::role_type role, ScannedSocket& s, Handler&& handler) {
  boost::beast::websocket::async_teardown(role, s.next_layer(), std::forward<Handler>(handler));
}

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr size_t kFirstReadBytes = 64;        // Acks fit; an idle connection holds only this.
constexpr size_t kNextReadBytes = 64 * 1024;  // Rest of a larger message.
constexpr size_t kHeadBytes = 16;             // Kept from an oversized message, for its request id.
constexpr size_t kHardMessageMax = 16 << 20;  // Past this Beast closes the connection (1009).
constexpr size_t kDiscardReadBytes = 4096;    // Slices of a message read only to be discarded.
// Buffers up to this size are not charged to the partial-frame budget: the requests of honest
// clients (acks, most messages) always go through, and a connection holds one such buffer at most.
constexpr size_t kFreeBufferBytes = 4096;

websocket::close_code close_code(api::CloseReason reason) {
  switch (reason) {
    case api::CloseReason::kNormal:
      return websocket::close_code::normal;
    case api::CloseReason::kGoingAway:
      return websocket::close_code::going_away;
    case api::CloseReason::kTooSlow:
      return websocket::close_code::try_again_later;
    case api::CloseReason::kPolicy:
      return websocket::close_code::policy_error;
  }
  return websocket::close_code::normal;
}

// The TCP socket under a stream, plain or TLS.
PlainSocket& raw_socket(ScannedSocket& s) { return s.next_layer(); }
tcp::socket& raw_socket(TlsStream& s) { return beast::get_lowest_layer(s).socket(); }

// NextLayer: ScannedSocket, or TlsStream when the server speaks TLS.
template <class NextLayer>
class WsSession final : public std::enable_shared_from_this<WsSession<NextLayer>>,
                        public api::Connection,
                        public LiveWebSocket {
 public:
  WsSession(NextLayer next, NetContext& ctx, AddressSlot slot,
            std::shared_ptr<asio::ssl::context> tls = nullptr)
      : tls_(std::move(tls)),
        ws_(std::move(next)),
        ctx_(ctx),
        session_(ctx.hub, *this),
        slot_(std::move(slot)) {
    ++ctx_.connections;
    ctx_.websockets.push_back(*this);
  }
  ~WsSession() override {
    --ctx_.connections;
    ctx_.partial_frame_bytes -= charge_of(in_.capacity);
  }

  void start(http::request<http::string_body> request) {
    beast::error_code ec;
    const auto remote = raw_socket(ws_.next_layer()).remote_endpoint(ec);
    if (!ec) {
      session_.set_peer(peer_of(
          client_address(remote.address(), request["X-Forwarded-For"], ctx_.trusted_proxies)));
    }
    last_activity_ms_ = static_cast<uint32_t>(ctx_.now_ms);
    since_ms_ = last_activity_ms_;
    // Pongs (and pings) count as activity; the callback fits std::function's inline storage.
    ws_.control_callback([this](websocket::frame_type, std::string_view) {
      last_activity_ms_ = static_cast<uint32_t>(ctx_.now_ms);
    });
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "cercle"); }));
    ws_.read_message_max(kHardMessageMax);
    ws_.auto_fragment(false);  // One frame per message: one gathered write, no 4 KiB slicing.
    ws_.binary(true);
    ws_.async_accept(request,
                     beast::bind_front_handler(&WsSession::on_accept, this->shared_from_this()));
  }

  bool send(api::SharedFrame frame, api::FrameKind kind) override {
    if (close_sent_)
      return false;  // Until the close frame goes, a closing connection still answers.
    if (queue_.size() == head_index_)
      last_progress_ms_ = static_cast<uint32_t>(ctx_.now_ms);  // The stall clock starts.
    if (kind != api::FrameKind::kCatchUp && queued_bytes_ + frame->size() > queue_limit()) {
      log::warn("conn.too_slow", {{"queued_bytes", queued_bytes_}});
      drop();  // It catches up from storage when it comes back.
      return false;
    }
    queued_bytes_ += frame->size();
    queue_.push_back(Queued{std::move(frame), kind != api::FrameKind::kReply});
    if (!writing_) do_write();
    return true;
  }

  size_t queued_bytes() const override { return queued_bytes_; }
  size_t queue_limit() const override { return ctx_.config.send_queue_bytes; }
  std::weak_ptr<void> life() override { return this->weak_from_this(); }

  void resume_input() override {
    if (!paused_ || closing_) return;
    paused_ = false;
    do_read();
  }

  void close(api::CloseReason reason) override {
    if (closing_) return;
    closing_ = true;
    since_ms_ = static_cast<uint32_t>(ctx_.now_ms);
    close_code_ = close_code(reason);
    if (!writing_) do_write();  // Sends the close frame once the queue is empty.
  }

  void shut(bool hard) override {
    if (hard) return drop();
    close(api::CloseReason::kGoingAway);
  }

  void sweep(int64_t now_ms) override {
    const auto now = static_cast<uint32_t>(now_ms);
    const uint32_t quiet = now - last_activity_ms_;
    const uint32_t idle_limit = ctx_.config.idle_timeout_s * 1000;
    const uint32_t close_limit = ctx_.config.handshake_timeout_s * 1000;
    if (quiet > idle_limit || (closing_ && now - since_ms_ > close_limit)) {
      log::debug("conn.timeout", {{"quiet_ms", quiet}});
      return drop();
    }
    if (message_bytes_ > 0 && now - message_started_ms_ > ctx_.config.frame_timeout_s * 1000) {
      // Its buffer is in use by the pending read: only closing the socket frees it.
      ++ctx_.counters.frame_timeouts;
      log::info("conn.frame_timeout", {{"received_bytes", message_bytes_}});
      return drop();
    }
    if (!closing_ && !session_.authenticated() &&
        now - since_ms_ > ctx_.config.auth_timeout_s * 1000 + session_.auth_grace_ms()) {
      ++ctx_.counters.auth_timeouts;
      log::info("conn.auth_timeout", {});
      return close(api::CloseReason::kPolicy);
    }
    const uint32_t stalled = now - last_progress_ms_;
    if (queued_bytes_ > 0 && stalled > ctx_.config.write_stall_s * 1000) {
      log::warn("conn.too_slow", {{"queued_bytes", queued_bytes_}, {"stalled_ms", stalled}});
      return drop();  // It catches up from storage when it comes back.
    }
    if (quiet > idle_limit / 2 && !pinging_ && !closing_ && accepted_) {
      pinging_ = true;
      ws_.async_ping({}, [self = this->shared_from_this()](beast::error_code) {
        self->pinging_ = false;
        if (self->closing_ && !self->writing_) self->do_write();  // A close waited for the ping.
      });
    }
  }

 private:
  struct Queued {
    api::SharedFrame frame;
    bool delivery;
  };
  static constexpr bool kCanPark = std::is_same_v<NextLayer, ScannedSocket>;

  void on_accept(beast::error_code ec) {
    if (ec) return end(ec);
    accepted_ = true;
    log::debug("conn.open", {{"connections", ctx_.connections}});
    do_read();
  }

  // Reads the next slice of the current message into in_. A new message gets 64 bytes, all that
  // an idle connection holds; the rest of a larger one gets what its frame still has (Beast's hint,
  // at most 64 KiB a time). Calling async_read_some with a plain buffer also avoids the extra
  // operation layer of the dynamic-buffer overload on every pending read.
  void do_read() {
    if constexpr (kCanPark) {
      if (message_bytes_ == 0 && park()) return;
    }
    const size_t want = message_bytes_ == 0
                            ? kFirstReadBytes
                            : std::clamp<size_t>(ws_.read_size_hint(kFirstReadBytes), 1,
                                                 discarding_ ? kDiscardReadBytes : kNextReadBytes);
    if (!within_budget(in_.filled + want)) return refuse_partial();
    grow_input(in_.filled + want);
    ws_.async_read_some(asio::buffer(in_.data.get() + in_.filled, in_.capacity - in_.filled),
                        beast::bind_front_handler(&WsSession::on_read, this->shared_from_this()));
  }

  // Between messages, when Beast holds no unread byte (every byte it read belongs to messages it
  // delivered) and the kernel none either: waits for the socket to become readable, holding no
  // buffer and no Beast operation. Returns false when a read must go through Beast now.
  bool park() {
    const FrameScanner& scanner = ws_.next_layer().scanner();
    if (closing_ || !scanner.clean() || scanner.messages() != messages_) return false;
    PlainSocket& socket = raw_socket(ws_.next_layer());
    if (readable_now(socket)) return false;
    release_input();
    socket.async_wait(tcp::socket::wait_read, [self = this->shared_from_this()](
                                                  beast::error_code ec) { self->on_readable(ec); });
    return true;
  }

  void on_readable(beast::error_code ec) {
    if (ec) return end(ec);
    if (close_sent_) return;  // Beast's close operation reads the peer's answer itself.
    // Pongs answer the sweep's pings: activity, nothing for Beast to do.
    while (take_pong(raw_socket(ws_.next_layer())))
      last_activity_ms_ = static_cast<uint32_t>(ctx_.now_ms);
    do_read();
  }

  void on_read(beast::error_code ec, size_t n) {
    if (ec) return end(ec);
    last_activity_ms_ = static_cast<uint32_t>(ctx_.now_ms);
    message_bytes_ += n;
    in_.filled += n;
    if (message_bytes_ == n) message_started_ms_ = static_cast<uint32_t>(ctx_.now_ms);
    if (!discarding_ && in_.filled > ctx_.config.api.max_frame_bytes) {
      discarding_ = true;  // Read to its end without keeping it; answer FRAME_TOO_LARGE.
      too_large_id_ = api::leading_request_id(in_.view().substr(0, kHeadBytes));
      release_input();  // No read is pending: the rest goes through a small buffer.
    }
    if (discarding_) in_.filled = 0;
    if (!ws_.is_message_done()) return do_read();
    ++messages_;
    if (close_sent_ || refused_) {
      // No frame can follow our close frame: the request is not executed; the client resends it
      // on its next connection.
    } else if (discarding_) {
      session_.on_frame_too_large(too_large_id_);
    } else if (!ws_.got_binary()) {
      session_.on_text_frame(in_.view());
    } else {
      session_.on_frame(in_.view());
    }
    discarding_ = false;
    refused_ = false;
    message_bytes_ = 0;
    in_.filled = 0;
    if (in_.capacity > 4 * kFirstReadBytes) release_input();
    if (!close_sent_ && !session_.wants_input()) {
      paused_ = true;  // Resumed by the session once its requests are written.
      return;
    }
    do_read();
  }

  // What a buffer of `capacity` bytes costs the partial-frame budget.
  static size_t charge_of(size_t capacity) { return capacity > kFreeBufferBytes ? capacity : 0; }

  // The budget always holds charge_of(in_.capacity) for this connection: nothing more to keep.
  bool within_budget(size_t size) const {
    const size_t charged = charge_of(in_.capacity);
    const size_t wanted = charge_of(std::max<size_t>(size, in_.capacity));
    return wanted <= charged ||
           ctx_.partial_frame_bytes - charged + wanted <= ctx_.config.partial_frames_bytes;
  }

  void grow_input(size_t size) {
    ctx_.partial_frame_bytes -= charge_of(in_.capacity);
    in_.reserve(size);
    ctx_.partial_frame_bytes += charge_of(in_.capacity);
  }

  // Only while no read is pending: the pending read writes into the buffer.
  void release_input() {
    ctx_.partial_frame_bytes -= charge_of(in_.capacity);
    in_.release();
  }

  // The message would take the partial-frame budget past its limit: it is discarded, not
  // answered, and the connection closed with 1013 (try again later) once the close frame goes.
  void refuse_partial() {
    ++ctx_.counters.partial_frames_refused;
    log::warn("conn.partial_frames_budget",
              {{"received_bytes", message_bytes_}, {"budget_bytes", ctx_.partial_frame_bytes}});
    release_input();
    in_.filled = 0;
    discarding_ = true;
    refused_ = true;
    close(api::CloseReason::kTooSlow);
    do_read();  // The rest of the message is read through a small uncharged buffer.
  }

  void do_write() {
    if (head_index_ == queue_.size()) {
      queue_ = {};  // An idle connection keeps no queue storage.
      head_index_ = 0;
      // Beast allows no close while a ping is under way: the ping's handler comes back here.
      if (closing_ && !close_sent_ && !pinging_ && accepted_) {
        close_sent_ = true;
        ws_.async_close(close_code_,
                        beast::bind_front_handler(&WsSession::on_close, this->shared_from_this()));
      }
      return;
    }
    writing_ = true;
    // Coalesced deliveries stay under the frame limit clients were told about.
    size_t n = 1, bytes = queue_[head_index_].frame->size();
    if (queue_[head_index_].delivery) {
      while (head_index_ + n < queue_.size() && queue_[head_index_ + n].delivery &&
             bytes + queue_[head_index_ + n].frame->size() <= ctx_.config.api.max_frame_bytes) {
        bytes += queue_[head_index_ + n].frame->size();
        ++n;
      }
    }
    in_flight_ = n;
    auto handler = beast::bind_front_handler(&WsSession::on_write, this->shared_from_this());
    if (n == 1)
      return ws_.async_write(asio::buffer(*queue_[head_index_].frame), std::move(handler));
    // Concatenated DeliveryBatch frames parse as one batch (see cercle.proto).
    // The write operation keeps its own copy of the buffer list: nothing to hold here.
    std::vector<asio::const_buffer> batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) batch.push_back(asio::buffer(*queue_[head_index_ + i].frame));
    ws_.async_write(batch, std::move(handler));
  }

  void on_write(beast::error_code ec, size_t) {
    writing_ = false;
    if (ec) return end(ec);
    last_progress_ms_ = static_cast<uint32_t>(ctx_.now_ms);
    for (size_t i = 0; i < in_flight_; ++i) {
      queued_bytes_ -= queue_[head_index_].frame->size();
      queue_[head_index_++].frame.reset();
    }
    if (head_index_ > 64 && head_index_ * 2 > queue_.size()) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(head_index_));
      head_index_ = 0;
    }
    do_write();
    if (!closing_ && queued_bytes_ < queue_limit() / 4) session_.on_drained();
  }

  void on_close(beast::error_code) {
    // The read loop ends when the peer answers the close frame, or at the handshake timeout.
  }

  // Drops the socket now: pending operations end with operation_aborted.
  void drop() {
    if (!closing_) since_ms_ = static_cast<uint32_t>(ctx_.now_ms);
    closing_ = true;
    close_sent_ = true;
    beast::error_code ignored;
    raw_socket(ws_.next_layer()).shutdown(tcp::socket::shutdown_both, ignored);
    raw_socket(ws_.next_layer()).close(ignored);
  }

  void end(beast::error_code ec) {
    if (ended_) return;
    ended_ = true;
    if (ec != websocket::error::closed && ec != asio::error::operation_aborted) {
      log::debug("conn.error", {{"error", ec.message()}});
    }
    session_.on_closed();
    unlink();
    drop();
  }

  // Outlives the stream made with it; nothing for a plain connection.
  struct NoTls {
    NoTls(std::shared_ptr<asio::ssl::context>) {}
  };
  [[no_unique_address]] std::conditional_t<std::is_same_v<NextLayer, ScannedSocket>, NoTls,
                                           std::shared_ptr<asio::ssl::context>>
      tls_;
  websocket::stream<NextLayer, false> ws_;
  NetContext& ctx_;
  api::Session session_;
  AddressSlot slot_;  // Its place among its address's connections.
  // The message being read: allocated without zeroing, grown as needed, released when large.
  struct Input {
    std::unique_ptr<char[]> data;
    uint32_t capacity = 0;
    uint32_t filled = 0;
    void reserve(size_t size) {
      if (size <= capacity) return;
      auto bigger = std::make_unique_for_overwrite<char[]>(size);
      if (filled) std::memcpy(bigger.get(), data.get(), filled);
      data = std::move(bigger);
      capacity = static_cast<uint32_t>(size);
    }
    void release() {
      data.reset();
      capacity = 0;
    }
    std::string_view view() const { return {data.get(), filled}; }
  };
  Input in_;
  uint64_t too_large_id_ = 0;  // Request id of the message being discarded.
  uint64_t messages_ = 0;      // Messages Beast delivered whole.
  std::vector<Queued> queue_;
  size_t queued_bytes_ = 0;
  uint32_t head_index_ = 0;
  uint32_t in_flight_ = 0;
  uint32_t message_bytes_ = 0;
  // Times on NetContext's coarse clock, kept in 32 bits: only differences of minutes are taken,
  // which unsigned arithmetic gets right across wrap-around.
  uint32_t last_activity_ms_ = 0;
  uint32_t last_progress_ms_ = 0;  // Last write completed, or when the queue stopped being empty.
  // When the connection opened (its authentication deadline runs from there), and from the
  // moment it starts closing, when that was.
  uint32_t since_ms_ = 0;
  uint32_t message_started_ms_ = 0;  // When the first bytes of the current message came.
  websocket::close_code close_code_ = websocket::close_code::normal;
  bool writing_ = false;
  bool accepted_ = false;
  bool pinging_ = false;
  bool paused_ = false;
  bool discarding_ = false;
  bool refused_ = false;  // The current message went over the partial-frame budget.
  bool closing_ = false;
  bool close_sent_ = false;
  bool ended_ = false;
};

}  // namespace

void start_websocket(tcp::socket socket, http::request<http::string_body> request, NetContext& ctx,
                     AddressSlot slot) {
  // The descriptor moves to a socket on the io_context's executor (see PlainSocket).
  beast::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return;  // The connection is gone: nothing to answer.
  const int fd = socket.release(ec);
  if (ec) return;
  PlainSocket plain(ctx.ioc.get_executor());
  if (plain.assign(protocol, fd, ec); ec) {
    ::close(fd);
    return;
  }
  std::make_shared<WsSession<ScannedSocket>>(ScannedSocket(std::move(plain)), ctx, std::move(slot))
      ->start(std::move(request));
}

void start_websocket(TlsStream stream, http::request<http::string_body> request, NetContext& ctx,
                     AddressSlot slot, std::shared_ptr<asio::ssl::context> tls) {
  std::make_shared<WsSession<TlsStream>>(std::move(stream), ctx, std::move(slot), std::move(tls))
      ->start(std::move(request));
}

}  // namespace cercle::net
