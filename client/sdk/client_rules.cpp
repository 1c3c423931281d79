// Client: the rules of a groupe de parole. Reading them from the group's MLS state, checking every
// incoming commit against them before applying it (client/policy, the same check the relay
// runs), and the facilitators' calls that change them.
#include <algorithm>
#include <set>

#include "cercle/mls/key_package.h"
#include "cercle/policy/policy.h"
#include "client/sdk/client_internal.h"

namespace cercle::client {

namespace {

std::optional<std::string> policy_bytes(const mls::State& state) {
  for (const auto& e : state.group_context_extensions()) {
    if (e.extension_type == mls::kRolesExtensionType) return to_string(e.extension_data);
  }
  return std::nullopt;
}

// Who sits at each leaf, as `state` says: handle, account type from the leaf's own extension, key.
std::vector<policy::Member> members_of(const mls::State& state) {
  std::vector<policy::Member> out;
  for (const auto& m : state.members()) {
    policy::Member p;
    p.handle = to_string(m.credential.identity);
    p.leaf = m.leaf_index;
    p.signature_key = to_string(m.signature_key);
    p.kind = member_kind(state, m.leaf_index);
    out.push_back(std::move(p));
  }
  return out;
}

bool same_member(const policy::Member& a, const policy::Member& b) {
  return a.leaf == b.leaf && a.signature_key == b.signature_key && a.handle == b.handle;
}

Role role_from(v1::Role r) {
  switch (r) {
    case v1::FACILITATOR:
      return Role::kFacilitator;
    case v1::INVITED_PROFESSIONAL:
      return Role::kInvitedProfessional;
    default:
      return Role::kMember;
  }
}

void erase_from(google::protobuf::RepeatedPtrField<std::string>* list, std::string_view v) {
  list->erase(std::remove(list->begin(), list->end(), v), list->end());
}

}  // namespace

policy::Kind member_kind(const mls::State& state, uint32_t leaf) {
  const mls::LeafNode* node = state.tree().leaf(leaf);
  if (!node) return policy::Kind::kPeer;
  for (const auto& e : node->extensions) {
    if (e.extension_type == mls::kAccountTypeExtensionType) {
      return policy::kind_of_extension(to_string(e.extension_data));
    }
  }
  return policy::Kind::kPeer;
}

std::optional<v1::GroupPolicy> group_policy(const mls::State& state) {
  auto bytes = policy_bytes(state);
  if (!bytes) return std::nullopt;
  v1::GroupPolicy p;
  if (!p.ParseFromString(*bytes)) return std::nullopt;
  return p;
}

namespace {

policy::Kind kind_of_leaf(const mls::LeafNode& leaf) {
  const auto* e = mls::find_extension(leaf.extensions, mls::kAccountTypeExtensionType);
  return e ? policy::kind_of_extension(to_string(e->extension_data)) : policy::Kind::kPeer;
}

std::string update_refusal(const mls::State& state, const mls::LeafNode& next, uint32_t sender) {
  const mls::LeafNode* old = state.tree().leaf(sender);
  if (!old) return "the change comes from no member";
  if (!(old->credential == next.credential)) return "a member's name cannot change inside a group";
  if (old->signature_key != next.signature_key) {
    return "a member's signature key cannot change inside a group";
  }
  if (kind_of_leaf(*old) != kind_of_leaf(next)) {
    return "a member's account type cannot change inside a group";
  }
  return {};
}

}  // namespace

std::string proposal_refusal(const mls::State& state, const mls::Proposal& p, uint32_t sender) {
  const auto& v = p.value;
  if (std::holds_alternative<mls::PskProposal>(v) ||
      std::holds_alternative<mls::ReInitProposal>(v) ||
      std::holds_alternative<mls::ExternalInitProposal>(v)) {
    return "this kind of change is never used in Cercle";
  }
  if (const auto* u = std::get_if<mls::UpdateProposal>(&v)) {
    return update_refusal(state, u->leaf_node, sender);
  }
  const mls::LeafNode* leaf = state.tree().leaf(sender);
  if (!leaf) return "the change comes from no member";
  const auto rules = group_policy(state);
  const bool facilitator =
      rules && policy::role_of(*rules, to_string(leaf->credential.identity)) == v1::FACILITATOR;
  if (const auto* gce = std::get_if<mls::GroupContextExtensionsProposal>(&v)) {
    // A group's first commit sets its rules; after that only a facilitator changes them.
    const bool first_rules =
        !rules && mls::find_extension(gce->extensions, mls::kRolesExtensionType) != nullptr;
    return facilitator || first_rules ? std::string()
                                      : "only a facilitator changes the group's settings";
  }
  if (!rules || facilitator) return {};  // A direct conversation's members add their devices.
  if (const auto* r = std::get_if<mls::RemoveProposal>(&v)) {
    return r->removed == sender ? std::string() : "only a facilitator removes others";
  }
  if (const auto* a = std::get_if<mls::AddProposal>(&v)) {
    if (rules->join_rule() == v1::OPEN_TO_PEERS &&
        kind_of_leaf(a->key_package.leaf_node) == policy::Kind::kPeer) {
      return {};
    }
    return "only a facilitator adds members to this group";
  }
  return "this kind of change is never used in Cercle";
}

mls::CommitOptions rule_abiding_options(const mls::State& state) {
  mls::CommitOptions options;
  options.pending_filter = [state](const mls::CachedProposal& p) {
    return proposal_refusal(state, p.proposal, p.sender).empty();
  };
  return options;
}

namespace {

// A commit's proposals must each be allowed (proposal_refusal), and whoever stays at a leaf stays
// who they were: same name, account type and signature key (an UpdatePath may not change them).
std::string who_stays_refusal(const mls::State& before, const mls::ProcessOutput& out) {
  const auto before_members = members_of(before);
  const auto after_members = members_of(out.state);
  for (const auto& p : out.proposals) {
    if (auto why = proposal_refusal(before, p.proposal, p.sender); !why.empty()) return why;
  }
  std::set<uint32_t> removed_leaves;  // A leaf freed and taken again in the same commit.
  for (const auto& p : out.proposals) {
    if (const auto* r = std::get_if<mls::RemoveProposal>(&p.proposal.value)) {
      removed_leaves.insert(r->removed);
    }
  }
  for (const auto& a : after_members) {
    for (const auto& m : before_members) {
      if (a.leaf != m.leaf || removed_leaves.contains(a.leaf)) continue;
      if (a.handle != m.handle) return "a member's name cannot change inside a group";
      if (a.kind != m.kind) return "a member's account type cannot change inside a group";
      if (a.signature_key != m.signature_key) {
        return "a member's signature key cannot change inside a group";
      }
    }
  }
  return {};
}

}  // namespace

// What the commit did, read by comparing the group before and after it, checked against the rules
// in force. Returns the refusal ("" when it obeys them) and the invitations it used.
std::string Client::Impl::check_commit(const Conv& conv, const mls::State& before,
                                       const mls::ProcessOutput& out, int64_t time_ms,
                                       std::vector<std::string>& used) const {
  if (auto why = who_stays_refusal(before, out); !why.empty()) return why;
  const auto old_bytes = policy_bytes(before);
  const auto new_bytes = policy_bytes(out.state);
  if (!old_bytes && !new_bytes) return {};  // Not a groupe de parole (a direct conversation).
  if (old_bytes && !new_bytes) return "the commit removes the group's rules";
  policy::Group g;
  g.conversation_id = conv.id;
  if (old_bytes) {
    g.policy.emplace();
    if (!g.policy->ParseFromString(*old_bytes)) return "the group's rules are unreadable";
  }
  g.members = members_of(before);
  for (const auto& [nonce, i] : conv.invitations) {
    if (i.used()) g.used_invitations.insert(nonce);
    if (i.revoked()) g.revoked_invitations.insert(nonce);
  }
  policy::Change c;
  c.committer_leaf = out.sender;
  const auto after = members_of(out.state);
  for (const auto& m : g.members) {
    const bool stays =
        std::any_of(after.begin(), after.end(), [&](const auto& a) { return same_member(a, m); });
    if (!stays) c.removed.push_back({m.leaf, conv.leaving.contains(m.leaf)});
  }
  for (const auto& a : after) {
    const bool was = std::any_of(g.members.begin(), g.members.end(),
                                 [&](const auto& m) { return same_member(a, m); });
    if (!was) c.added.push_back({a.handle, a.kind});
  }
  if (new_bytes != old_bytes) {
    c.new_policy.emplace();
    if (!c.new_policy->ParseFromString(*new_bytes)) return "the group's new rules are unreadable";
  }
  if (!out.authenticated_data.empty() &&
      !c.data.ParseFromString(to_string(out.authenticated_data))) {
    return "the commit's data is unreadable";
  }
  auto verdict = policy::check_commit(g, c, time_ms);
  used = std::move(verdict.used_nonces);
  return verdict.refusal;
}

Status Client::Impl::change_rules(Conv& conv, const std::function<Status(v1::GroupPolicy&)>& edit,
                                  std::string_view remove_handle) {
  std::vector<uint64_t> devices;
  if (!remove_handle.empty()) {
    auto found = devices_of(conv, remove_handle);
    if (!found) return std::move(found).error();
    devices = std::move(*found);
  }
  return change(
      conv, [&](const mls::State& state, v1::Commit& commit) -> mls::Result<mls::CommitOutput> {
        auto rules = group_policy(state);
        if (!rules) return mls::Error{mls::Errc::kNotFound, "this conversation has no group rules"};
        if (auto s = edit(*rules); !s) return mls::Error{mls::Errc::kInvalid, s.error().message};
        mls::CommitOptions options = rule_abiding_options(state);
        options.group_context_extensions = std::vector<mls::Extension>{
            mls::Extension{mls::kRolesExtensionType, to_bytes(rules->SerializeAsString())}};
        if (!remove_handle.empty()) {
          for (const auto& m : state.members()) {
            if (to_string(m.credential.identity) == remove_handle &&
                m.leaf_index != state.own_leaf()) {
              options.remove_leaves.push_back(m.leaf_index);
            }
          }
          for (uint64_t d : devices) commit.add_remove_devices(d);
        }
        return state.commit(options);
      });
}

Result<std::vector<uint64_t>> Client::Impl::devices_of(const Conv& conv, std::string_view handle) {
  v1::ClientFrame get;
  get.mutable_get_conversation()->set_conversation_id(conv.id);
  auto info = conn->call(get);
  if (!info) return std::move(info).error();
  std::vector<uint64_t> devices;
  for (const auto& m : info->conversation().members()) {
    if (m.handle() == handle) devices.push_back(m.device_id());
  }
  return devices;
}

Result<GroupRules> Client::rules(const std::string& conversation) const {
  const Conv* c = impl_->lookup(conversation);
  if (!c || !c->state) return make_error(Errc::kNotFound, "no such conversation on this device");
  auto p = group_policy(*c->state);
  if (!p) return make_error(Errc::kNotFound, "this conversation has no group rules");
  GroupRules r;
  r.open_to_peers = p->join_rule() == v1::OPEN_TO_PEERS;
  r.relatives_admitted = p->relatives_admitted();
  r.retention_days = p->retention_days();
  r.charter = p->charter();
  r.objection_hours = p->objection_hours();
  for (const auto& g : p->roles()) {
    if (g.role() == v1::FACILITATOR) r.facilitators.push_back(g.handle());
  }
  r.banned.assign(p->banned().begin(), p->banned().end());
  r.muted.assign(p->muted().begin(), p->muted().end());
  return r;
}

Result<std::vector<Member>> Client::members(const std::string& conversation) const {
  const Conv* c = impl_->lookup(conversation);
  if (!c || !c->state) return make_error(Errc::kNotFound, "no such conversation on this device");
  const auto p = group_policy(*c->state);
  std::vector<Member> out;
  for (const auto& m : c->state->members()) {
    Member x;
    x.handle = to_string(m.credential.identity);
    x.leaf = m.leaf_index;
    x.self = m.leaf_index == c->state->own_leaf();
    x.professional = member_kind(*c->state, m.leaf_index) == policy::Kind::kProfessional;
    if (p) {
      for (const auto& g : p->roles()) {
        if (g.handle() != x.handle) continue;
        x.role = role_from(g.role());
        x.accompanying = g.accompanying();
      }
    }
    out.push_back(std::move(x));
  }
  return out;
}

Status Client::set_rules(const std::string& conversation, const GroupRules& rules) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  return impl.change_rules(**found, [&](v1::GroupPolicy& p) -> Status {
    p.set_join_rule(rules.open_to_peers ? v1::OPEN_TO_PEERS : v1::INVITE_ONLY);
    p.set_relatives_admitted(rules.relatives_admitted);
    p.set_retention_days(rules.retention_days);
    p.set_charter(rules.charter);
    p.set_objection_hours(rules.objection_hours);
    return Ok{};
  });
}

