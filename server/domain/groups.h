// Groups: what a groupe de parole needs from the relay beyond MLS commits (whose rules
// group_rules.h checks): invitations (recorded, accepted by the invitee after reading the charter,
// revoked, objected to), join requests to groups open to peers, deleting a message for everyone,
// reports (sealed to the facilitators' devices, or revealed to the instance's admins with the
// reporter's consent), and erasing what is older than a group's retention period.
//
// What the whole group must see goes into the group's log as an EVENT entry (a GroupEvent), so
// every member's client shows it and no member is told something different. What is for one account
// or device (an invitation, a report, an admin's answer) goes out as an Outbox notification, and is
// kept until it can be delivered.
//
// An instance admin has no power here: every call is judged by the actor's place in the group.
// Listing an account's invitations and the groups open to peers reads two indexes kept here, not
// every conversation: each index may name more than is true (an invitation used since, a group
// closed since), and is checked and pruned as it is read.
// Lives on the domain's thread; not thread-safe. Callbacks run on that thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "server/domain/context.h"
#include "server/domain/conversations.h"
#include "server/domain/outbox.h"
#include "server/domain/reports.h"

namespace cercle::domain {

class Groups {
 public:
  template <class T>
  using Done = std::function<void(Result<T>)>;

  Groups(Context ctx, const Identity& identity, Conversations& conversations, Outbox& outbox)
      : ctx_(ctx), identity_(identity), conversations_(conversations), outbox_(outbox) {}

  // Reads the stored reports; call once at start-up. Errors: kInternal.
  [[nodiscard]] Status load() { return reports_.load(ctx_.store); }

  // Records an invitation a facilitator signed with the device making the request, shows it to the
  // group (GroupEvent invited) and sends it to the invitee's devices. Errors: kInvalidArgument
  // (unreadable, bad signature, expired, wrong account type or charter, already recorded),
  // kForbidden (not a facilitator; invitee banned or already a member), kNotFound, kLimitReached.
  void create_invitation(DeviceId actor, const std::string& signed_invitation, Done<Ok> done);
  // A facilitator revokes an invitation not used yet. Errors: kForbidden, kNotFound,
  // kInvalidArgument.
  void revoke_invitation(DeviceId actor, const ConvId& conv, const std::string& nonce,
                         Done<Ok> done);
  // The invitee accepts the charter. Errors: kForbidden (not the invitee), kNotFound,
  // kInvalidArgument (revoked, used or expired).
  void accept_invitation(DeviceId actor, const ConvId& conv, const std::string& nonce,
                         Done<Ok> done);
  // The invitee says no (also after accepting, until the invitation is used): it leaves the
  // invitee's list, no commit may use it, and the group sees GroupEvent declined. Declining twice
  // changes nothing. Errors: kForbidden (not the invitee), kNotFound, kInvalidArgument (revoked,
  // used or expired).
  void decline_invitation(DeviceId actor, const ConvId& conv, const std::string& nonce,
                          Done<Ok> done);
  // A member objects to a professional's pending invitation. Errors: kForbidden, kNotFound,
  // kInvalidArgument.
  void object_to_invitation(DeviceId actor, const ConvId& conv, const std::string& nonce,
                            Done<Ok> done);
  // The encoded SignedInvitations addressed to the actor's account that are still pending.
  std::vector<std::string> invitations_for(DeviceId actor);

  // A deleted account (account_deletion.cpp): its pending invitations (it was the invitee) and its
  // join requests are forgotten in every group, staged in `change`. No group event: the account
  // can no longer sign in, and its members' clients fail to add it (it has no key package).
  void forget_account(Change& change, AccountId account);

  // Groups open to peers that the actor (a peer) may ask to join.
  std::vector<OpenGroupView> open_groups(DeviceId actor);
  // A facilitator publishes the group's name and description to every peer of the instance (an
  // encoded SignedPublicListing, signed with the facilitator device's leaf key), or withdraws them
  // (an empty listing); the group sees GroupEvent published. Errors: kForbidden (not a facilitator;
  // signed in another's name), kInvalidArgument (not open to peers, unreadable, too long, another
  // group's, bad signature).
  void publish_group(DeviceId actor, const ConvId& conv, const std::string& signed_listing,
                     Done<Ok> done);
  // A commit of `conv` is durable: it may have opened the group to peers. Whoever owns the Outbox
  // calls it for every published commit (the api Hub does), or open_groups() misses the group.
  void on_commit(const ConvId& conv);
  // A peer asks to join an open group; a member's client then adds them. Errors: kNotFound,
  // kForbidden (not open, a professional, banned), kInvalidArgument (already a member).
  void request_join(DeviceId actor, const ConvId& conv, Done<Ok> done);

  // A facilitator deletes message `seq` for everyone: its ciphertext is erased from storage (and
  // from the disk, by a compaction) and a GroupEvent deleted_seq tells the clients to hide it.
  // Errors: kForbidden, kNotFound, kInvalidArgument (not a message).
  void delete_entry(DeviceId actor, const ConvId& conv, uint64_t seq, Done<Ok> done);

