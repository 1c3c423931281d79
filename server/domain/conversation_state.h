// The state of a conversation as Conversations holds it in memory (conversations.h): its record's
// fields (ConvHeader), its members with their cursors, the proposals of its epoch, its invitations
// and the public view of its MLS group. Plain values; lives on the domain's thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cercle/policy/seance.h"
#include "proto/policy.pb.h"
#include "server/common/ids.h"
#include "server/domain/mls_checks.h"
#include "server/domain/types.h"

namespace cercle::mls {
class PublicGroup;
}

namespace cercle::domain {

struct MemberState {
  uint32_t leaf = 0;          // Its leaf index in the MLS tree, as the relay tracks it.
  uint64_t join_seq = 0;      // Reads entries after this one.
  uint64_t left_seq = 0;      // 0 while a member; else the commit that removed it (its last entry).
  uint64_t cursor = 0;        // Last entry it acknowledged.
  bool cursor_dirty = false;  // Changed since the last flush to disk.
  // Earlier periods (join, left] it has not read to their end: removed while offline, then added
  // again. Oldest first; all before join_seq.
  std::vector<std::pair<uint64_t, uint64_t>> earlier;

  bool active() const { return left_seq == 0; }
  // Whether entry `seq` is delivered to this device.
  bool reads(uint64_t seq) const;
  // The first period with entries after `after`, as (after, upto]: upto is `durable` for the
  // current period of an active member. nullopt when nothing readable lies after `after`.
  std::optional<std::pair<uint64_t, uint64_t>> readable_after(uint64_t after,
                                                              uint64_t durable) const;
};

// A proposal received in the current epoch, which a commit may include by reference.
struct CachedProposal {
  std::string ref;
  uint32_t sender_leaf = 0;
  mls_checks::ProposalFacts facts;
};

struct InvitationState {
  v1::Invitation invitation;
  std::string signed_bytes;  // The encoded SignedInvitation, as the facilitator made it.
  AccountId invitee = 0;
  int64_t accepted_ms = 0;
  bool objected = false;
  bool used = false;
  bool revoked = false;
  bool declined = false;  // The invitee said no: it can no longer be used.
};

// The application entries from_seq..to_seq of a closed séance, to erase at due_ms.
struct PendingErasure {
  uint64_t from_seq = 0;
  uint64_t to_seq = 0;
  int64_t due_ms = 0;
};

// What a conversation's record (storage::ConversationRecord) holds. Copied by the changes that
// write the record (the commit, Groups' changes), and applied to the conversation when they commit.
struct ConvHeader {
  ConvId id;
  ConvKind kind = ConvKind::kGroup;
  uint64_t epoch = 0;
  int64_t created_ms = 0;
  std::vector<AccountId> accounts;  // DIRECT: the two accounts allowed in.
  // GROUP: the rules in force, read from the MLS commits that set them (client/policy).
  std::optional<v1::GroupPolicy> policy;
  std::set<std::string> used_invitations;
  std::set<std::string> revoked_invitations;
  std::set<AccountId> join_requests;
  uint64_t erased_upto = 0;  // Entries up to here were erased for the group's retention.
  // GROUP open to peers: the encoded SignedPublicListing a facilitator published (PublishGroup),
  // checked when it was; empty when the group is not listed by name. A commit that closes the
  // group drops it.
  std::string listing;
  // GROUP: what its séance events add up to (lib/policy seance.h), and the séances whose messages
  // are to be erased (SeanceRules.erase_after), oldest first.
  policy::seance::SeanceState seance;
  int64_t seance_opened_ms = 0;
  std::vector<PendingErasure> erasures;
};

struct ConvState : ConvHeader {
  uint64_t last_seq = 0;     // Last sequence number handed out.
  uint64_t durable_seq = 0;  // Last entry known durable: readers never go past it.
  std::vector<std::pair<DeviceId, MemberState>> members;  // Sorted by device id.
  // Proposals of the current epoch, in memory only: after a restart a commit that refers to one
  // is refused and its author sends the proposal again.
  std::vector<CachedProposal> proposals;
  std::map<std::string, InvitationState> invitations;  // By nonce.
  // The MLS group's public state, with which every proposal's and commit's signature is checked
  // (public_groups.h); null for a conversation the relay does not verify. Shared, never mutated:
  // each accepted change replaces it.
  std::shared_ptr<const mls::PublicGroup> public_group;

  MemberState* member(DeviceId device);
  // The active member at `leaf`, or 0.
  DeviceId device_at(uint32_t leaf) const;
  const MemberState* member(DeviceId device) const;
  MemberState& add_member(DeviceId device, MemberState m);
  void erase_member(DeviceId device);
  size_t active_members() const;
};

}  // namespace cercle::domain
