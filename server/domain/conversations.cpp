#include "server/domain/conversations.h"

#include <sodium.h>

#include <algorithm>
#include <unordered_set>

#include "server/domain/group_rules.h"
#include "server/domain/handle.h"
#include "server/domain/handshake.h"
#include "server/domain/public_groups.h"

namespace cercle::domain {

namespace {

Error not_member() {
  return make_error(Errc::kForbidden, "this device is not a member of the conversation");
}

Error too_large(std::string_view what, size_t limit) {
  return make_error(Errc::kFrameTooLarge, std::string(what) + " is over the limit of " +
                                              std::to_string(limit) + " bytes");
}

bool has_duplicates(const std::vector<DeviceId>& ids) {
  std::unordered_set<DeviceId> seen;
  for (DeviceId id : ids) {
    if (!seen.insert(id).second) return true;
  }
  return false;
}

// The log entry of an accepted commit.
storage::LogRecord commit_record(DeviceId actor, CommitArgs& args, int64_t now_ms) {
  storage::LogRecord record;
  record.set_kind(static_cast<int>(EntryKind::kCommit));
  record.set_epoch(args.epoch);
  record.set_sender_device(actor);
  record.set_time_ms(now_ms);
  record.set_payload(std::move(args.commit));
  for (DeviceId id : args.add) record.add_added_devices(id);
  for (DeviceId id : args.remove) record.add_removed_devices(id);
  record.set_welcome(std::move(args.welcome));
  return record;
}

}  // namespace

// What commit() learnt by checking a commit, for staging it.
struct Conversations::CheckedCommit {
  handshake::MembershipChange change;
  public_groups::CommitCheck view;
  std::optional<group_rules::Accepted> rules;
  std::vector<uint32_t> leaves;  // Of the added devices, in change.adds order.
};

const ConvState* Conversations::conversation(const ConvId& id) const {
  auto it = conversations_.find(id);
  return it == conversations_.end() ? nullptr : &it->second;
}

ConvState* Conversations::find(const ConvId& id) {
  auto it = conversations_.find(id);
  return it == conversations_.end() ? nullptr : &it->second;
}

ConvId Conversations::new_conv_id() const {
  for (;;) {
    ConvId id;
    randombytes_buf(id.bytes.data(), id.bytes.size());
    if (!conversations_.contains(id)) return id;
  }
}

size_t Conversations::conversation_count(DeviceId device) const {
  auto it = by_device_.find(device);
  return it == by_device_.end() ? 0 : it->second.size();
}

uint64_t Conversations::now_s() const { return static_cast<uint64_t>(ctx_.clock.now_ms() / 1000); }

// Applies what the group rules accepted: the new policy, and the invitations now used; join
// requests of those added are settled.
std::vector<std::pair<std::string, InvitationState>> Conversations::apply_rules(
    const ConvState& conv, const group_rules::Accepted& rules,
    const handshake::MembershipChange& change, ConvHeader& header) const {
  std::vector<std::pair<std::string, InvitationState>> used;
  if (rules.policy) header.policy = rules.policy;
  // What a facilitator published is about a group open to peers: closed, it is no longer listed.
  if (header.policy && header.policy->join_rule() != v1::OPEN_TO_PEERS) header.listing.clear();
  for (const auto& nonce : rules.used_nonces) {
    header.used_invitations.insert(nonce);
    auto it = conv.invitations.find(nonce);
    if (it == conv.invitations.end()) continue;
    used.emplace_back(nonce, it->second);
    used.back().second.used = true;
  }
  for (const auto& [device, ref] : change.adds) {
    if (const DeviceState* d = identity_.device(device)) header.join_requests.erase(d->account);
  }
  return used;
}

ConvView Conversations::view(const ConvState& conv, DeviceId viewer) const {
  ConvView v{conv.id, conv.kind, conv.epoch, conv.durable_seq, 0, {}};
  if (const MemberState* m = conv.member(viewer)) {
    v.cursor = m->cursor;
    // A removed device still reads up to its removal, but learns nothing of the group after it:
    // not who is in it now, nor how far its log went.
    if (!m->active()) {
      v.head_seq = std::min(v.head_seq, m->left_seq);
      return v;
    }
  }
  for (const auto& [device_id, member] : conv.members) {
    if (!member.active()) continue;
    const AccountState* a = identity_.account_of(device_id);
    if (a) v.members.push_back({device_id, a->id, a->handle, a->type, member.leaf});
  }
  return v;
}

void Conversations::create(DeviceId actor, ConvKind kind, std::string_view peer_handle,
                           Done<ConvView> done) {
  const DeviceState* device = identity_.device(actor);
  if (!device) return done(make_error(Errc::kNotAuthenticated, "unknown device"));
  if (conversation_count(actor) >= ctx_.config.max_conversations_per_device) {
    return done(make_error(Errc::kLimitReached, "this device is in too many conversations"));
  }
  ConvState conv;
  conv.kind = kind;
  if (kind == ConvKind::kDirect) {
    auto handle = normalize_handle(peer_handle);
    if (!handle) return done(std::move(handle).error());
    const AccountState* peer = identity_.account_by_key(handle->key);
    if (!peer) return done(make_error(Errc::kNotFound, "no account has this handle"));
    if (peer->id == device->account) {
      return done(
          make_error(Errc::kInvalidArgument, "a direct conversation needs another account"));
    }
    conv.accounts = {device->account, peer->id};
  } else if (kind != ConvKind::kGroup || !peer_handle.empty()) {
    return done(
        make_error(Errc::kInvalidArgument, "kind must be DIRECT (with peer_handle) or GROUP"));
  }
  conv.id = new_conv_id();
  conv.created_ms = ctx_.clock.now_ms();
  conv.add_member(actor, MemberState{});

  Change change = ctx_.change();
  write_conversation(conv, change.batch());
  change.batch().put_member(conv.id, actor, storage::MemberRecord());
  ConvView v = view(conv, actor);
  change.on_commit([this, actor, conv = std::move(conv)]() mutable {
    by_device_[actor].push_back(conv.id);
    const ConvId id = conv.id;
    conversations_.emplace(id, std::move(conv));
  });
  std::move(change).commit(ctx_.committer, [v = std::move(v), done](const Status& s) mutable {
    if (!s) return done(s.error());
    done(std::move(v));
  });
}

Result<ConvState*> Conversations::writable(DeviceId actor, const ConvId& conv_id, uint64_t epoch) {
  ConvState* conv = find(conv_id);
  if (!conv) return make_error(Errc::kNotFound, "no such conversation");
  const MemberState* m = conv->member(actor);
  if (!m || !m->active()) return not_member();
  if (epoch != conv->epoch) {
    Error e = make_error(Errc::kStaleEpoch,
                         "the conversation is at epoch " + std::to_string(conv->epoch));
    e.current_epoch = conv->epoch;
    return e;
  }
  return conv;
}

Status Conversations::check_commit_members(const ConvState& conv, DeviceId actor,
                                           const CommitArgs& args) const {
  if (has_duplicates(args.add) || has_duplicates(args.remove)) {
    return make_error(Errc::kInvalidArgument, "a device is listed twice");
  }
  for (DeviceId id : args.add) {
    const DeviceState* d = identity_.device(id);
    if (!d) return make_error(Errc::kNotFound, "no such device: " + std::to_string(id));
    const MemberState* m = conv.member(id);
    if (m && m->active())
      return make_error(Errc::kInvalidArgument, "the device is already a member");
    if (conversation_count(id) >= ctx_.config.max_conversations_per_device) {
      return make_error(Errc::kLimitReached, "the added device is in too many conversations");
    }
    if (conv.kind == ConvKind::kDirect &&
        std::find(conv.accounts.begin(), conv.accounts.end(), d->account) == conv.accounts.end()) {
      return make_error(Errc::kForbidden, "a direct conversation admits only its two accounts");
    }
  }
  for (DeviceId id : args.remove) {
    const MemberState* m = conv.member(id);
    if (!m || !m->active()) return make_error(Errc::kInvalidArgument, "the device is not a member");
    if (id == actor)
      return make_error(Errc::kInvalidArgument, "a device cannot commit its own removal");
  }
  if (conv.active_members() + args.add.size() - args.remove.size() >
      ctx_.config.max_conversation_devices) {
    return make_error(Errc::kLimitReached, "the conversation would have too many devices");
  }
  return Ok{};
}

Result<Conversations::CheckedCommit> Conversations::check_commit(const ConvState& conv,
                                                                 DeviceId actor,
                                                                 const CommitArgs& args) {
  const size_t limit = ctx_.config.max_payload_bytes;
  if (args.commit.empty()) return make_error(Errc::kInvalidArgument, "the commit is empty");
  if (args.commit.size() > limit) return too_large("the commit", limit);
  if (args.welcome.size() > limit) return too_large("the welcome", limit);
  CheckedCommit out;
  auto change = handshake::read_commit(directory(), conv, actor, args, now_s());
  if (!change) return std::move(change).error();
  out.change = std::move(*change);
  auto view = public_groups::check_commit(directory(), conv, actor, args, now_s());
  if (!view) return std::move(view).error();
  out.view = std::move(*view);
  if (auto s = check_commit_members(conv, actor, args); !s) return std::move(s).error();
  if (conv.kind == ConvKind::kGroup) {
    auto accepted = group_rules::check_commit(directory(), conv, out.change, ctx_.clock.now_ms());
    if (!accepted) return std::move(accepted).error();
    out.rules = std::move(*accepted);
  }
  auto leaves = public_groups::added_leaves(out.view, out.change);
  if (!leaves) return std::move(leaves).error();
  out.leaves = std::move(*leaves);
  return out;
}

std::vector<std::pair<DeviceId, MemberState>> Conversations::members_after(
    const ConvState& conv, const CommitArgs& args, const CheckedCommit& checked,
    uint64_t seq) const {
  std::vector<std::pair<DeviceId, MemberState>> out;
  for (size_t i = 0; i < checked.change.adds.size(); ++i) {
    const DeviceId id = checked.change.adds[i].first;
    MemberState added{checked.leaves[i], seq - 1, 0, seq - 1, false, {}};
    if (const MemberState* before = conv.member(id)) {
      // Removed while offline and added again: it keeps what it had not read of its earlier
      // membership, and its cursor.
      added.earlier = before->earlier;
      if (before->cursor < before->left_seq)
        added.earlier.emplace_back(before->join_seq, before->left_seq);
      if (!added.earlier.empty()) added.cursor = before->cursor;
    }
    out.emplace_back(id, std::move(added));
  }
  for (DeviceId id : args.remove) {
    MemberState removed = *conv.member(id);
    removed.left_seq = seq;
    out.emplace_back(id, std::move(removed));
  }
  return out;
}

void Conversations::stage_commit(ConvState& conv, const CommitArgs& args, CheckedCommit checked,
                                 uint64_t seq, Change& change) {
  storage::WriteBatch& batch = change.batch();
  ConvHeader header = conv;
  header.epoch += 1;
  std::vector<std::pair<std::string, InvitationState>> used;
  if (checked.rules) used = apply_rules(conv, *checked.rules, checked.change, header);
  for (const auto& [nonce, i] : used) write_invitation(conv.id, nonce, i, batch);
  write_conversation(header, batch);
  auto group = checked.view.next ? std::move(checked.view.next) : conv.public_group;
  public_groups::write(conv.id, group, batch);
  for (const auto& [device, ref] : checked.change.adds) key_packages_.mark_used(change, ref);
  auto members = members_after(conv, args, checked, seq);
  for (const auto& [id, m] : members) batch.put_member(conv.id, id, member_record(m));
  const size_t added = checked.change.adds.size();
  change.on_commit([this, c = &conv, header = std::move(header), used = std::move(used),
                    group = std::move(group), members = std::move(members), added]() mutable {
    static_cast<ConvHeader&>(*c) = std::move(header);
    c->proposals.clear();  // Proposals do not outlive their epoch.
    c->public_group = std::move(group);
    for (auto& [nonce, i] : used) c->invitations.insert_or_assign(nonce, std::move(i));
    for (size_t i = 0; i < members.size(); ++i) {
      c->add_member(members[i].first, std::move(members[i].second));
      if (i >= added) continue;
      auto& convs = by_device_[members[i].first];
      if (std::find(convs.begin(), convs.end(), c->id) == convs.end()) convs.push_back(c->id);
    }
  });
}

void Conversations::commit(DeviceId actor, CommitArgs args, Done<CommitOk> done) {
  auto w = writable(actor, args.conv, args.epoch);
  if (!w) return done(std::move(w).error());
  ConvState& conv = **w;
  auto checked = check_commit(conv, actor, args);
  if (!checked) return done(std::move(checked).error());
  const uint64_t seq = conv.last_seq + 1;
  const uint64_t epoch = conv.epoch + 1;
  Change change = ctx_.change();
  stage_commit(conv, args, std::move(*checked), seq, change);
  storage::LogRecord record = commit_record(actor, args, ctx_.clock.now_ms());
  append(conv, seq, std::move(record), std::move(change), [done, seq, epoch](const Status& s) {
    if (!s) return done(s.error());
    done(CommitOk{seq, epoch});
  });
}

void Conversations::send(DeviceId actor, SendArgs args, Done<SendOk> done) {
  auto w = writable(actor, args.conv, args.epoch);
  if (!w) return done(std::move(w).error());
  ConvState& conv = **w;
  if (args.kind != EntryKind::kApplication && args.kind != EntryKind::kProposal) {
    return done(make_error(Errc::kInvalidArgument, "kind must be APPLICATION or PROPOSAL"));
  }
  if (args.payload.empty()) return done(make_error(Errc::kInvalidArgument, "the payload is empty"));
  if (args.payload.size() > ctx_.config.max_payload_bytes) {
    return done(too_large("the payload", ctx_.config.max_payload_bytes));
  }
  std::optional<CachedProposal> proposal;
  std::shared_ptr<const mls::PublicGroup> view;
  if (args.kind == EntryKind::kApplication) {
    // Only the cleartext header of a PrivateMessage can be read: a handshake message, another
    // group's or another epoch's, or anything not MLS never travels the application path.
    if (auto s = handshake::check_application(conv, args.payload); !s) {
      return done(std::move(s).error());
    }
  } else {
    // Proposals are read, and remembered for the commits of this epoch.
    auto read = handshake::read_proposal(directory(), conv, actor, args.payload, now_s());
    if (!read) return done(std::move(read).error());
    proposal = std::move(*read);
    auto checked = public_groups::check_proposal(conv, args.payload);
    if (!checked) return done(std::move(checked).error());
    view = std::move(*checked);
  }
  if (auto s = group_rules::check_send(directory(), conv, actor, args.kind,
                                       proposal ? &*proposal : nullptr);
      !s) {
    return done(std::move(s).error());
  }
  Change change = ctx_.change();
  if (proposal) {
    change.on_commit(
        [c = &conv, proposal = std::move(*proposal), view = std::move(view)]() mutable {
          c->proposals.push_back(std::move(proposal));
          if (view) c->public_group = std::move(view);
        });
  }
  const uint64_t seq = conv.last_seq + 1;
  const int64_t now = ctx_.clock.now_ms();
  storage::LogRecord record;
  record.set_kind(static_cast<int>(args.kind));
  record.set_epoch(args.epoch);
  record.set_sender_device(actor);
  record.set_time_ms(now);
  record.set_payload(std::move(args.payload));
  append(conv, seq, std::move(record), std::move(change), [done, seq, now](const Status& s) {
    if (!s) return done(s.error());
    done(SendOk{seq, now});
  });
}

void Conversations::append(ConvState& conv, uint64_t seq, storage::LogRecord record, Change change,
                           std::function<void(const Status&)> done) {
  change.batch().append_log(conv.id, seq, record);
  change.on_commit([c = &conv, seq] { c->last_seq = seq; });
  std::move(change).commit(ctx_.committer, [this, conv_id = conv.id, seq, done = std::move(done),
                                            record = std::move(record)](const Status& s) {
    if (!s) return done(s);
    // Durability is not a change of the state but news of one: readers may now go this far.
    if (ConvState* c = find(conv_id)) c->durable_seq = std::max(c->durable_seq, seq);
    // The sender hears first, so that its session knows the entry as its own before any later
    // entry is fanned out.
    done(s);
    publish(conv_id, seq, record);
  });
}

void Conversations::append_event(const ConvId& conv_id, DeviceId actor, const v1::GroupEvent& event,
                                 Change change, Done<uint64_t> done) {
  ConvState& conv = *find(conv_id);
  const uint64_t seq = conv.last_seq + 1;
  storage::LogRecord record;
  record.set_kind(static_cast<int>(EntryKind::kEvent));
  record.set_epoch(conv.epoch);
  record.set_sender_device(actor);
  record.set_time_ms(ctx_.clock.now_ms());
  record.set_payload(event.SerializeAsString());
  append(conv, seq, std::move(record), std::move(change),
         [done = std::move(done), seq](const Status& s) {
           if (!s) return done(s.error());
           done(seq);
         });
}

void Conversations::publish(const ConvId& conv_id, uint64_t seq, const storage::LogRecord& record) {
  const ConvState* conv = conversation(conv_id);
  if (!conv) return;
  recipients_.clear();
  // Events go to their author's devices too: the response does not carry them.
  const bool event = record.kind() == static_cast<int>(EntryKind::kEvent);
  for (const auto& [device, member] : conv->members) {
    if ((event || device != record.sender_device()) && member.reads(seq))
      recipients_.push_back(device);
  }
  outbox_.publish(conv_id, seq, record, recipients_);
}

}  // namespace cercle::domain