Status Client::set_role(const std::string& conversation, std::string_view handle, Role role) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  return impl.change_rules(**found, [&](v1::GroupPolicy& p) -> Status {
    auto* roles = p.mutable_roles();
    roles->erase(std::remove_if(roles->begin(), roles->end(),
                                [&](const v1::RoleGrant& g) { return g.handle() == handle; }),
                 roles->end());
    if (role == Role::kMember) return Ok{};
    auto* grant = p.add_roles();
    grant->set_handle(std::string(handle));
    grant->set_role(role == Role::kFacilitator ? v1::FACILITATOR : v1::INVITED_PROFESSIONAL);
    return Ok{};
  });
}

Status Client::ban(const std::string& conversation, std::string_view handle) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  const std::string h(handle);
  return impl.change_rules(
      **found,
      [&](v1::GroupPolicy& p) -> Status {
        if (!policy::is_banned(p, h)) p.add_banned(h);
        auto* roles = p.mutable_roles();
        roles->erase(std::remove_if(roles->begin(), roles->end(),
                                    [&](const v1::RoleGrant& g) { return g.handle() == h; }),
                     roles->end());
        return Ok{};
      },
      h);
}

Status Client::unban(const std::string& conversation, std::string_view handle) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  return impl.change_rules(**found, [&](v1::GroupPolicy& p) -> Status {
    erase_from(p.mutable_banned(), handle);
    return Ok{};
  });
}

Status Client::mute(const std::string& conversation, std::string_view handle, bool muted) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  return impl.change_rules(**found, [&](v1::GroupPolicy& p) -> Status {
    erase_from(p.mutable_muted(), handle);
    if (muted) p.add_muted(std::string(handle));
    return Ok{};
  });
}

}  // namespace cercle::client
