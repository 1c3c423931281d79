#include "testing/ws_client.h"

#include <sodium.h>

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "proto/wire.h"
#include "testing/device_links.h"

namespace cercle::testing {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

DeviceKey::DeviceKey() { crypto_sign_keypair(pk, sk); }

std::string DeviceKey::public_key() const {
  return std::string(reinterpret_cast<const char*>(pk), 32);
}

std::string DeviceKey::sign(std::string_view m) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(m.data()), m.size(), sk);
  return sig;
}

namespace {

// The handle as the relay stores it (NFC), which link 0 is signed over; unchanged when ICU cannot
// normalise it (the relay then refuses the handle anyway).
std::string stored_handle(std::string_view typed) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
  if (U_FAILURE(err)) return std::string(typed);
  const auto in = icu::UnicodeString::fromUTF8(icu::StringPiece(typed.data(), typed.size()));
  const icu::UnicodeString out = nfc->normalize(in, err);
  if (U_FAILURE(err)) return std::string(typed);
  std::string utf8;
  return out.toUTF8String(utf8);
}

}  // namespace

struct WsClient::Impl {
  asio::io_context ioc{1};
  websocket::stream<tcp::socket> ws{ioc};
  beast::flat_buffer buffer;
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}

WsClient::~WsClient() {
  beast::error_code ignored;
  impl_->ws.next_layer().close(ignored);
}

template <class Pred>
bool WsClient::run_until(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (impl_->ioc.stopped()) impl_->ioc.restart();
    if (impl_->ioc.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) {
      return pred();
    }
    if (closed_ && impl_->ioc.poll() == 0 && !pred()) return false;
  }
  return true;
}

std::unique_ptr<WsClient> WsClient::connect(uint16_t port, std::chrono::milliseconds timeout) {
  return connect_small_buffer(port, 0, timeout);
}

std::unique_ptr<WsClient> WsClient::connect_small_buffer(uint16_t port, int receive_buffer_bytes,
                                                         std::chrono::milliseconds timeout) {
  std::unique_ptr<WsClient> c(new WsClient());
  auto& ws = c->impl_->ws;
  if (receive_buffer_bytes > 0) {
    // Set before connecting: it fixes the window the kernel announces and disables autotuning.
    beast::error_code ec;
    ws.next_layer().open(tcp::v4(), ec);
    if (!ec)
      ws.next_layer().set_option(asio::socket_base::receive_buffer_size(receive_buffer_bytes), ec);
    if (ec) return nullptr;
  }
  bool done = false;
  beast::error_code result = asio::error::timed_out;
  ws.next_layer().async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        if (ec) {
          result = ec;
          done = true;
          return;
        }
        ws.async_handshake("127.0.0.1", "/ws", [&](beast::error_code ec2) {
          result = ec2;
          done = true;
        });
      });
  if (!c->run_until([&] { return done; }, timeout) || result) return nullptr;
  // Like browsers: without it Nagle's algorithm and delayed ACKs add 40 ms to request-response
  // round trips whose frame spans several segments.
  beast::error_code ignored;
  ws.next_layer().set_option(tcp::no_delay(true), ignored);
  ws.binary(true);
  ws.read_message_max(64 << 20);
  c->start_read();
  return c;
}

void WsClient::start_read() {
  impl_->ws.async_read(impl_->buffer, [this](beast::error_code ec, size_t) {
    if (ec) {
      closed_ = true;
      close_code_ = impl_->ws.reason().code;
      return;
    }
    auto data = impl_->buffer.data();
    on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()));
    impl_->buffer.consume(impl_->buffer.size());
    start_read();
  });
}

void WsClient::on_frame(std::string_view bytes) {
  v1::ServerFrame frame;
  if (!frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    last_error_ = "unparsable server frame";
    return;
  }
  if (frame.has_response()) {
    if (sync_id_ != 0 && frame.response().request_id() == sync_id_) {
      deliveries_before_sync_ = deliveries_.size();
      events_before_sync_ = events_.size();
    }
    responses_[frame.response().request_id()] = frame.response();
  } else if (frame.has_deliveries()) {
    for (const auto& d : frame.deliveries().deliveries()) deliveries_.push_back(d);
  } else if (frame.has_event()) {
    events_.push_back(frame.event());
  }
}

