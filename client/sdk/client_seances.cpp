// Client: séances (a groupe de parole's meetings). Every séance event the relay delivers is checked
// by policy::seance::apply with this device's own facts (the leaf keys of its ratchet tree, the
// rules in force, the delivery's seq): a refused one is a warning and changes nothing. The state is
// kept in the local store, so a relay cannot rewind it after a restart. Actions sign an event with
// this device's leaf key and post it, once more after SEANCE_CONFLICT (as web/src/core/seances.ts).
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "cercle/policy/seance.h"
#include "client/sdk/client_internal.h"

namespace cercle::client {

namespace seance = policy::seance;

namespace {

seance::SeanceState state_of(const local::SeanceRecord& r) {
  seance::SeanceState s;
  s.head = r.head();
  s.open_id = r.open_id();
  s.open_seq = r.open_seq();
  s.floor = r.floor();
  s.hands.insert(r.hands().begin(), r.hands().end());
  s.confirmed.insert(r.confirmed().begin(), r.confirmed().end());
  return s;
}

local::SeanceRecord record_of(const seance::SeanceState& s, int64_t opened_ms) {
  local::SeanceRecord r;
  r.set_head(s.head);
  r.set_open_id(s.open_id);
  r.set_open_seq(s.open_seq);
  r.set_floor(s.floor);
  for (const auto& h : s.hands) r.add_hands(h);
  for (const auto& h : s.confirmed) r.add_confirmed(h);
  r.set_opened_ms(s.open() ? opened_ms : 0);
  return r;
}

seance::Facts facts_of(const Conv& conv, uint64_t seq) {
  seance::Facts f;
  f.conversation_id = conv.id;
  f.policy = group_policy(*conv.state);
  for (const auto& m : conv.state->members()) {
    f.members.push_back(policy::Member{to_string(m.credential.identity), m.leaf_index,
                                       member_kind(*conv.state, m.leaf_index),
                                       to_string(m.signature_key)});
  }
  f.seq = seq;
  return f;
}

// The word an event kind is shown by (Event::detail), and whom it names (floor, hand lowered).
std::string kind_word(const v1::SeanceEvent& e, std::string& named) {
  switch (e.kind_case()) {
    case v1::SeanceEvent::kOpened:
      return "opened";
    case v1::SeanceEvent::kClosed:
      return "closed";
    case v1::SeanceEvent::kFloorGiven:
      named = e.floor_given();
      return "floor_given";
    case v1::SeanceEvent::kFloorBack:
      return "floor_back";
    case v1::SeanceEvent::kHandRaised:
      return "hand_raised";
    case v1::SeanceEvent::kHandLowered:
      named = e.hand_lowered();
      return "hand_lowered";
    case v1::SeanceEvent::kCharterConfirmed:
      return "charter_confirmed";
    default:
      return "";
  }
}

// Fills the event's kind; `rules` are the group's rules in force (for the charter's hash).
using Fill = std::function<void(v1::SeanceEvent&, const v1::GroupPolicy& rules)>;

}  // namespace

void Client::Impl::apply_seance(Conv& conv, const v1::GroupEvent& e, const v1::Delivery& d) {
  auto after = seance::apply(state_of(conv.seance), e.seance(), facts_of(conv, d.seq()));
  if (!after) {
    return warn(conv, "a séance event was ignored: " + seance::describe(after.error()));
  }
  v1::SeanceEvent event;
  (void)event.ParseFromString(e.seance().event());  // apply() read it already.
  const bool opened = event.has_opened();
  auto erasures = std::move(*conv.seance.mutable_erasures());
  const auto rules = group_policy(*conv.state);
  const uint64_t open_seq = conv.seance.open_seq();
  if (event.has_closed() && rules && rules->seances().erase_after() && open_seq + 1 < d.seq()) {
    auto* x = erasures.Add();  // Nothing kept: the séance's messages go at due time.
    x->set_from_seq(open_seq + 1);
    x->set_to_seq(d.seq() - 1);
    x->set_due_ms(d.server_time_ms() + int64_t{rules->seances().erase_delay_minutes()} * 60'000);
  }
  conv.seance = record_of(*after, opened ? d.server_time_ms() : conv.seance.opened_ms());
  *conv.seance.mutable_erasures() = std::move(erasures);
  conv.dirty = true;
  Event out;
  out.kind = Event::Kind::kSeance;
  out.conversation = to_hex(conv.id);
  out.by = event.author();
  out.seq = d.seq();
  out.detail = kind_word(event, out.message.sender);
  events.push_back(std::move(out));
}

void Client::Impl::erase_due_seances(Conv& conv) {
  if (conv.seance.erasures().empty()) return;
  const int64_t now = server_now_ms();
  auto* erasures = conv.seance.mutable_erasures();
  const auto due = [&](const local::SeanceErasure& x) { return x.due_ms() <= now; };
  if (std::none_of(erasures->begin(), erasures->end(), due)) return;
  const std::string name = "history/" + to_hex(conv.id);
  auto records = store->read_log(name);
  if (!records) return;  // Tried again on the next pass.
  std::vector<std::string> kept;
  for (auto& raw : *records) {
    local::HistoryEntry h;
    const bool erased = h.ParseFromString(raw) &&
                        std::any_of(erasures->begin(), erasures->end(), [&](const auto& x) {
                          return due(x) && h.seq() >= x.from_seq() && h.seq() <= x.to_seq();
                        });
    if (!erased) kept.push_back(std::move(raw));
  }
  if (kept.size() != records->size() && !store->rewrite_log(name, kept)) return;
  erasures->erase(std::remove_if(erasures->begin(), erasures->end(), due), erasures->end());
  conv.dirty = true;
}

namespace {

// Signs `fill`'s event on top of the séance state this device holds and posts it.
Status post_once(Client::Impl& impl, Conv& conv, const Fill& fill, std::string& hash) {
  const auto rules = group_policy(*conv.state);
  if (!rules) return make_error(Errc::kNotFound, "this conversation has no group rules");
  v1::SeanceEvent event;
  event.set_conversation_id(conv.id);
  event.set_previous(conv.seance.head());
  event.set_author(impl.identity->handle());
  event.set_time_ms(impl.server_now_ms());
  fill(event, *rules);
  if (event.has_opened()) {
    std::string id(seance::kSeanceIdBytes, '\0');
    randombytes_buf(id.data(), id.size());
    event.set_seance_id(id);
  } else {
    event.set_seance_id(conv.seance.open_id());
  }
  const auto& key = impl.identity->device_secret_key();
  const auto signed_event = seance::sign(event, reinterpret_cast<const unsigned char*>(key.data()));
  hash = seance::seance_hash(signed_event);
  v1::ClientFrame f;
  f.mutable_post_seance_event()->set_conversation_id(conv.id);
  f.mutable_post_seance_event()->set_signed_event(signed_event.SerializeAsString());
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  return Ok{};
}

// Reads what arrives until `done` holds (bounded by the client's timeout).
Status until(Client::Impl& impl, const std::function<bool()>& done, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + impl.options.timeout;
  for (;;) {
    if (auto s = impl.process_incoming(); !s) return s;
    if (done()) return Ok{};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return make_error(Errc::kNetwork, what);
    if (auto s = impl.conn->pump(std::min(left, std::chrono::milliseconds(200))); !s) return s;
  }
}

Status act(Client::Impl& impl, const std::string& conversation, const Fill& fill) {
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  Conv& conv = **found;
  if (!conv.state || conv.left) return make_error(Errc::kNotFound, "not in this group");
  if (auto s = impl.process_incoming(); !s) return s;
  const std::string head = conv.seance.head();
  std::string hash;
  auto posted = post_once(impl, conv, fill, hash);
  if (!posted && posted.error().server_code == v1::SEANCE_CONFLICT) {
    // Another event came first: read it (it is delivered), then sign anew on top of it.
    if (auto s = until(
            impl, [&] { return conv.seance.head() != head; },
            "the séance event that came first did not arrive");
        !s)
      return s;
    posted = post_once(impl, conv, fill, hash);
  }
  if (!posted) return posted;
  return until(
      impl, [&] { return conv.seance.head() == hash; },
      "the séance event did not come back in time");
}

}  // namespace

Status Client::open_seance(const std::string& conversation, uint32_t planned_minutes) {
  return act(*impl_, conversation, [&](v1::SeanceEvent& e, const v1::GroupPolicy& rules) {
    e.mutable_opened()->set_charter_hash(seance::charter_hash(rules.charter()));
    e.mutable_opened()->set_planned_minutes(planned_minutes);
  });
}

Status Client::close_seance(const std::string& conversation) {
  return act(*impl_, conversation,
             [](v1::SeanceEvent& e, const v1::GroupPolicy&) { e.mutable_closed(); });
}

Status Client::give_floor(const std::string& conversation, std::string_view handle) {
  return act(*impl_, conversation,
             [&](v1::SeanceEvent& e, const v1::GroupPolicy&) { e.set_floor_given(nfc(handle)); });
}

Status Client::take_floor_back(const std::string& conversation) {
  return act(*impl_, conversation,
             [](v1::SeanceEvent& e, const v1::GroupPolicy&) { e.mutable_floor_back(); });
}

Status Client::raise_hand(const std::string& conversation) {
  return act(*impl_, conversation,
             [](v1::SeanceEvent& e, const v1::GroupPolicy&) { e.mutable_hand_raised(); });
}

Status Client::lower_hand(const std::string& conversation, std::string_view handle) {
  return act(*impl_, conversation, [&](v1::SeanceEvent& e, const v1::GroupPolicy&) {
    e.set_hand_lowered(handle.empty() ? e.author() : nfc(handle));
  });
}

Status Client::confirm_charter(const std::string& conversation) {
  return act(*impl_, conversation, [](v1::SeanceEvent& e, const v1::GroupPolicy& rules) {
    e.set_charter_confirmed(seance::charter_hash(rules.charter()));
  });
}

Result<Seance> Client::seance(const std::string& conversation) const {
  const Conv* conv = impl_->lookup(conversation);
  if (!conv || !conv->state) return make_error(Errc::kNotFound, "no such conversation");
  const auto& r = conv->seance;
  Seance s;
  s.open = !r.open_id().empty();
  s.since_ms = r.opened_ms();
  s.floor = r.floor();
  s.hands.assign(r.hands().begin(), r.hands().end());
  s.confirmed.assign(r.confirmed().begin(), r.confirmed().end());
  return s;
}

}  // namespace cercle::client
