// Séances (a groupe de parole's meetings): the state built from the group's signed séance events,
// and the gates it puts on messages. The relay applies each event before it records it (and gates
// members' messages with may_write); every client applies the same events as they arrive, so a
// relay that forges, replays, reorders or inserts one is caught: each event is signed by its
// author's leaf key and names the hash of the group's previous event. A relay can only withhold.
//
// Decisions (docs/SECURITY.md, plan §8): facilitators are exempt from every gate (A1); while the
// floor is nobody's, everyone writes (A2); a member confirms the charter in force (its SHA-256)
// once per séance before writing, enforced by the relay (A3); the floor or a hand of a handle that
// is no longer a member counts as nobody's. web/src/core/seance.ts is the TypeScript twin, both
// checked against lib/policy/seance_cases.json. Pure functions over plain values and libsodium;
// thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cercle/base/result.h"
#include "cercle/policy/policy.h"
#include "proto/policy.pb.h"

namespace cercle::policy::seance {

inline constexpr std::string_view kSeanceLabel = "cercle-seance-v1";
inline constexpr size_t kSeanceIdBytes = 16;

// What the group's séance events so far add up to. An empty `open_id`: no séance is open.
struct SeanceState {
  std::string head;             // seance_hash of the last accepted event; empty before the first.
  std::string open_id;          // seance_id of the open séance.
  uint64_t open_seq = 0;        // Log seq of the last `opened` (kept after closing).
  std::string floor;            // Handle holding the floor; empty: nobody's.
  std::set<std::string> hands;  // Handles with a raised hand.
  std::set<std::string> confirmed;  // Handles that confirmed the charter in this séance.

  bool open() const { return !open_id.empty(); }
  bool operator==(const SeanceState&) const = default;
};

// The group as the event finds it.
struct Facts {
  std::string conversation_id;
  std::optional<v1::GroupPolicy> policy;  // The rules in force (roles, charter, séance rules).
  std::vector<Member> members;            // Every leaf: handle and signature key.
  uint64_t seq = 0;  // The log seq the event takes (becomes open_seq at `opened`).
};

// Applies one signed event. Checks, in this order: readable (an event with a kind; an `opened`
// with a 16-byte seance_id, a hand_lowered naming someone); conversation_id; the author is a member
// and one of the author's leaves signed it; `previous` == head; the group has séance rules; the
// role (opened, closed, floor_given, floor_back and lowering another's hand: facilitators;
// hand_raised, one's own hand_lowered, charter_confirmed: any member); opened only when none is
// open, everything else only inside the open séance with its seance_id; the floor only to a member;
// an opening's or a confirmation's charter hash == SHA-256 of the charter in force. Raising a
// raised hand or lowering a lowered one is accepted and changes nothing but the head; giving the
// floor lowers the holder's hand; closing clears floor, hands and confirmations.
base::Result<SeanceState, v1::SeanceRefusal> apply(const SeanceState& state,
                                                   const v1::SignedSeanceEvent& signed_event,
                                                   const Facts& facts);

// Why a member may not write an application message now (kAllowed: they may).
enum class Gate {
  kAllowed,
  kOutsideSeance,       // write_only_in_seance and no séance open.
  kFloorElsewhere,      // turn_taking and the floor is another member's.
  kCharterUnconfirmed,  // A séance is open and the writer has not confirmed the charter.
};

// The message gates, in that order, for `handle` (its role and the rules read from facts.policy;
// members from facts.members). Muting is checked apart (policy::is_muted). A group without séance
// rules, and a facilitator, always get kAllowed; a group whose charter is empty asks no
// confirmation.
Gate may_write(const SeanceState& state, const Facts& facts, std::string_view handle);

// An English sentence for logs and the relay's error messages; never compared.
std::string describe(v1::SeanceRefusal refusal);
std::string describe(Gate gate);

// SHA-256 of a charter, as SeanceOpened.charter_hash and charter_confirmed carry it.
std::string charter_hash(std::string_view charter);
// "cercle-seance-v1" || 0x00 || encoded event: the bytes an author signs.
std::string transcript(std::string_view encoded_event);
// Signs an event with a libsodium Ed25519 secret key (64 bytes).
v1::SignedSeanceEvent sign(const v1::SeanceEvent& event, const unsigned char* secret_key);
// SHA-256 of the SignedSeanceEvent's encoding: what the next event names as `previous`.
std::string seance_hash(const v1::SignedSeanceEvent& signed_event);

}  // namespace cercle::policy::seance
