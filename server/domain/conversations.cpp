#include "server/domain/conversations.h"

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

}  // namespace

size_t Conversations::conversation_count(DeviceId device) const {
  auto it = ctx_.state.device_conversations.find(device);
  return it == ctx_.state.device_conversations.end() ? 0 : it->second.size();
}

uint64_t Conversations::now_s() const { return static_cast<uint64_t>(ctx_.clock.now_ms() / 1000); }

// Applies what the group rules accepted: the new policy, and the invitations now used; join
// requests of those added are settled.
void Conversations::apply_rules(ConvState& conv, const group_rules::Accepted& rules,
                                const handshake::MembershipChange& change,
                                storage::WriteBatch& batch) {
  if (rules.policy) conv.policy = rules.policy;
  for (const auto& nonce : rules.used_nonces) {
    conv.used_invitations.insert(nonce);
    auto it = conv.invitations.find(nonce);
    if (it == conv.invitations.end()) continue;
    it->second.used = true;
    write_invitation(conv, nonce, it->second, batch);
  }
  for (const auto& [device, ref] : change.adds) {
    if (const DeviceState* d = identity_.device(device)) conv.join_requests.erase(d->account);
  }
}

void Conversations::write_invitation(const ConvState& conv, const std::string& nonce,
                                     const InvitationState& i, storage::WriteBatch& batch) const {
  storage::InvitationRecord r;
  r.set_signed_invitation(i.signed_bytes);
  r.set_invitee_account(i.invitee);
  r.set_accepted_ms(i.accepted_ms);
  r.set_objected(i.objected);
  r.set_used(i.used);
  r.set_revoked(i.revoked);
  batch.put_invitation(conv.id, nonce, r);
}

storage::MemberRecord Conversations::member_record(const MemberState& m) {
  storage::MemberRecord r;
  r.set_leaf(m.leaf);
  r.set_join_seq(m.join_seq);
  r.set_left_seq(m.left_seq);
  for (const auto& [join, left] : m.earlier) {
    auto* p = r.add_earlier();
    p->set_join_seq(join);
    p->set_left_seq(left);
  }
  return r;
}

void Conversations::write_conversation(const ConvState& conv, storage::WriteBatch& batch) const {
  storage::ConversationRecord r;
  r.set_id(conv.id.str());
  r.set_kind(static_cast<int>(conv.kind));
  r.set_epoch(conv.epoch);
  r.set_created_ms(conv.created_ms);
  for (AccountId a : conv.accounts) r.add_accounts(a);
  if (conv.policy) r.set_policy(conv.policy->SerializeAsString());
  for (const auto& n : conv.used_invitations) r.add_used_invitations(n);
  for (const auto& n : conv.revoked_invitations) r.add_revoked_invitations(n);
  for (AccountId a : conv.join_requests) r.add_join_requests(a);
  r.set_erased_upto(conv.erased_upto);
  batch.put_conversation(conv.id, r);
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
  auto& state = ctx_.state;
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
  conv.id = state.new_conv_id();
  conv.created_ms = ctx_.clock.now_ms();
  conv.add_member(actor, MemberState{});

  auto batch = ctx_.store.batch();
  write_conversation(conv, batch);
  batch.put_member(conv.id, actor, storage::MemberRecord());
  state.device_conversations[actor].push_back(conv.id);
  ConvView v = view(conv, actor);
  state.conversations.emplace(conv.id, std::move(conv));
  ctx_.committer.submit(std::move(batch), [v = std::move(v), done](const Status& s) mutable {
    if (!s) return done(s.error());
    done(std::move(v));
  });
}

