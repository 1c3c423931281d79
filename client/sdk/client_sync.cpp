// Client: incoming entries (in order, each once), sending text, saving conversation state.
#include "cercle/mls/inspect.h"
#include "cercle/mls/key_package.h"
#include "client/sdk/client_internal.h"
#include "client/sdk/client_verify.h"

namespace cercle::client {

namespace {

constexpr std::string_view kKeyPackagePrefix = "kp/";
constexpr std::string_view kLastResort = "kp-last";
constexpr int64_t kPruneEveryMs = 60'000;

std::string history_log(const Conv& conv) { return "history/" + to_hex(conv.id); }

}  // namespace

Status Client::Impl::save(Conv& conv) {
  local::Conversation r;
  r.set_id(conv.id);
  r.set_kind(conv.kind);
  if (conv.state) r.set_mls_state(to_string(conv.state->serialize()));
  if (conv.pending) r.set_pending_state(to_string(conv.pending->serialize()));
  r.set_pending_message(conv.pending_message);
  r.set_pending_seq(conv.pending_seq);
  r.set_last_seq(conv.last_seq);
  for (uint64_t s : conv.own_seqs) r.add_own_seqs(s);
  r.set_left(conv.left);
  r.set_broken(conv.broken);
  for (const auto& [nonce, i] : conv.invitations) *r.add_invitations() = i;
  for (const auto& h : conv.join_requests) r.add_join_requests(h);
  r.set_profile(conv.profile);
  *r.mutable_seance() = conv.seance;
  if (auto s = store->put("conv/" + to_hex(conv.id), r.SerializeAsString()); !s) return s;
  conv.dirty = false;
  return Ok{};
}

Status Client::Impl::save_dirty() {
  for (auto& [id, conv] : convs) {
    if (!conv.dirty) continue;
    if (auto s = save(conv); !s) return s;
  }
  return Ok{};
}

namespace {

Event conv_event(Event::Kind kind, const Conv& conv) {
  Event e;
  e.kind = kind;
  e.conversation = to_hex(conv.id);
  return e;
}

}  // namespace

void Client::Impl::warn(const Conv& conv, std::string detail) {
  Event e = conv_event(Event::Kind::kWarning, conv);
  e.detail = std::move(detail);
  events.push_back(std::move(e));
}

std::string Client::Impl::sender_name(const Conv& conv, uint32_t leaf) const {
  for (const auto& m : conv.state->members()) {
    if (m.leaf_index == leaf) return to_string(m.credential.identity);
  }
  return "?";
}

// Takes a delivery into its conversation's queue; entries are applied strictly in sequence.
void Client::Impl::accept(const v1::Delivery& d) {
  auto it = convs.find(d.conversation_id());
  if (it == convs.end()) {
    if (d.kind() != v1::WELCOME) return;  // Not ours (or forgotten): nothing to do with it.
    Conv c;
    c.id = d.conversation_id();
    c.last_seq = d.seq() - 1;  // A device reads from its Welcome on.
    it = convs.emplace(c.id, std::move(c)).first;
  }
  Conv& conv = it->second;
  if (d.server_time_ms() != 0) saw_server_time(d.server_time_ms());
  if (d.kind() == v1::WELCOME && (conv.left || !conv.state) && d.seq() > conv.last_seq) {
    // Added again after leaving (or after a Welcome we could not use): a fresh start.
    const std::string id = conv.id;
    conv = Conv{};
    conv.id = id;
    conv.last_seq = d.seq() - 1;
  }
  if (d.seq() <= conv.last_seq || conv.left) return;  // Already processed: a duplicate.
  if (d.kind() == v1::ERASED) {
    // Stands for erased_from..seq: it is next once everything before erased_from is processed.
    conv.waiting.emplace(std::max(d.erased_from(), conv.last_seq + 1), d);
  } else {
    conv.waiting.emplace(d.seq(), d);
  }
  drain(conv);
}

void Client::Impl::drain(Conv& conv) {
  for (;;) {
    const uint64_t next = conv.last_seq + 1;
    if (conv.pending && conv.pending_seq == next) {
      adopt_pending(conv);  // Our own commit, which the server does not send back live.
      continue;
    }
    if (conv.own_seqs.erase(next)) {  // Our own message: already in the history.
      conv.last_seq = next;
      conv.dirty = true;
      continue;
    }
    auto it = conv.waiting.find(next);
    if (it == conv.waiting.end()) return;
    v1::Delivery d = std::move(it->second);
    conv.waiting.erase(it);
    conv.last_seq = next;
    conv.dirty = true;
    if (d.kind() == v1::ERASED) {
      conv.last_seq = std::max(next, d.seq());
      std::erase_if(conv.own_seqs, [&](uint64_t s) { return s <= conv.last_seq; });
      continue;
    }
    if (!conv.broken && !conv.left) apply(conv, d);
  }
}

void Client::Impl::adopt_pending(Conv& conv) {
  conv.state = std::move(conv.pending);
  conv.pending.reset();
  conv.pending_message.clear();
  conv.last_seq = conv.pending_seq;
  conv.pending_seq = 0;
  conv.dirty = true;
  events.push_back(conv_event(Event::Kind::kMembersChanged, conv));
  note_device_changes(*this, conv);
}

void Client::Impl::apply(Conv& conv, const v1::Delivery& d) {
  const bool own = d.sender_device() == identity->device_id();
  switch (d.kind()) {
    case v1::WELCOME:
      return apply_welcome(conv, d);
    case v1::COMMIT:
      if (own) {
        // Read back after a restart: our commit was accepted; its state was saved as pending.
        if (conv.pending && conv.pending_message == d.payload()) {
          conv.pending_seq = d.seq();
          conv.last_seq = d.seq() - 1;
          adopt_pending(conv);
        }
        return;
      }
      return apply_handshake(conv, d);
    case v1::PROPOSAL:
      if (!own) apply_handshake(conv, d);
      return;
    case v1::APPLICATION:
      if (!own) apply_application(conv, d);
      return;
    case v1::EVENT:
      return apply_event(conv, d);
    default:
      return;
  }
}

void Client::Impl::apply_welcome(Conv& conv, const v1::Delivery& d) {
  auto targets = mls::inspect::welcome_targets(to_bytes(d.payload()));
  if (!targets) return warn(conv, "an invitation could not be read");
  for (const auto& ref : *targets) {
    const std::string name = std::string(kKeyPackagePrefix) + to_hex(to_string(ref));
    std::optional<std::string> raw;
    for (const std::string& candidate : {name, std::string(kLastResort)}) {
      auto got = store->get(candidate);
      if (got && *got) {
        auto bundle = mls::KeyPackageBundle::deserialize(to_bytes(**got));
        auto bundle_ref = bundle ? bundle->ref() : mls::Result<mls::Bytes>(mls::Error{});
        if (bundle && bundle_ref && *bundle_ref == ref) {
          auto joined = mls::State::join(to_bytes(d.payload()), *bundle);
          if (!joined) return warn(conv, "an invitation was refused: " + joined.error().message);
          if (auto why = check_welcome(*joined); !why.empty()) {
            return warn(conv,
                        "joining a group was refused because it breaks the group's rules: " + why);
          }
          conv.state = std::move(*joined);
          conv.kind = 0;  // Unknown until asked (see learn_kinds): a Welcome does not say.
          conv.dirty = true;
          if (candidate == name) (void)store->remove(name);  // One-time keys go once used.
          events.push_back(conv_event(Event::Kind::kJoined, conv));
          note_device_changes(*this, conv);
          return;
        }
      }
    }
  }
  warn(conv, "an invitation was for a key this device no longer has");
}

// A handshake entry must be what its kind says, in the clear: the relay read it as that (a
// PublicMessage proposal or commit) before accepting it, so anything else did not come through it.
static bool framed_as(const v1::Delivery& d) {
  auto info = mls::inspect::public_message_info(to_bytes(d.payload()));
  if (!info) return false;
  return d.kind() == v1::COMMIT ? info->content_type == mls::ContentType::kCommit
                                : info->content_type == mls::ContentType::kProposal;
}

// An entry of a later epoch than ours that we could not read: the group took a change we could not
// follow. Marks the conversation broken and says so.
bool Client::Impl::moved_on_without_us(Conv& conv, const v1::Delivery& d) {
  auto message = mls::inspect::decode_message(to_bytes(d.payload()));
  if (!message) return false;
  uint64_t epoch = 0;
  if (const auto* pub = std::get_if<mls::PublicMessage>(&message->body)) {
    epoch = pub->content.epoch;
  } else if (const auto* priv = std::get_if<mls::PrivateMessage>(&message->body)) {
    epoch = priv->epoch;
  }
  if (epoch <= conv.state->epoch()) return false;
  conv.broken = true;
  warn(conv, "this device can no longer follow the group: it missed a change");
  return true;
}

void Client::Impl::apply_handshake(Conv& conv, const v1::Delivery& d) {
  if (!conv.state) return;
  if (!framed_as(d)) {
    return warn(conv, "a change to the group that the server did not read was dropped");
  }
  auto out = conv.state->process(to_bytes(d.payload()));
  if (!out) {
    // Dropped, and the group goes on: a proposal nobody can commit without us noticing, a commit
    // that was forged or broken. Only a later entry of a newer epoch shows we were left behind.
    if (moved_on_without_us(conv, d)) return;
    if (d.kind() == v1::PROPOSAL) {
      return warn(conv, "a proposed change to the group was dropped: " + out.error().message);
    }
    return warn(conv, "a change to the group was refused: " + out.error().message);
  }
  if (out->kind == mls::ContentKind::kProposal) {
    return adopt_proposal(conv, std::move(*out));
  }
  // The group's rules decide who may change it: a commit that breaks them is refused here even
  // if the server accepted it. The group stays as it was, and the user is told.
  if (auto why = verify_commit(conv, *out, d.server_time_ms()); !why.empty()) {
    return warn(conv,
                "a change to the group was refused because it breaks the group's rules: " + why);
  }
  conv.leaving.clear();  // Proposals do not outlive their epoch.
  conv.pending.reset();  // Any commit of ours built on the old epoch lost the race.
  conv.pending_message.clear();
  conv.pending_seq = 0;
  if (out->removed) {
    conv.left = true;
    conv.state.reset();
    events.push_back(conv_event(Event::Kind::kLeft, conv));
    return;
  }
  events.push_back(conv_event(Event::Kind::kMembersChanged, conv));
  conv.state = std::move(out->state);
  note_device_changes(*this, conv);
}

// A proposal joins the pending ones only if the group's rules allow it: this client then never
// commits one that breaks them (it would carry it by reference in its next commit).
void Client::Impl::adopt_proposal(Conv& conv, mls::ProcessOutput out) {
  const auto& pending = out.state.pending_proposals();
  if (pending.empty()) return;
  const mls::CachedProposal& p = pending.back();
  if (auto why = proposal_refusal(*conv.state, p.proposal, p.sender); !why.empty()) {
    return warn(conv, "a proposed change to the group was refused: " + why);
  }
  const auto* remove = std::get_if<mls::RemoveProposal>(&p.proposal.value);
  if (remove && remove->removed == p.sender) conv.leaving.insert(p.sender);
  conv.state = std::move(out.state);
}

// Whoever added us must have been allowed to: a facilitator, or, in a group open to peers, any
// member adding a peer. (The commit itself went to the members, who check it; a relay could
// otherwise hand a forged Welcome to one person and seat them in a copy of the group.)
std::string Client::Impl::check_welcome(const mls::State& joined) const {
  const auto rules = group_policy(joined);
  if (!rules) return {};  // A direct conversation.
  const auto signer = joined.joined_from();
  if (!signer) return "the invitation does not say who made it";
  std::string handle;
  for (const auto& m : joined.members()) {
    if (m.leaf_index == *signer) handle = to_string(m.credential.identity);
  }
  const bool peer = member_kind(joined, joined.own_leaf()) == policy::Kind::kPeer;
  if (!peer) {
    // A professional comes in only by an invitation they accepted, here, on their own device.
    auto accepted = store->get(std::string(kAcceptedPrefix) + to_hex(to_string(joined.group_id())));
    if (!accepted || !*accepted) return "you did not accept an invitation to this group";
  }
  if (policy::role_of(*rules, handle) == v1::FACILITATOR) return {};
  if (rules->join_rule() == v1::OPEN_TO_PEERS && peer) return {};
  return "only a facilitator adds members to this group";
}

std::string Client::Impl::verify_commit(Conv& conv, const mls::ProcessOutput& out,
                                        int64_t time_ms) {
  if (out.removed) {
    // We cannot see the group after it: check only that removing us was allowed.
    const auto rules = group_policy(*conv.state);
    if (!rules || conv.leaving.contains(conv.state->own_leaf())) return {};
    for (const auto& m : conv.state->members()) {
      if (m.leaf_index != out.sender) continue;
      const std::string handle = to_string(m.credential.identity);
      return policy::role_of(*rules, handle) == v1::FACILITATOR
                 ? std::string()
                 : "only a facilitator removes others";
    }
    return "the commit comes from no member";
  }
  std::vector<std::string> used;
  auto why = check_commit(conv, *conv.state, out, time_ms, used);
  if (!why.empty()) return why;
  for (const auto& nonce : used) conv.invitations[nonce].set_used(true);
  return {};
}

void Client::Impl::apply_application(Conv& conv, const v1::Delivery& d) {
  if (!conv.state) return;
  auto out = conv.state->process(to_bytes(d.payload()));
  if (!out || out->kind != mls::ContentKind::kApplication) {
    if (moved_on_without_us(conv, d)) return;
    return warn(conv, "a message could not be decrypted");
  }
  conv.state = std::move(out->state);
  if (!out->application_data.empty() && out->application_data.front() == 0) {
    return apply_app_content(conv, out->application_data);
  }
  Message m{to_hex(conv.id),
            d.seq(),
            sender_name(conv, out->sender),
            d.server_time_ms(),
            to_string(out->application_data),
            false,
            member_kind(*conv.state, out->sender) == policy::Kind::kProfessional};
  local::HistoryEntry e;
  e.set_seq(m.seq);
  e.set_sender(m.sender);
  e.set_time_ms(m.time_ms);
  e.set_text(m.text);
  e.set_professional(m.professional);
  if (auto s = store->append(history_log(conv), e.SerializeAsString()); !s) {
    warn(conv, "a message could not be saved on this device");
  }
  Event event = conv_event(Event::Kind::kMessage, conv);
  event.message = std::move(m);
  events.push_back(std::move(event));
}

Status Client::Impl::acknowledge() {
  for (auto& [id, conv] : convs) {
    if (conv.last_seq <= conv.acked) continue;
    v1::ClientFrame ack;
    ack.mutable_ack()->set_conversation_id(id);
    ack.mutable_ack()->set_seq(conv.last_seq);
    auto r = conn->call(ack);
    // A conversation the server does not let us read (a Welcome we refused, from a server that
    // lied): nothing to acknowledge there, and no reason to stop acknowledging the others.
    if (!r && r.error().code != Errc::kServer) return std::move(r).error();
    conv.acked = conv.last_seq;
  }
  return Ok{};
}

// Applies every queued delivery, saves what changed (before acknowledging: an entry is never
// acknowledged before its effect is on disk), then acknowledges.
Status Client::Impl::process_incoming() {
  auto& queue = conn->deliveries();
  while (!queue.empty()) {
    v1::Delivery d = std::move(queue.front());
    queue.pop_front();
    accept(d);
  }
  // Taken out first: handling one may make calls, during which more arrive.
  std::deque<v1::Event> server_events;
  server_events.swap(conn->events());
  for (const auto& e : server_events) on_server_event(e);
  retry_waiting_reports();
  learn_kinds();
  for (auto& [id, conv] : convs) erase_due_seances(conv);
  if (auto s = save_dirty(); !s) return s;
  for (auto& [id, conv] : convs) commit_pending_self_removals(conv);
  for (auto& [id, conv] : convs) act_on_requests(conv);
  if (server_now_ms() - last_prune_ms > kPruneEveryMs) {
    last_prune_ms = server_now_ms();
    for (const auto& [id, conv] : convs) prune_expired(conv);
  }
  if (auto s = save_dirty(); !s) return s;
  return acknowledge();
}

// Asks the server whether conversations joined from a Welcome are direct or groups. Only a label:
// who is in the conversation comes from MLS.
void Client::Impl::learn_kinds() {
  for (auto& [id, conv] : convs) {
    if (conv.kind != 0 || !conn || !conv.state) continue;
    v1::ClientFrame get;
    get.mutable_get_conversation()->set_conversation_id(id);
    auto r = conn->call(get);
    if (!r) continue;  // Asked again next time.
    conv.kind = r->conversation().kind();
    conv.dirty = true;
  }
}

Status Client::Impl::wait_for_epoch(Conv& conv, uint64_t epoch) {
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  while (conv.state && conv.state->epoch() < epoch && !conv.broken && !conv.left) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return make_error(Errc::kNetwork, "the group's latest change did not arrive");
    if (auto s = conn->pump(std::min(left, std::chrono::milliseconds(200))); !s) return s;
    if (auto s = process_incoming(); !s) return s;
  }
  if (conv.broken || conv.left || !conv.state) {
    return make_error(Errc::kRefused, "this conversation cannot be written to any more");
  }
  return Ok{};
}