bool WsClient::send_raw(std::string_view bytes, bool text) {
  bool done = false;
  beast::error_code result;
  impl_->ws.text(text);
  impl_->ws.async_write(asio::buffer(bytes.data(), bytes.size()),
                        [&](beast::error_code ec, size_t) {
                          result = ec;
                          done = true;
                        });
  run_until([&] { return done; }, 5s);
  impl_->ws.binary(true);
  return done && !result;
}

uint64_t WsClient::send(v1::ClientFrame frame) {
  if (frame.request_id() == 0) frame.set_request_id(next_id_++);
  send_raw(frame.SerializeAsString());
  return frame.request_id();
}

std::optional<v1::Response> WsClient::wait_response(uint64_t id,
                                                    std::chrono::milliseconds timeout) {
  if (!run_until([&] { return responses_.count(id) > 0; }, timeout)) return std::nullopt;
  auto node = responses_.extract(id);
  return std::move(node.mapped());
}

std::optional<v1::Response> WsClient::call(v1::ClientFrame frame,
                                           std::chrono::milliseconds timeout) {
  return wait_response(send(std::move(frame)), timeout);
}

std::optional<v1::Delivery> WsClient::next_delivery(std::chrono::milliseconds timeout) {
  if (!run_until([&] { return !deliveries_.empty(); }, timeout)) return std::nullopt;
  auto d = std::move(deliveries_.front());
  deliveries_.pop_front();
  return d;
}

std::vector<v1::Delivery> WsClient::deliveries(size_t n, std::chrono::milliseconds timeout) {
  run_until([&] { return deliveries_.size() >= n; }, timeout);
  std::vector<v1::Delivery> out(deliveries_.begin(), deliveries_.end());
  deliveries_.clear();
  return out;
}

