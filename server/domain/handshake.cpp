#include "server/domain/handshake.h"

#include <algorithm>
#include <set>

namespace cercle::domain::handshake {

namespace {

Error invalid(std::string message) {
  return make_error(Errc::kInvalidArgument, std::move(message));
}

// Checks what every handshake message of the conversation must be: this group, this epoch, the
// actor's own leaf.
Status check_envelope(const ConvState& conv, DeviceId actor, const mls_checks::HandshakeFacts& f,
                      uint64_t epoch) {
  if (f.group_id != conv.id.str()) return invalid("the message is for another MLS group");
  if (f.epoch != epoch) return invalid("the message's MLS epoch is not the request's");
  const MemberState* me = conv.member(actor);
  if (!me || f.sender_leaf != me->leaf) {
    return make_error(Errc::kForbidden, "the message is sent from another member's leaf");
  }
  return Ok{};
}

// The device whose KeyPackage an Add adds: the relay must have accepted that package from it, and
// a package other than last-resort joins one group only.
Result<DeviceId> device_of_package(const State& state, const mls_checks::KeyPackageFacts& kp) {
  auto it = state.package_refs.find(kp.ref);
  if (it == state.package_refs.end()) {
    return make_error(Errc::kNotFound, "the added key package was not uploaded by any device");
  }
  if (it->second.used && !it->second.last_resort) {
    return invalid("the added key package was already used to join a group");
  }
  auto key = state.mls_keys.find(kp.signature_key);
  if (key == state.mls_keys.end() || key->second != it->second.device) {
    return invalid("the added key package is not signed by the device that uploaded it");
  }
  return it->second.device;
}

template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

Status check_declared(const MembershipChange& change, const CommitArgs& args) {
  std::vector<DeviceId> added;
  for (const auto& [device, ref] : change.adds) added.push_back(device);
  if (sorted(added) != sorted(args.add)) {
    return invalid("add_devices must list exactly the devices the commit adds");
  }
  if (sorted(change.removes) != sorted(args.remove)) {
    return invalid("remove_devices must list exactly the devices the commit removes");
  }
  if (change.adds.empty()) {
    if (!args.welcome.empty()) return invalid("a welcome goes with added devices, and only then");
    return Ok{};
  }
  auto targets = mls_checks::welcome_targets(args.welcome);
  if (!targets) return std::move(targets).error();
  std::vector<std::string> refs;
  for (const auto& [device, ref] : change.adds) refs.push_back(ref);
  if (sorted(*targets) != sorted(refs)) {
    return invalid("the welcome must be for exactly the key packages the commit adds");
  }
  return Ok{};
}

}  // namespace

Result<MembershipChange> read_commit(const State& state, const ConvState& conv, DeviceId actor,
                                     const CommitArgs& args, uint64_t now_s) {
  auto facts = mls_checks::handshake(args.commit, now_s, kLifetimeSkewS);
  if (!facts) return std::move(facts).error();
  if (!facts->is_commit) return invalid("the commit field must hold an MLS commit");
  if (auto s = check_envelope(conv, actor, *facts, args.epoch); !s) return std::move(s).error();

  // Each proposal with the leaf that proposed it (the committer for those carried by value).
  std::vector<std::pair<const mls_checks::ProposalFacts*, uint32_t>> proposals;
  for (const auto& p : facts->by_value) proposals.emplace_back(&p, facts->sender_leaf);
  for (const auto& ref : facts->by_reference) {
    auto it = std::find_if(conv.proposals.begin(), conv.proposals.end(),
                           [&](const CachedProposal& c) { return c.ref == ref; });
    if (it == conv.proposals.end()) {
      return invalid("the commit refers to a proposal the relay does not know in this epoch");
    }
    proposals.emplace_back(&it->facts, it->sender_leaf);
  }
  MembershipChange change;
  change.committer_leaf = facts->sender_leaf;
  change.authenticated_data = facts->authenticated_data;
  for (const auto& [p, proposer] : proposals) {
    if (p->kind == mls_checks::ProposalKind::kAdd) {
      auto device = device_of_package(state, *p->added);
      if (!device) return std::move(device).error();
      change.adds.emplace_back(*device, p->added->ref);
      change.added_professional.push_back(p->added->professional);
    } else if (p->kind == mls_checks::ProposalKind::kRemove) {
      const DeviceId device = conv.device_at(p->removed_leaf);
      if (device == 0) return invalid("the commit removes a leaf where no member is");
      change.removes.push_back(device);
      change.removed_leaves.push_back(p->removed_leaf);
      change.self_requested.push_back(proposer == p->removed_leaf);
    } else if (p->kind == mls_checks::ProposalKind::kGroupContextExtensions) {
      // Extensions without the rules would leave members with no rules while the relay kept
      // enforcing the old ones.
      if (!p->policy && conv.policy) {
        return make_error(Errc::kForbidden, "a commit may not take the group's rules away");
      }
      if (p->policy) change.policy = p->policy;
    }
  }
  if (auto s = check_declared(change, args); !s) return std::move(s).error();
  return change;
}

Result<CachedProposal> read_proposal(const State& state, const ConvState& conv, DeviceId actor,
                                     std::string_view payload, uint64_t now_s) {
  auto facts = mls_checks::handshake(payload, now_s, kLifetimeSkewS);
  if (!facts) return std::move(facts).error();
  if (facts->is_commit) return invalid("commits are sent with Commit, not Send");
  if (auto s = check_envelope(conv, actor, *facts, conv.epoch); !s) return std::move(s).error();
  const auto& p = facts->by_value.front();
  if (p.kind == mls_checks::ProposalKind::kAdd) {
    if (auto device = device_of_package(state, *p.added); !device) return std::move(device).error();
  } else if (p.kind == mls_checks::ProposalKind::kRemove && conv.device_at(p.removed_leaf) == 0) {
    return invalid("the proposal removes a leaf where no member is");
  }
  return CachedProposal{facts->proposal_ref, facts->sender_leaf, p};
}

std::vector<uint32_t> assign_leaves(const ConvState& conv, const std::vector<DeviceId>& removes,
                                    size_t adds) {
  std::set<uint32_t> taken;
  for (const auto& [device, m] : conv.members) {
    if (m.active() && std::find(removes.begin(), removes.end(), device) == removes.end()) {
      taken.insert(m.leaf);
    }
  }
  std::vector<uint32_t> out;
  uint32_t candidate = 0;
  while (out.size() < adds) {
    if (!taken.contains(candidate)) {
      out.push_back(candidate);
      taken.insert(candidate);
    }
    ++candidate;
  }
  return out;
}

}  // namespace cercle::domain::handshake