Result<ConvState*> Conversations::writable(DeviceId actor, const ConvId& conv_id, uint64_t epoch) {
  ConvState* conv = ctx_.state.conversation(conv_id);
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

void Conversations::commit(DeviceId actor, CommitArgs args, Done<CommitOk> done) {
  auto w = writable(actor, args.conv, args.epoch);
  if (!w) return done(std::move(w).error());
  ConvState& conv = **w;
  const size_t limit = ctx_.config.max_payload_bytes;
  if (args.commit.empty()) return done(make_error(Errc::kInvalidArgument, "the commit is empty"));
  if (args.commit.size() > limit) return done(too_large("the commit", limit));
  if (args.welcome.size() > limit) return done(too_large("the welcome", limit));
  auto change = handshake::read_commit(directory(), conv, actor, args, now_s());
  if (!change) return done(std::move(change).error());
  auto view = public_groups::check_commit(directory(), conv, actor, args, now_s());
  if (!view) return done(std::move(view).error());
  if (auto s = check_commit_members(conv, actor, args); !s) return done(std::move(s).error());
  std::optional<group_rules::Accepted> rules;
  if (conv.kind == ConvKind::kGroup) {
    auto accepted = group_rules::check_commit(directory(), conv, *change, ctx_.clock.now_ms());
    if (!accepted) return done(std::move(accepted).error());
    rules = std::move(*accepted);
  }

  auto leaves = public_groups::added_leaves(*view, *change);
  if (!leaves) return done(std::move(leaves).error());
  const uint64_t seq = ++conv.last_seq;
  conv.epoch += 1;
  conv.proposals.clear();  // Proposals do not outlive their epoch.
  if (view->next) conv.public_group = std::move(view->next);
  Change staged = ctx_.change();
  auto& batch = staged.batch();
  if (rules) apply_rules(conv, *rules, *change, batch);
  write_conversation(conv, batch);
  public_groups::write(conv, batch);
  for (size_t i = 0; i < change->adds.size(); ++i) {
    const DeviceId id = change->adds[i].first;
    key_packages_.mark_used(staged, change->adds[i].second);
    MemberState added{(*leaves)[i], seq - 1, 0, seq - 1, false, {}};
    if (const MemberState* before = conv.member(id)) {
      // Removed while offline and added again: it keeps what it had not read of its earlier
      // membership, and its cursor.
      added.earlier = before->earlier;
      if (before->cursor < before->left_seq)
        added.earlier.emplace_back(before->join_seq, before->left_seq);
      if (!added.earlier.empty()) added.cursor = before->cursor;
    }
    batch.put_member(conv.id, id, member_record(added));
    conv.add_member(id, std::move(added));
    auto& convs = ctx_.state.device_conversations[id];
    if (std::find(convs.begin(), convs.end(), conv.id) == convs.end()) convs.push_back(conv.id);
  }
  for (DeviceId id : args.remove) {
    MemberState* m = conv.member(id);
    m->left_seq = seq;
    batch.put_member(conv.id, id, member_record(*m));
  }
  storage::LogRecord record;
  record.set_kind(static_cast<int>(EntryKind::kCommit));
  record.set_epoch(args.epoch);
  record.set_sender_device(actor);
  record.set_time_ms(ctx_.clock.now_ms());
  record.set_payload(std::move(args.commit));
  for (DeviceId id : args.add) record.add_added_devices(id);
  for (DeviceId id : args.remove) record.add_removed_devices(id);
  record.set_welcome(std::move(args.welcome));
  const uint64_t epoch = conv.epoch;
  append(conv, seq, std::move(record), std::move(staged), [done, seq, epoch](const Status& s) {
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
  if (proposal) conv.proposals.push_back(std::move(*proposal));
  if (view) conv.public_group = std::move(view);
  const uint64_t seq = ++conv.last_seq;
  const int64_t now = ctx_.clock.now_ms();
  storage::LogRecord record;
  record.set_kind(static_cast<int>(args.kind));
  record.set_epoch(args.epoch);
  record.set_sender_device(actor);
  record.set_time_ms(now);
  record.set_payload(std::move(args.payload));
  append(conv, seq, std::move(record), ctx_.change(), [done, seq, now](const Status& s) {
    if (!s) return done(s.error());
    done(SendOk{seq, now});
  });
}

void Conversations::append(ConvState& conv, uint64_t seq, storage::LogRecord record, Change change,
                           std::function<void(const Status&)> done) {
  change.batch().append_log(conv.id, seq, record);
  std::move(change).commit(ctx_.committer, [this, conv_id = conv.id, seq, done = std::move(done),
                                            record = std::move(record)](const Status& s) {
    if (!s) return done(s);
    if (ConvState* c = ctx_.state.conversation(conv_id))
      c->durable_seq = std::max(c->durable_seq, seq);
    // The sender hears first, so that its session knows the entry as its own before any later
    // entry is fanned out.
    done(s);
    publish(conv_id, seq, record);
  });
}

void Conversations::append_event(ConvState& conv, DeviceId actor, const v1::GroupEvent& event,
                                 storage::WriteBatch batch, Done<uint64_t> done) {
  const uint64_t seq = ++conv.last_seq;
  storage::LogRecord record;
  record.set_kind(static_cast<int>(EntryKind::kEvent));
  record.set_epoch(conv.epoch);
  record.set_sender_device(actor);
  record.set_time_ms(ctx_.clock.now_ms());
  record.set_payload(event.SerializeAsString());
  append(conv, seq, std::move(record), Change(std::move(batch)),
         [done = std::move(done), seq](const Status& s) {
           if (!s) return done(s.error());
           done(seq);
         });
}

void Conversations::publish(const ConvId& conv_id, uint64_t seq, const storage::LogRecord& record) {
  const ConvState* conv = ctx_.state.conversation(conv_id);
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
