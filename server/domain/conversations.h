// Conversations: MLS groups as the relay sees them. Each has a kind, a member list of devices, an
// epoch, and one ordered log of commits, proposals and application messages.
//
// Rules enforced here: only member devices write to or read from a conversation; at most one commit
// per epoch (the first wins, later ones get kStaleEpoch with the current epoch); application
// messages and proposals only at the current epoch; a Welcome reaches added devices only through
// the accepted commit that added them; a direct conversation only admits devices of its two
// accounts. Commits and proposals are read as MLS messages (handshake.h): the conversation id is
// the MLS group id, the sender must be the actor's own leaf, and the devices a commit adds or
// removes are those its MLS proposals add (by their KeyPackages' signature keys) or remove (by
// leaf).
//
// Owns the conversations (conversation_state.h: members, cursors, proposals, rules, invitations,
// public views), the index of each device's conversations and the cursors waiting for a flush, with
// their records and their loading; every change is staged in a Change (change.h) and applied to
// memory when it commits. Groups changes group records through stage_group and append_event.
//
// Every accepted write is answered, and published to the Outbox, once durable, in sequence order.
// Lives on the domain's thread; not thread-safe. Callbacks run on that thread.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/domain/conversation_state.h"
#include "server/domain/group_rules.h"
#include "server/domain/identity.h"
#include "server/domain/key_packages.h"
#include "server/domain/outbox.h"

namespace cercle::domain {

class Conversations {
 public:
  template <class T>
  using Done = std::function<void(Result<T>)>;

  Conversations(Context ctx, const Identity& identity, KeyPackages& key_packages, Outbox& outbox)
      : ctx_(ctx), identity_(identity), key_packages_(key_packages), outbox_(outbox) {}

  // Creates a conversation whose only member is the actor, at epoch 0. DIRECT needs peer_handle.
  // Errors: kInvalidArgument, kInvalidHandle, kNotFound, kLimitReached.
  void create(DeviceId actor, ConvKind kind, std::string_view peer_handle, Done<ConvView> done);

  // Accepts the commit if it is built on the current epoch; moves the conversation to the next one.
  // Errors: kForbidden (not a member; device outside a direct conversation's accounts),
  // kNotFound (conversation or device), kStaleEpoch, kInvalidArgument, kFrameTooLarge,
  // kLimitReached.
  void commit(DeviceId actor, CommitArgs args, Done<CommitOk> done);

  // Appends an application message (an MLS PrivateMessage of this group and epoch carrying
  // application content, handshake::check_application) or a proposal at the current epoch.
  // Errors: kNotFound, kForbidden, kStaleEpoch, kInvalidArgument, kFrameTooLarge.
  void send(DeviceId actor, SendArgs args, Done<SendOk> done);

  // Advances the actor's cursor to `seq` (never backwards, never past what it may read); returns
  // the cursor. Cursors reach the disk with flush_cursors(): losing the latest ones in a crash only
  // means entries are delivered again, which clients de-duplicate. Errors: kNotFound, kForbidden.
  Result<uint64_t> ack(DeviceId actor, const ConvId& conv, uint64_t seq);

  // Writes every cursor changed since the last call. Call it periodically and before stopping.
  void flush_cursors();

  // Conversations the actor is in, with its cursors.
  std::vector<ConvView> list(DeviceId actor) const;
  // Errors: kNotFound, kForbidden.
  Result<ConvView> get(DeviceId actor, const ConvId& conv) const;

  // Durable entries the actor may read after `after_seq`. Errors: kNotFound, kForbidden, kInternal.
  Result<std::vector<storage::LogEntry>> read(DeviceId actor, const ConvId& conv,
                                              uint64_t after_seq, size_t max_entries,
                                              size_t max_bytes) const;

  // Where each of the device's delivery streams starts: one per conversation it reads.
  std::vector<StreamStart> streams(DeviceId device) const;

  // The last durable entry of `conv`, 0 when unknown.
  uint64_t durable_seq(const ConvId& conv) const;

  // Reads the conversations with their public groups, members, cursors and invitations; call once
  // at start-up, after Identity::load. Errors: kInternal (a read failed, or a record that does not
  // parse or names a device or conversation that does not exist).
  [[nodiscard]] Status load();

