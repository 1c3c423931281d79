// State: the server's metadata held in memory that several services still share (conversations
// and memberships, cursors), loaded from the Store at start-up and kept in
// step with it: every change is applied here first, then written through the GroupCommitter.
// Accounts and devices (Identity), key packages (KeyPackages), contact links (ContactLinks),
// registration codes (RegistrationCodes) and reports (Reports) are owned by their service instead,
// changed through a Change (change.h). Message logs and key-package bodies stay on disk.
//
// Keeping metadata in memory makes every authorisation check a lookup on one thread, with no lock
// and no disk read. Lives on the domain's thread (the server's io_context thread); not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cercle/base/clock.h"
#include "cercle/policy/device_chain.h"
#include "proto/policy.pb.h"
#include "server/common/ids.h"
#include "server/common/result.h"
#include "server/domain/accounts.h"
#include "server/domain/change.h"
#include "server/domain/mls_checks.h"
#include "server/domain/types.h"
#include "server/storage/group_commit.h"
#include "server/storage/store.h"

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
};

struct ConvState {
  ConvId id;
  ConvKind kind = ConvKind::kGroup;
  uint64_t epoch = 0;
  uint64_t last_seq = 0;     // Last sequence number handed out.
  uint64_t durable_seq = 0;  // Last entry known durable: readers never go past it.
  int64_t created_ms = 0;
  std::vector<AccountId> accounts;                        // DIRECT: the two accounts allowed in.
  std::vector<std::pair<DeviceId, MemberState>> members;  // Sorted by device id.
  // Proposals of the current epoch, in memory only: after a restart a commit that refers to one
  // is refused and its author sends the proposal again.
  std::vector<CachedProposal> proposals;
  // GROUP: the rules in force, read from the MLS commits that set them (client/policy).
  std::optional<v1::GroupPolicy> policy;
  std::set<std::string> used_invitations;
  std::set<std::string> revoked_invitations;
  std::map<std::string, InvitationState> invitations;  // By nonce.
  std::set<AccountId> join_requests;
  uint64_t erased_upto = 0;  // Entries up to here were erased for the group's retention.
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

class State {
 public:
  // Loads the metadata records Identity does not own. Errors: kInternal on a read failure, or a
  // record that does not parse or names a device or conversation that does not exist.
  [[nodiscard]] Status load(const storage::Store& store, const Accounts& accounts);

  ConvState* conversation(const ConvId& id);

  // A fresh random id, unused in this state.
  ConvId new_conv_id() const;

  std::unordered_map<ConvId, ConvState, ConvIdHash> conversations;
  // Device -> every conversation it is or was a member of, until it leaves.
  std::unordered_map<DeviceId, std::vector<ConvId>> device_conversations;
  // Cursors changed since the last flush; written in one batch by Conversations::flush_cursors.
  std::vector<std::pair<DeviceId, ConvId>> dirty_cursors;

 private:
  Status load_conversations(const storage::Store& store);  // With their public groups.
  Status load_members(const storage::Store& store, const Accounts& accounts);  // And cursors.
  Status load_invitations(const storage::Store& store);
};

// What every domain service works with. Lives on the domain's thread; outlives the services.
struct Context {
  const Config& config;
  State& state;
  storage::Store& store;
  storage::GroupCommitter& committer;
  const Clock& clock;

  // An empty change on this store (change.h).
  Change change() const { return Change(store.batch()); }
};

}  // namespace cercle::domain
