// Client: the rules of a groupe de parole. Reading them from the group's MLS state, checking every
// incoming commit against them before applying it (client/policy, the same check the relay
// runs), and the facilitators' calls that change them.
#include <algorithm>
#include <set>

#include "cercle/mls/key_package.h"
#include "cercle/policy/extensions.h"
#include "cercle/policy/policy.h"
#include "client/sdk/client_internal.h"
#include "client/sdk/client_rules.h"

namespace cercle::client {

namespace {

constexpr v1::PolicyRefusal kAllowed = v1::POLICY_REFUSAL_UNSPECIFIED;

std::optional<std::string> policy_bytes(const mls::State& state) {
  for (const auto& e : state.group_context_extensions()) {
    if (e.extension_type == policy::kRolesExtensionType) return to_string(e.extension_data);
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
    if (e.extension_type == policy::kAccountTypeExtensionType) {
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
  const auto* e = mls::find_extension(leaf.extensions, policy::kAccountTypeExtensionType);
  return e ? policy::kind_of_extension(to_string(e->extension_data)) : policy::Kind::kPeer;
}

policy::Member member_from(const mls::LeafNode& leaf) {
  policy::Member m;
  m.handle = to_string(leaf.credential.identity);
  m.kind = kind_of_leaf(leaf);
  m.signature_key = to_string(leaf.signature_key);
  return m;
}

v1::PolicyRefusal update_refusal(const mls::State& state, const mls::LeafNode& next,
                                 uint32_t sender) {
  const mls::LeafNode* old = state.tree().leaf(sender);
  if (!old) return v1::POLICY_REFUSAL_NOT_A_MEMBER;
  // The whole credential (its type too), then what policy::leaf_change compares.
  if (!(old->credential == next.credential)) return v1::POLICY_REFUSAL_IDENTITY_CHANGED;
  return policy::leaf_change(member_from(*old), member_from(next));
}

}  // namespace

v1::PolicyRefusal proposal_refusal_code(const mls::State& state, const mls::Proposal& p,
                                        uint32_t sender) {
  const auto& v = p.value;
  if (std::holds_alternative<mls::PskProposal>(v) ||
      std::holds_alternative<mls::ReInitProposal>(v) ||
      std::holds_alternative<mls::ExternalInitProposal>(v)) {
    return v1::POLICY_REFUSAL_PROPOSAL_TYPE_REFUSED;
  }
  if (const auto* u = std::get_if<mls::UpdateProposal>(&v)) {
    return update_refusal(state, u->leaf_node, sender);
  }
  const mls::LeafNode* leaf = state.tree().leaf(sender);
  if (!leaf) return v1::POLICY_REFUSAL_NOT_A_MEMBER;
  const auto rules = group_policy(state);
  const bool facilitator =
      rules && policy::role_of(*rules, to_string(leaf->credential.identity)) == v1::FACILITATOR;
  if (const auto* gce = std::get_if<mls::GroupContextExtensionsProposal>(&v)) {
    // A group's first commit sets its rules; after that only a facilitator changes them.
    const bool first_rules =
        !rules && mls::find_extension(gce->extensions, policy::kRolesExtensionType) != nullptr;
    return facilitator || first_rules ? kAllowed
                                      : v1::POLICY_REFUSAL_ONLY_FACILITATOR_CHANGES_RULES;
  }
  if (!rules || facilitator) return kAllowed;  // A direct conversation's members add their devices.
  if (const auto* r = std::get_if<mls::RemoveProposal>(&v)) {
    return r->removed == sender ? kAllowed : v1::POLICY_REFUSAL_ONLY_FACILITATOR_REMOVES;
  }
  if (const auto* a = std::get_if<mls::AddProposal>(&v)) {
    if (rules->join_rule() == v1::OPEN_TO_PEERS &&
        kind_of_leaf(a->key_package.leaf_node) == policy::Kind::kPeer) {
      return kAllowed;
    }
    return v1::POLICY_REFUSAL_ONLY_FACILITATOR_ADDS;
  }
  return v1::POLICY_REFUSAL_PROPOSAL_TYPE_REFUSED;
}

std::string proposal_refusal(const mls::State& state, const mls::Proposal& p, uint32_t sender) {
  const auto code = proposal_refusal_code(state, p, sender);
  return code == kAllowed ? std::string() : policy::describe({code, {}});
}

mls::CommitOptions rule_abiding_options(const mls::State& state) {
  mls::CommitOptions options;
  options.pending_filter = [state](const mls::CachedProposal& p) {
    return proposal_refusal_code(state, p.proposal, p.sender) == kAllowed;
  };
  return options;
}

namespace {

// A commit's proposals must each be allowed (proposal_refusal), and whoever stays at a leaf stays
// who they were: same name, account type and signature key (an UpdatePath may not change them).
v1::PolicyRefusal who_stays_refusal(const mls::State& before, const mls::ProcessOutput& out) {
  const auto before_members = members_of(before);
  const auto after_members = members_of(out.state);
  for (const auto& p : out.proposals) {
    if (auto why = proposal_refusal_code(before, p.proposal, p.sender); why != kAllowed) {
      return why;
    }
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
      if (auto why = policy::leaf_change(m, a); why != kAllowed) return why;
    }
  }
  return kAllowed;
}

// What the commit did, read by comparing the group before and after it, as check_commit's facts.
policy::Verdict commit_verdict(const Conv& conv, const mls::State& before,
                               const mls::ProcessOutput& out, int64_t time_ms) {
  using policy::Refusal;
  if (auto why = who_stays_refusal(before, out); why != kAllowed) return Refusal{why, {}};
  const auto old_bytes = policy_bytes(before);
  const auto new_bytes = policy_bytes(out.state);
  if (!old_bytes && !new_bytes) return policy::Accepted{};  // A direct conversation.
  if (old_bytes && !new_bytes) return Refusal{v1::POLICY_REFUSAL_RULES_REMOVED, {}};
  policy::Group g;
  g.conversation_id = conv.id;
  if (old_bytes) {
    g.policy.emplace();
    if (!g.policy->ParseFromString(*old_bytes)) {
      return Refusal{v1::POLICY_REFUSAL_RULES_UNREADABLE, {}};
    }
  }
  g.members = members_of(before);
  for (const auto& [nonce, i] : conv.invitations) {
    if (i.used()) g.used_invitations.insert(nonce);
    if (i.revoked()) g.revoked_invitations.insert(nonce);
    if (i.declined()) g.declined_invitations.insert(nonce);
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
    if (!c.new_policy->ParseFromString(*new_bytes)) {
      return Refusal{v1::POLICY_REFUSAL_RULES_UNREADABLE, {}};
    }
  }
  if (!out.authenticated_data.empty() &&
      !c.data.ParseFromString(to_string(out.authenticated_data))) {
    return Refusal{v1::POLICY_REFUSAL_DATA_UNREADABLE, {}};
  }
  return policy::check_commit(g, c, time_ms);
}

}  // namespace

// The SDK words a refusal for its warning (policy::describe); the code is what the rules decided.
std::string Client::Impl::check_commit(const Conv& conv, const mls::State& before,
                                       const mls::ProcessOutput& out, int64_t time_ms,
                                       std::vector<std::string>& used) const {
  auto verdict = commit_verdict(conv, before, out, time_ms);
  if (!verdict) return policy::describe(verdict.error());
  used = std::move(verdict->used_nonces);
  return {};
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
            mls::Extension{policy::kRolesExtensionType, to_bytes(rules->SerializeAsString())}};
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
  if (p->has_seances()) {
    const auto& s = p->seances();
    r.seances = GroupRules::Seances{s.write_only_in_seance(), s.turn_taking(), s.erase_after(),
                                    s.erase_delay_minutes()};
  }
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
    if (!rules.seances) {
      p.clear_seances();
      return Ok{};
    }
    auto& s = *p.mutable_seances();
    s.set_write_only_in_seance(rules.seances->write_only_in_seance);
    s.set_turn_taking(rules.seances->turn_taking);
    s.set_erase_after(rules.seances->erase_after);
    s.set_erase_delay_minutes(rules.seances->erase_delay_minutes);
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
