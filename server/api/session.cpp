#include "server/api/session.h"

#include <sodium.h>

#include <algorithm>

#include "proto/wire.h"
#include "server/api/frames.h"
#include "server/common/log.h"

namespace cercle::api {

namespace {

using Rc = v1::ClientFrame::RequestCase;

constexpr size_t kChallengeBytes = 32;
constexpr size_t kMaxClientName = 64;

// Reused for every frame parsed on this thread; dispatch copies what outlives the call.
thread_local v1::ClientFrame t_frame;

Error err(Errc code, std::string message) { return make_error(code, std::move(message)); }

}  // namespace

Session::~Session() { on_closed(); }

void Session::on_closed() {
  if (phase_ == Phase::kAuthenticated) hub_.detach(device_, this);
  phase_ = Phase::kClosed;
  streams_.clear();
  streams_.shrink_to_fit();
}

void Session::respond(const v1::Response& response) {
  connection_.send(response_frame(response), FrameKind::kReply);
}

void Session::fail(uint64_t request_id, const Error& error) {
  connection_.send(error_frame(request_id, error), FrameKind::kReply);
}

void Session::on_frame_too_large(uint64_t request_id) {
  fail(request_id,
       err(Errc::kFrameTooLarge, "the frame is over the limit of " +
                                     std::to_string(hub_.limits().max_frame_bytes) + " bytes"));
}

void Session::on_text_frame(std::string_view bytes) {
  fail(leading_request_id(bytes),
       err(Errc::kMalformedFrame, "frames must be binary WebSocket messages"));
}

void Session::on_frame(std::string_view bytes) {
  if (phase_ == Phase::kClosed) return;
  v1::ClientFrame& frame = t_frame;
  frame.Clear();
  if (!frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return fail(leading_request_id(bytes),
                err(Errc::kMalformedFrame, "the frame is not a valid ClientFrame"));
  }
  const uint64_t id = frame.request_id();
  if (frame.request_case() == Rc::REQUEST_NOT_SET) {
    return fail(id, err(Errc::kUnknownOperation, "unknown or missing request kind"));
  }
  if (auto path = wire::first_unknown_field(frame); !path.empty()) {
    return fail(id, err(Errc::kUnknownField, "unknown field " + path));
  }
  if (hub_.shutting_down()) {
    Error e = err(Errc::kShuttingDown, "the server is stopping");
    e.retry_after_ms = 1000;
    return fail(id, e);
  }
  dispatch(frame);
}

bool Session::check_phase(uint64_t id, Rc kind) {
  const bool auth_step =
      kind == Rc::kRegister || kind == Rc::kAuthenticate || kind == Rc::kGetChallenge;
  // Resolving a contact link is allowed before authentication: the visitor's page names the helper
  // before the visitor picks a pseudonym. A new device asks to join its account before it can
  // authenticate, and follows its request from the same connection.
  const bool either = kind == Rc::kResolveContactLink || kind == Rc::kPostPairingNonce ||
                      kind == Rc::kGetDeviceRequest;
  if (either && (phase_ == Phase::kHello || phase_ == Phase::kAuthenticated)) return true;
  const bool anonymous = kind == Rc::kRequestDevice;
  if (anonymous && phase_ == Phase::kHello) return true;
  if (kind == Rc::kHello) {
    if (phase_ == Phase::kNew) return true;
    fail(id, err(Errc::kInvalidArgument, "hello was already done on this connection"));
    return false;
  }
  switch (phase_) {
    case Phase::kNew:
      fail(id, err(Errc::kHelloRequired, "send hello first"));
      return false;
    case Phase::kHello:
      if (auth_step) return true;
      fail(id, err(Errc::kNotAuthenticated, "authenticate first"));
      return false;
    case Phase::kAuthenticating:
      fail(id, err(auth_step ? Errc::kChallengeUsed : Errc::kNotAuthenticated,
                   "an authentication is in progress"));
      return false;
    case Phase::kAuthenticated:
      if (!auth_step && !anonymous) return true;
      fail(id, err(Errc::kAlreadyAuthenticated, "this connection is already authenticated"));
      return false;
    case Phase::kClosed:
      return false;
  }
  return false;
}

void Session::dispatch(const v1::ClientFrame& frame) {
  const uint64_t id = frame.request_id();
  if (!check_phase(id, frame.request_case())) return;
  switch (frame.request_case()) {
    case Rc::kHello:
      return on_hello(id, frame.hello());
    case Rc::kGetChallenge:
      return on_get_challenge(id);
    case Rc::kRegister:
      return on_register(id, frame.register_());
    case Rc::kAuthenticate:
      return on_authenticate(id, frame.authenticate());
    case Rc::kResolveContactLink:
      return on_resolve_contact_link(id, frame.resolve_contact_link());
    case Rc::kRequestDevice:
    case Rc::kPostPairingNonce:
    case Rc::kGetDeviceRequest:
      return on_device_request(id, frame);
    default:
      return on_request(id, frame);
  }
}

std::string Session::new_challenge() {
  challenge_ = std::make_unique<std::string>(kChallengeBytes, '\0');
  randombytes_buf(challenge_->data(), challenge_->size());
  return *challenge_;
}

std::string Session::transcript() const {
  return wire::auth_transcript(hub_.domain().instance_id(),
                               challenge_ ? *challenge_ : std::string(), wire::kProtocolVersion);
}

void Session::on_hello(uint64_t id, const v1::Hello& hello) {
  if (hello.protocol_version() != v1::PROTOCOL_VERSION_1) {
    return fail(id, err(Errc::kUnsupportedVersion, "this server speaks protocol version 1"));
  }
  if (hello.client_name().size() > kMaxClientName) {
    return fail(id, err(Errc::kInvalidArgument, "client_name is over 64 bytes"));
  }
  phase_ = Phase::kHello;
  const auto& config = hub_.domain().config();
  v1::Response response;
  response.set_request_id(id);
  auto* r = response.mutable_hello();
  r->set_protocol_version(v1::PROTOCOL_VERSION_1);
  r->set_instance_id(hub_.domain().instance_id());
  r->set_instance_name(config.instance_name);
  r->set_registration(static_cast<v1::RegistrationPolicy>(config.registration));
  r->set_challenge(new_challenge());
  r->set_contact_link_registration(config.contact_link_registration);
  r->set_push_public_key(hub_.push().public_key);
  if (const auto& a = config.association; !a.name.empty()) {
    auto* out = r->mutable_association();
    out->set_name(a.name);
    out->set_page(a.page);
    out->set_answer_times(a.answer_times);
    for (const auto& c : a.contacts) {
      auto* contact = out->add_contacts();
      contact->set_name(c.name);
      contact->set_details(c.details);
      contact->set_phone(c.phone);
      contact->set_sms(c.sms);
      contact->set_url(c.url);
    }
  }
  auto* limits = r->mutable_limits();
  limits->set_max_frame_bytes(hub_.limits().max_frame_bytes);
  limits->set_max_payload_bytes(config.max_payload_bytes);
  limits->set_max_key_packages(config.max_key_packages);
  limits->set_max_devices_per_account(config.max_devices_per_account);
  limits->set_max_conversation_devices(config.max_conversation_devices);
  limits->set_min_handle_chars(3);
  limits->set_max_handle_chars(32);
  limits->set_idle_timeout_s(hub_.limits().idle_timeout_s);
  respond(response);
}

void Session::on_get_challenge(uint64_t id) {
  v1::Response response;
  response.set_request_id(id);
  response.mutable_challenge()->set_challenge(new_challenge());
  respond(response);
}

void Session::on_register(uint64_t id, const v1::Register& request) {
  if (auto limited = hub_.limit(Limited::kRegistration, peer_.key())) return fail(id, *limited);
  if (!challenge_) {
    return fail(id, err(Errc::kChallengeUsed, "the challenge was used: ask for a new one"));
  }
  const std::string t = transcript();
  challenge_.reset();  // Single use, whatever the outcome.
  phase_ = Phase::kAuthenticating;
  ++inflight_;
  hub_.domain().identity().register_account(
      request.handle(), request.device_public_key(), request.signature(), t,
      {request.registration_code(), request.contact_token()},
      request.has_link() ? &request.link() : nullptr,
      [this, life = connection_.life(), id](Result<domain::AuthInfo> result) {
        const auto alive = life.lock();
        if (!alive || phase_ == Phase::kClosed) return;
        --inflight_;
        if (!result) {
          phase_ = Phase::kHello;  // It may ask for a new challenge and try again.
          return fail(id, result.error());
        }
        v1::Response response;
        response.set_request_id(id);
        fill_auth(*result, *response.mutable_auth());
        respond(response);
        log::info("account.registered", {{"device", result->device_id}});
        on_authenticated(*result);
      });
}

void Session::on_authenticate(uint64_t id, const v1::Authenticate& request) {
  if (auto limited = hub_.limit(Limited::kAuthentication, peer_.key())) return fail(id, *limited);
  if (!challenge_) {
    return fail(id, err(Errc::kChallengeUsed, "the challenge was used: ask for a new one"));
  }
  const std::string t = transcript();
  challenge_.reset();  // Single use, whatever the outcome.
  auto result =
      hub_.domain().identity().authenticate(request.device_public_key(), request.signature(), t);
  if (!result) {
    log::info("auth.failed", {});
    return fail(id, result.error());
  }
  v1::Response response;
  response.set_request_id(id);
  fill_auth(*result, *response.mutable_auth());
  respond(response);
  on_authenticated(*result);
}

void Session::on_authenticated(const domain::AuthInfo& info) {
  phase_ = Phase::kAuthenticated;
  device_ = info.device_id;
  account_ = info.account_id;
  hub_.attach(device_, this);
  for (const auto& start : hub_.domain().conversations().streams(device_)) {
    streams_.push_back(Stream{start.conv, start.cursor, start.readable_upto, false});
  }
  push_waiting();
  pump_catchup();
}

// ---- Streams
// -------------------------------------------------------------------------------------

Session::Stream* Session::stream(const ConvId& conv) {
  for (auto& s : streams_) {
    if (s.conv == conv) return &s;
  }
  return nullptr;
}

void Session::deliver_live(const ConvId& conv, uint64_t seq, const SharedFrame& frame) {
  if (phase_ != Phase::kAuthenticated) return;
  Stream* s = stream(conv);
  if (!s) {
    // A conversation this device just joined: its stream starts from storage (the Welcome).
    streams_.push_back(Stream{conv, 0, 0, false});
    return pump_catchup();
  }
  if (!s->live || seq <= s->delivered) return;  // Catch-up will send it, or already did.
  if (seq != s->delivered + 1) {
    s->live = false;  // A gap: fill it from storage.
    return pump_catchup();
  }
  if (connection_.queued_bytes() + frame->size() > connection_.queue_limit()) {
    // A burst bigger than the queue: read the rest back from storage as the queue drains, rather
    // than hold it in memory. A reader that stops reading altogether is dropped by the transport
    // when its writes stall.
    s->live = false;
    return;
  }
  if (connection_.send(frame, FrameKind::kDelivery)) s->delivered = seq;
}

void Session::own_entry(const ConvId& conv, uint64_t seq) {
  Stream* s = stream(conv);
  if (!s) {
    streams_.push_back(Stream{conv, 0, 0, false});
    return pump_catchup();
  }
  if (s->live && seq == s->delivered + 1) {
    s->delivered = seq;  // The sender has it already: not sent back.
  } else if (s->live && seq > s->delivered) {
    s->live = false;
    pump_catchup();
  }
}

void Session::push_event(const SharedFrame& frame) {
  if (phase_ == Phase::kAuthenticated) connection_.send(frame, FrameKind::kReply);
}

void Session::on_drained() { pump_catchup(); }

// Catch-up is paced by the connection's queue: a slice is read only when the queue is under a
// quarter of its limit, and a slice never holds more than what fits under half of it (a single
// entry excepted), so reading back a long history never overflows the queue.
size_t Session::catchup_low_water() const {
  return std::min(hub_.limits().catchup_low_water, connection_.queue_limit() / 4);
}

void Session::pump_catchup() {
  if (pumping_ || phase_ != Phase::kAuthenticated) return;
  pumping_ = true;  // Sending may re-enter through on_drained.
  while (connection_.queued_bytes() < catchup_low_water()) {
    auto it =
        std::find_if(streams_.begin(), streams_.end(), [](const Stream& s) { return !s.live; });
    if (it == streams_.end() || !catch_up(*it)) break;
  }
  pumping_ = false;
}

bool Session::catch_up(Stream& s) {
  auto& conversations = hub_.domain().conversations();
  const auto& limits = hub_.limits();
  const size_t room = connection_.queue_limit() / 2 -
                      std::min(connection_.queue_limit() / 2, connection_.queued_bytes());
  auto entries = conversations.read(device_, s.conv, s.delivered, limits.catchup_entries,
                                    std::clamp<size_t>(room, 1, limits.catchup_bytes));
  if (!entries) {
    // No longer readable (it left and acknowledged everything): the stream ends.
    const ConvId conv = s.conv;
    std::erase_if(streams_, [&](const Stream& x) { return x.conv == conv; });
    return true;
  }
  if (entries->empty()) {
    s.live = true;  // Reads stop at the last durable entry: from here on the Hub delivers.
    return true;
  }
  for (const auto& e : *entries) {
    auto frame = delivery_frame(s.conv, e.seq, e.record, is_welcome_for(e.record, device_));
    if (!connection_.send(std::move(frame), FrameKind::kCatchUp)) return false;
    s.delivered = e.seq;
    ++hub_.stats().catchup_deliveries;
  }
  return true;
}

}  // namespace cercle::api