Result<v1::SendResult> Client::Impl::send_application(Conv& conv, const mls::Bytes& plaintext) {
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    if (!conv.state || conv.left || conv.broken) {
      return make_error(Errc::kRefused, "this conversation cannot be written to any more");
    }
    auto sealed = conv.state->encrypt(plaintext);
    if (!sealed) return make_error(Errc::kProtocol, sealed.error().message);
    // The ratchet moved: save before sending, so that a crash never reuses a key.
    conv.state = std::move(sealed->second);
    if (auto s = save(conv); !s) return std::move(s).error();
    v1::ClientFrame f;
    f.mutable_send()->set_conversation_id(conv.id);
    f.mutable_send()->set_epoch(conv.state->epoch());
    f.mutable_send()->set_payload(to_string(sealed->first));
    auto r = conn->call(f);
    if (r) {
      saw_server_time(r->send().server_time_ms());
      if (r->send().seq() > conv.last_seq) conv.own_seqs.insert(r->send().seq());
      return r->send();
    }
    if (r.error().server_code != v1::STALE_EPOCH) return std::move(r).error();
    if (auto s = wait_for_epoch(conv, r.error().current_epoch); !s) return std::move(s).error();
  }
  return make_error(Errc::kServer, "the group kept changing; try again");
}

Result<uint64_t> Client::send_text(const std::string& conversation, std::string_view text) {
  auto& impl = *impl_;
  // A first byte 0x00 marks typed content (0x00 || AppContent): text never starts with it.
  if (!text.empty() && text.front() == '\0') {
    return make_error(Errc::kInvalidArgument, "a message cannot start with the character U+0000");
  }
  if (auto s = impl.require_connection(); !s) return std::move(s).error();
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  Conv& conv = **found;
  if (auto s = impl.process_incoming(); !s) return std::move(s).error();
  auto sent = impl.send_application(conv, to_bytes(text));
  if (!sent) return std::move(sent).error();
  local::HistoryEntry e;
  e.set_seq(sent->seq());
  e.set_sender(impl.identity->handle());
  e.set_time_ms(sent->server_time_ms());
  e.set_text(std::string(text));
  e.set_own(true);
  if (auto s = impl.store->append(history_log(conv), e.SerializeAsString()); !s) {
    return std::move(s).error();
  }
  impl.drain(conv);
  if (auto s = impl.save(conv); !s) return std::move(s).error();
  return sent->seq();
}

Result<std::vector<Event>> Client::poll(std::chrono::milliseconds timeout) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return std::move(s).error();
  if (impl.conn->deliveries().empty() && impl.events.empty()) {
    if (auto s = impl.conn->pump(timeout); !s) return std::move(s).error();
  }
  if (auto s = impl.process_incoming(); !s) return std::move(s).error();
  std::vector<Event> out;
  out.swap(impl.events);
  return out;
}

}  // namespace cercle::client