std::optional<v1::Event> WsClient::next_event(std::chrono::milliseconds timeout) {
  if (!run_until([&] { return !events_.empty(); }, timeout)) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

::testing::AssertionResult WsClient::nothing_before_round_trip(std::chrono::milliseconds timeout) {
  v1::ClientFrame probe;
  probe.mutable_list_conversations();
  sync_id_ = send(std::move(probe));
  const bool answered = wait_response(sync_id_, timeout).has_value();
  sync_id_ = 0;
  if (!answered) {
    return ::testing::AssertionFailure() << "no answer to the round trip within " << timeout.count()
                                         << " ms" << (closed_ ? " (connection closed)" : "");
  }
  if (deliveries_before_sync_ == 0 && events_before_sync_ == 0) {
    return ::testing::AssertionSuccess();
  }
  auto failure = ::testing::AssertionFailure();
  failure << deliveries_before_sync_ << " deliveries and " << events_before_sync_
          << " events arrived before the round trip's answer:";
  for (size_t i = 0; i < deliveries_before_sync_; ++i) {
    const auto& d = deliveries_[i];
    failure << " [delivery seq " << d.seq() << " kind " << v1::DeliveryKind_Name(d.kind())
            << " from device " << d.sender_device() << "]";
  }
  for (size_t i = 0; i < events_before_sync_; ++i) {
    failure << " [event " << events_[i].ShortDebugString() << "]";
  }
  return failure;
}

void WsClient::drain(std::chrono::milliseconds duration) {
  run_until([] { return false; }, duration);
}

bool WsClient::wait_closed(std::chrono::milliseconds timeout, int* close_code) {
  const bool closed = run_until([&] { return closed_; }, timeout);
  if (close_code) *close_code = close_code_;
  return closed;
}

std::string WsClient::transcript() const {
  return wire::auth_transcript(hello_result_.instance_id(), challenge_, wire::kProtocolVersion);
}

std::optional<v1::Response> WsClient::hello() {
  v1::ClientFrame f;
  f.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  f.mutable_hello()->set_client_name("cercle-tests");
  auto r = call(f);
  if (r && r->has_hello()) {
    hello_result_ = r->hello();
    challenge_ = r->hello().challenge();
  }
  return r;
}

std::optional<v1::Response> WsClient::new_challenge() {
  v1::ClientFrame f;
  f.mutable_get_challenge();
  auto r = call(f);
  if (r && r->has_challenge()) challenge_ = r->challenge().challenge();
  return r;
}

std::optional<v1::Response> WsClient::register_device(const DeviceKey& key, std::string_view handle,
                                                      std::string_view code) {
  v1::ClientFrame f;
  auto* reg = f.mutable_register_();
  reg->set_handle(std::string(handle));
  reg->set_device_public_key(key.public_key());
  reg->set_signature(key.sign(transcript()));
  reg->set_registration_code(std::string(code));
  *reg->mutable_link() =
      device_first_link(stored_handle(handle), key.public_key(), secret_bytes(key.sk));
  return call(f);
}

std::optional<v1::Response> WsClient::authenticate(const DeviceKey& key) {
  v1::ClientFrame f;
  f.mutable_authenticate()->set_device_public_key(key.public_key());
  f.mutable_authenticate()->set_signature(key.sign(transcript()));
  return call(f);
}

std::optional<v1::AuthResult> WsClient::hello_and_register(const DeviceKey& key,
                                                           std::string_view handle,
                                                           std::string_view code) {
  auto h = hello();
  if (!h || !h->has_hello()) {
    last_error_ = "hello failed";
    return std::nullopt;
  }
  auto r = register_device(key, handle, code);
  if (!r || !r->has_auth()) {
    last_error_ = r ? r->error().message() : "register timed out";
    return std::nullopt;
  }
  return r->auth();
}

std::optional<v1::AuthResult> WsClient::hello_and_authenticate(const DeviceKey& key) {
  auto h = hello();
  if (!h || !h->has_hello()) {
    last_error_ = "hello failed";
    return std::nullopt;
  }
  auto r = authenticate(key);
  if (!r || !r->has_auth()) {
    last_error_ = r ? r->error().message() : "authenticate timed out";
    return std::nullopt;
  }
  return r->auth();
}

v1::ClientFrame send_frame(const std::string& conv, uint64_t epoch, std::string payload) {
  v1::ClientFrame f;
  f.mutable_send()->set_conversation_id(conv);
  f.mutable_send()->set_epoch(epoch);
  f.mutable_send()->set_payload(std::move(payload));
  return f;
}

v1::ClientFrame commit_frame(const std::string& conv, uint64_t epoch, std::string commit,
                             std::vector<uint64_t> add, std::vector<uint64_t> remove,
                             std::string welcome) {
  v1::ClientFrame f;
  auto* c = f.mutable_commit();
  c->set_conversation_id(conv);
  c->set_epoch(epoch);
  c->set_commit(std::move(commit));
  for (auto d : add) c->add_add_devices(d);
  for (auto d : remove) c->add_remove_devices(d);
  c->set_welcome(std::move(welcome));
  return f;
}

v1::ClientFrame commit_frame(const std::string& conv, uint64_t epoch,
                             const MlsMember::Commit& commit, std::vector<uint64_t> add,
                             std::vector<uint64_t> remove) {
  v1::ClientFrame f =
      commit_frame(conv, epoch, commit.message, std::move(add), std::move(remove), commit.welcome);
  if (commit.genesis) *f.mutable_commit()->mutable_genesis() = *commit.genesis;
  return f;
}

v1::ClientFrame create_group_frame() {
  v1::ClientFrame f;
  f.mutable_create_conversation()->set_kind(v1::GROUP);
  return f;
}

v1::ClientFrame ack_frame(const std::string& conv, uint64_t seq) {
  v1::ClientFrame f;
  f.mutable_ack()->set_conversation_id(conv);
  f.mutable_ack()->set_seq(seq);
  return f;
}

v1::ErrorCode error_of(const std::optional<v1::Response>& r) {
  if (!r || !r->has_error()) return v1::ERROR_CODE_UNSPECIFIED;
  return r->error().code();
}

}  // namespace cercle::testing
