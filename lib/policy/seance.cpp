#include "cercle/policy/seance.h"

#include <sodium.h>

#include <algorithm>

namespace cercle::policy::seance {

namespace {

using Refusal = v1::SeanceRefusal;
using Verdict = base::Result<SeanceState, Refusal>;

std::string sha256(std::string_view bytes) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return out;
}

bool is_member(const Facts& facts, std::string_view handle) {
  return std::any_of(facts.members.begin(), facts.members.end(),
                     [&](const Member& m) { return m.handle == handle; });
}

bool verifies(std::string_view public_key, std::string_view message, std::string_view signature) {
  return public_key.size() == crypto_sign_PUBLICKEYBYTES && signature.size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(),
             reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

// Any of the author's devices may have signed it; a handle with no leaf is no member.
Refusal check_author(const Facts& facts, const v1::SignedSeanceEvent& s, std::string_view author) {
  if (!is_member(facts, author)) return v1::SEANCE_REFUSAL_NOT_A_MEMBER;
  const std::string t = transcript(s.event());
  for (const Member& m : facts.members) {
    if (m.handle == author && verifies(m.signature_key, t, s.signature())) {
      return v1::SEANCE_REFUSAL_UNSPECIFIED;
    }
  }
  return v1::SEANCE_REFUSAL_SIGNATURE;
}

// Who may post which kind: facilitators lead the séance; any member raises or lowers their own
// hand and confirms the charter.
bool needs_facilitator(const v1::SeanceEvent& e) {
  switch (e.kind_case()) {
    case v1::SeanceEvent::kHandRaised:
    case v1::SeanceEvent::kCharterConfirmed:
      return false;
    case v1::SeanceEvent::kHandLowered:
      return e.hand_lowered() != e.author();
    default:
      return true;
  }
}

// Where the event may come: `opened` outside a séance, everything else inside the open one.
Refusal check_moment(const SeanceState& state, const v1::SeanceEvent& e) {
  if (e.has_opened()) {
    return state.open() ? v1::SEANCE_REFUSAL_ALREADY_OPEN : v1::SEANCE_REFUSAL_UNSPECIFIED;
  }
  if (!state.open()) return v1::SEANCE_REFUSAL_NOT_OPEN;
  if (e.seance_id() != state.open_id) return v1::SEANCE_REFUSAL_OTHER_SEANCE;
  return v1::SEANCE_REFUSAL_UNSPECIFIED;
}

// The event's own content against the group: the floor goes to a member, a charter hash is the
// one of the charter in force.
Refusal check_content(const v1::SeanceEvent& e, const Facts& facts) {
  const std::string in_force = charter_hash(facts.policy->charter());
  if (e.has_opened() && e.opened().charter_hash() != in_force) return v1::SEANCE_REFUSAL_CHARTER;
  if (e.has_charter_confirmed() && e.charter_confirmed() != in_force) {
    return v1::SEANCE_REFUSAL_CHARTER;
  }
  if (e.kind_case() == v1::SeanceEvent::kFloorGiven && !is_member(facts, e.floor_given())) {
    return v1::SEANCE_REFUSAL_FLOOR_TO_NON_MEMBER;
  }
  return v1::SEANCE_REFUSAL_UNSPECIFIED;
}

SeanceState next_state(SeanceState s, const v1::SeanceEvent& e, const Facts& facts) {
  switch (e.kind_case()) {
    case v1::SeanceEvent::kOpened:
      s = SeanceState{};
      s.open_id = e.seance_id();
      s.open_seq = facts.seq;
      break;
    case v1::SeanceEvent::kClosed: {
      const uint64_t opened_at = s.open_seq;
      s = SeanceState{};
      s.open_seq = opened_at;
      break;
    }
    case v1::SeanceEvent::kFloorGiven:
      s.floor = e.floor_given();
      s.hands.erase(e.floor_given());
      break;
    case v1::SeanceEvent::kFloorBack:
      s.floor.clear();
      break;
    case v1::SeanceEvent::kHandRaised:
      s.hands.insert(e.author());
      break;
    case v1::SeanceEvent::kHandLowered:
      s.hands.erase(e.hand_lowered());
      break;
    case v1::SeanceEvent::kCharterConfirmed:
      s.confirmed.insert(e.author());
      break;
    default:
      break;
  }
  return s;
}

// An event says what it does; an opening names its séance; a lowered hand names whose.
bool readable(const v1::SeanceEvent& e) {
  switch (e.kind_case()) {
    case v1::SeanceEvent::KIND_NOT_SET:
      return false;
    case v1::SeanceEvent::kOpened:
      return e.seance_id().size() == kSeanceIdBytes;
    case v1::SeanceEvent::kHandLowered:
      return !e.hand_lowered().empty();
    default:
      return true;
  }
}

}  // namespace

Verdict apply(const SeanceState& state, const v1::SignedSeanceEvent& s, const Facts& facts) {
  v1::SeanceEvent e;
  if (!e.ParseFromString(s.event()) || !readable(e)) return v1::SEANCE_REFUSAL_UNREADABLE;
  if (e.conversation_id() != facts.conversation_id) return v1::SEANCE_REFUSAL_OTHER_GROUP;
  if (Refusal why = check_author(facts, s, e.author()); why != v1::SEANCE_REFUSAL_UNSPECIFIED) {
    return why;
  }
  if (e.previous() != state.head) return v1::SEANCE_REFUSAL_PREVIOUS;
  if (!facts.policy || !facts.policy->has_seances()) return v1::SEANCE_REFUSAL_NO_RULES;
  if (needs_facilitator(e) && role_of(*facts.policy, e.author()) != v1::FACILITATOR) {
    return v1::SEANCE_REFUSAL_ONLY_FACILITATOR;
  }
  if (Refusal why = check_moment(state, e); why != v1::SEANCE_REFUSAL_UNSPECIFIED) return why;
  if (Refusal why = check_content(e, facts); why != v1::SEANCE_REFUSAL_UNSPECIFIED) return why;
  SeanceState next = next_state(state, e, facts);
  next.head = seance_hash(s);
  return next;
}

Gate may_write(const SeanceState& state, const Facts& facts, std::string_view handle) {
  if (!facts.policy || !facts.policy->has_seances()) return Gate::kAllowed;
  if (role_of(*facts.policy, handle) == v1::FACILITATOR) return Gate::kAllowed;
  const v1::SeanceRules& rules = facts.policy->seances();
  if (rules.write_only_in_seance() && !state.open()) return Gate::kOutsideSeance;
  // A floor held by someone who left the group is nobody's.
  if (rules.turn_taking() && !state.floor.empty() && state.floor != handle &&
      is_member(facts, state.floor)) {
    return Gate::kFloorElsewhere;
  }
  if (state.open() && !facts.policy->charter().empty() &&
      !state.confirmed.contains(std::string(handle))) {
    return Gate::kCharterUnconfirmed;
  }
  return Gate::kAllowed;
}

std::string describe(v1::SeanceRefusal refusal) {
  switch (refusal) {
    case v1::SEANCE_REFUSAL_UNREADABLE:
      return "the séance event is unreadable";
    case v1::SEANCE_REFUSAL_SIGNATURE:
      return "the séance event's signature does not verify with its author's key";
    case v1::SEANCE_REFUSAL_NOT_A_MEMBER:
      return "the séance event's author is not a member of the group";
    case v1::SEANCE_REFUSAL_ONLY_FACILITATOR:
      return "only a facilitator does this in a séance";
    case v1::SEANCE_REFUSAL_OTHER_GROUP:
      return "the séance event is for another group";
    case v1::SEANCE_REFUSAL_PREVIOUS:
      return "the séance event does not follow the group's last one";
    case v1::SEANCE_REFUSAL_ALREADY_OPEN:
      return "a séance is already open";
    case v1::SEANCE_REFUSAL_NOT_OPEN:
      return "no séance is open";
    case v1::SEANCE_REFUSAL_OTHER_SEANCE:
      return "the séance event is for another séance";
    case v1::SEANCE_REFUSAL_FLOOR_TO_NON_MEMBER:
      return "the floor goes only to a member of the group";
    case v1::SEANCE_REFUSAL_NO_RULES:
      return "the group has no séance rules";
    case v1::SEANCE_REFUSAL_CHARTER:
      return "the charter named is not the group's charter in force";
    default:
      return "séance event refused (code " + std::to_string(int{refusal}) + ")";
  }
}

std::string describe(Gate gate) {
  switch (gate) {
    case Gate::kAllowed:
      return "the séance rules allow it";
    case Gate::kOutsideSeance:
      return "the group writes only during a séance";
    case Gate::kFloorElsewhere:
      return "the floor is given to someone else";
    case Gate::kCharterUnconfirmed:
      return "confirm the group's charter first";
  }
  return "refused by the séance rules";
}

std::string charter_hash(std::string_view charter) { return sha256(charter); }

std::string transcript(std::string_view encoded_event) {
  std::string out(kSeanceLabel);
  out.push_back('\0');
  out.append(encoded_event);
  return out;
}

v1::SignedSeanceEvent sign(const v1::SeanceEvent& event, const unsigned char* secret_key) {
  v1::SignedSeanceEvent s;
  s.set_event(event.SerializeAsString());
  const std::string t = transcript(s.event());
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(t.data()), t.size(), secret_key);
  s.set_signature(sig);
  return s;
}

std::string seance_hash(const v1::SignedSeanceEvent& signed_event) {
  return sha256(signed_event.SerializeAsString());
}

}  // namespace cercle::policy::seance