  // What the other services read (null when unknown).
  const ConvState* conversation(const ConvId& id) const;
  using Map = std::unordered_map<ConvId, ConvState, ConvIdHash>;
  const Map& all() const { return conversations_; }
  // Whether acknowledged cursors wait for flush_cursors().
  bool has_dirty_cursors() const { return !dirty_cursors_.empty(); }
  // What its checks read of devices and key packages (directory.h).
  Directory directory() const { return Directory{identity_, key_packages_}; }

  // For the Groups service (groups.h), on the same thread. One change Groups makes to a group's
  // records: the conversation's record as `header` says, invitations put (new or updated) and
  // forgotten.
  struct GroupChange {
    ConvHeader header;
    std::vector<std::pair<std::string, InvitationState>> put;
    std::vector<std::string> forget;
  };
  // Stages `edit`: its records into the change's batch, and its update of the conversation.
  void stage_group(Change& change, GroupChange edit);
  // Appends a group event, an EVENT entry that every member reads (its author too), with the rest
  // of `change`, and commits it; `done` gets its sequence number once durable.
  void append_event(const ConvId& conv, DeviceId actor, const v1::GroupEvent& event, Change change,
                    Done<uint64_t> done);

 private:
  struct CheckedCommit;  // What commit() learnt by checking a commit (conversations.cpp).
  ConvState* find(const ConvId& id);
  Result<ConvState*> writable(DeviceId actor, const ConvId& conv, uint64_t epoch);
  Status check_commit_members(const ConvState& conv, DeviceId actor, const CommitArgs& args) const;
  // Every check of a commit (sizes, the MLS message, the public view, members, group rules).
  Result<CheckedCommit> check_commit(const ConvState& conv, DeviceId actor, const CommitArgs& args);
  // Stages what an accepted commit changes: the record, the members, the key packages it used.
  void stage_commit(ConvState& conv, const CommitArgs& args, CheckedCommit checked, uint64_t seq,
                    Change& change);
  // The members the commit adds (at their leaves) and removes, as they are after it.
  std::vector<std::pair<DeviceId, MemberState>> members_after(const ConvState& conv,
                                                              const CommitArgs& args,
                                                              const CheckedCommit& checked,
                                                              uint64_t seq) const;
  // Applies what the group rules accepted to `header` (rules, invitations used, join requests
  // settled); returns the invitations now used.
  std::vector<std::pair<std::string, InvitationState>> apply_rules(
      const ConvState& conv, const group_rules::Accepted& rules,
      const handshake::MembershipChange& change, ConvHeader& header) const;
  // Appends `record` as entry `seq` with the rest of `change`, and commits it.
  void append(ConvState& conv, uint64_t seq, storage::LogRecord record, Change change,
              std::function<void(const Status&)> done);
  void publish(const ConvId& conv_id, uint64_t seq, const storage::LogRecord& record);
  ConvView view(const ConvState& conv, DeviceId viewer) const;

  // Records (conversations_records.cpp).
  Status load_conversations();  // With their public groups.
  Status load_members();        // With their cursors.
  Status load_invitations();
  static void write_conversation(const ConvHeader& conv, storage::WriteBatch& batch);
  static void write_invitation(const ConvId& conv, const std::string& nonce,
                               const InvitationState& i, storage::WriteBatch& batch);
  static storage::MemberRecord member_record(const MemberState& m);
  static void write_seance(const ConvHeader& conv, storage::ConversationRecord& r);
  static void read_seance(const storage::ConversationRecord& r, ConvHeader& conv);

  static std::vector<storage::LogEntry> with_erasures(std::vector<storage::LogEntry> entries,
                                                      uint64_t after, uint64_t upto);
  void forget_if_done(ConvState& conv, DeviceId device);
  uint64_t now_s() const;
  // How many conversations the device is in (or was, until it leaves).
  size_t conversation_count(DeviceId device) const;
  // A fresh random id, unused here.
  ConvId new_conv_id() const;

  Context ctx_;
  const Identity& identity_;
  KeyPackages& key_packages_;
  Outbox& outbox_;
  Map conversations_;
  // Device -> every conversation it is or was a member of, until it leaves.
  std::unordered_map<DeviceId, std::vector<ConvId>> by_device_;
  // Cursors changed since the last flush; written in one batch by flush_cursors().
  std::vector<std::pair<DeviceId, ConvId>> dirty_cursors_;
  std::vector<DeviceId> recipients_;  // Reused by publish.
};

}  // namespace cercle::domain