  // A member posts a séance event (an encoded SignedSeanceEvent, signed with the device's leaf
  // key, authored in the account's own name): applied to the group's séance state by lib/policy's
  // state machine with the relay's members, then recorded as GroupEvent seance. Closing a séance
  // of a group whose rules say erase_after schedules the erasure of its messages (erase_expired).
  // Errors: kSeanceConflict (another event came first: `previous` is not the last one's hash),
  // kForbidden (another's name or key, a member's event that only facilitators post),
  // kInvalidArgument (unreadable, no séance rules, not in this séance, ...), kNotFound.
  void post_seance_event(DeviceId actor, const ConvId& conv, const std::string& signed_event,
                         Done<Ok> done);

  // Reports sealed by the reporter's client, one per facilitator device: kept for each device
  // until it acknowledges it. Errors: kForbidden (not a member; a target is not a facilitator's
  // device), kInvalidArgument (none, too many, too large).
  void report_to_facilitators(DeviceId actor, const ConvId& conv,
                              std::vector<std::pair<DeviceId, std::string>> sealed, Done<Ok> done);
  std::vector<SealedReportView> pending_reports(DeviceId device) const;
  // The device kept report `id`: it is forgotten. Errors: kNotFound.
  void ack_report(DeviceId actor, uint64_t id, Done<Ok> done);

  // A report to the instance's admins revealing one message, with the reporter's consent; returns
  // its id. Errors: kForbidden (not a member), kInvalidArgument (no such message, too long).
  void report_to_admins(DeviceId actor, const ConvId& conv, uint64_t seq, std::string text,
                        std::string reason, Done<uint64_t> done);
  // For cercle-admin: every report to the admins, oldest first; an answer goes to the reporter.
  std::vector<AdminReportView> admin_reports() const;
  void answer_report(uint64_t id, std::string text, Done<Ok> done);
  // Answers the account has not received yet; they are marked received.
  std::vector<std::pair<uint64_t, std::string>> take_answers(DeviceId device);

  // Erases, in every group with a retention period, the log entries older than it, and the messages
  // of closed séances whose erasure is due (seances.cpp). Returns how many groups had entries
  // erased. The disk space is reclaimed by a background compaction.
  size_t erase_expired();

 private:
  struct Found {
    const ConvState* conv = nullptr;
    std::string handle;  // The actor's.
  };
  // The group and the actor's handle, if the actor is an active member (or `member` is false).
  Result<Found> group_of(DeviceId actor, const ConvId& conv, bool member) const;
  Result<const InvitationState*> invitation(const ConvState& conv, const std::string& nonce) const;
  struct InviteeCall {
    const ConvState* conv = nullptr;
    const InvitationState* invitation = nullptr;
  };
  // The group and the invitation that its invitee (`actor`'s account) answers. Error: kForbidden
  // for anyone else, as group_of and invitation otherwise.
  Result<InviteeCall> invitee_call(DeviceId actor, const ConvId& conv_id,
                                   const std::string& nonce) const;
  // The listing `signed_listing` may be published in `found`'s group by `actor`.
  Status check_listing(const Found& found, DeviceId actor,
                       const v1::SignedPublicListing& signed_listing) const;
  Status check_new_invitation(const ConvState& conv, const Found& found, DeviceId actor,
                              const v1::SignedInvitation& signed_invitation,
                              const v1::Invitation& invitation, AccountId& invitee) const;
  // Stages `edit` of the group's records in `change`, then appends the group event with it and
  // commits; `after` runs once durable.
  void record(Change change, Conversations::GroupChange edit, DeviceId actor, v1::GroupEvent event,
              Done<Ok> done, std::function<void()> after = nullptr);
  // Stages `edit` of an invitation (its record and the group's), shown by `event`.
  void record_invitation(const ConvState& conv, DeviceId actor, const std::string& nonce,
                         InvitationState invitation, v1::GroupEvent event, Done<Ok> done);
  void notify_account(AccountId account, const v1::Event& event);
  // Whether each target device has room for one more report from `reporter`. Error: kLimitReached.
  Status check_report_room(AccountId reporter,
                           const std::vector<std::pair<DeviceId, std::string>>& sealed) const;
  // Adds forgetting the group's expired invitations to `edit` (and their index entries to
  // `change`); returns how many remain.
  size_t forget_expired(const ConvState& conv, Conversations::GroupChange& edit, Change& change);
  size_t erase_expired(const ConvState& conv, int64_t cutoff_ms);
  // Erases the application entries of `conv`'s séances whose erasure is due; returns whether it
  // changed anything (then the group's retention waits for the next run: one change at a time).
  bool erase_seances(const ConvState& conv, int64_t now_ms);
  // Builds both indexes from the conversations, on first use (they are loaded after construction).
  void index_all();
  static bool open_to_peers(const ConvState& conv);
  void unindex_invitation(AccountId invitee, const ConvId& conv, const std::string& nonce);

  Directory directory() const { return conversations_.directory(); }
  // The type of the device's account (kPeer when unknown).
  AccountType type_of(DeviceId device) const;

  Context ctx_;
  const Identity& identity_;
  Conversations& conversations_;
  Outbox& outbox_;
  Reports reports_;
  bool indexed_ = false;
  std::unordered_set<ConvId, ConvIdHash> open_;  // Groups open to peers, and maybe a few no longer.
  // Invitee account -> (group, nonce) of the invitations made for it, pending or not.
  std::unordered_map<AccountId, std::vector<std::pair<ConvId, std::string>>> invitations_by_;
};

}  // namespace cercle::domain
