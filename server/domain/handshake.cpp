#include "server/domain/handshake.h"

#include <algorithm>
#include <set>

#include "cercle/mls/key_package.h"
#include "cercle/policy/extensions.h"
#include "server/domain/group_rules.h"

namespace cercle::domain::handshake {

namespace {

using mls_checks::ProposalKind;

Error invalid(std::string message) {
  return make_error(Errc::kInvalidArgument, std::move(message));
}

Error forbidden(std::string message) { return make_error(Errc::kForbidden, std::move(message)); }

// Reads a handshake message of the conversation: this group, this epoch, the actor's own leaf.
Result<mls_checks::HandshakeFacts> read(const ConvState& conv, DeviceId actor,
                                        std::string_view bytes, uint64_t epoch, uint64_t now_s) {
  const MemberState* me = conv.member(actor);
  if (!me) return forbidden("the message is sent from another member's leaf");
  const std::string group_id = conv.id.str();
  const mls_checks::Envelope expected{group_id, epoch, me->leaf};
  return mls_checks::handshake(bytes, now_s, kLifetimeSkewS, &expected);
}

// The device whose KeyPackage an Add adds: the relay must have accepted that package from it, and
// a package other than last-resort joins one group only.
Result<DeviceId> device_of_package(const Directory& dir, const mls_checks::KeyPackageFacts& kp) {
  const KeyPackages::PackageRef* ref = dir.key_packages.package_ref(kp.ref);
  if (!ref) {
    return make_error(Errc::kNotFound, "the added key package was not uploaded by any device");
  }
  if (ref->used && !ref->last_resort) {
    return invalid("the added key package was already used to join a group");
  }
  if (dir.key_packages.mls_key_owner(kp.signature_key) != ref->device) {
    return invalid("the added key package is not signed by the device that uploaded it");
  }
  return ref->device;
}

// What no proposal may be, whoever sends it and however it travels (see the header).
Status check_kind(const ConvState& conv, const mls_checks::ProposalFacts& p) {
  switch (p.kind) {
    case ProposalKind::kPreSharedKey:
    case ProposalKind::kReInit:
    case ProposalKind::kExternalInit:
      return forbidden(std::string(mls_checks::name_of(p.kind)) +
                       " proposals are not used in Cercle conversations");
    case ProposalKind::kGroupContextExtensions:
      if (conv.kind != ConvKind::kGroup) {
        return forbidden("a direct conversation has no group rules to change");
      }
      for (uint16_t t : p.extension_types) {
        if (t != policy::kRolesExtensionType) {
          return forbidden("a group's context carries only its rules (extension 0xF0A0)");
        }
      }
      // Without the rules, members would have none while the relay kept enforcing the old ones.
      if (!p.policy && conv.policy) return forbidden("nobody may take the group's rules away");
      return Ok{};
    default:
      return Ok{};
  }
}

// Who may propose what, whatever the rules: a GroupContextExtensions proposal comes from a
// facilitator (or from a new group's creator, alone in it until its first commit sets the rules).
Status check_author(const Directory& dir, const ConvState& conv, uint32_t proposer,
                    const mls_checks::ProposalFacts& p) {
  if (p.kind != ProposalKind::kGroupContextExtensions || !conv.policy) return Ok{};
  if (!group_rules::is_facilitator(dir, conv, conv.device_at(proposer))) {
    return forbidden("only a facilitator changes the group's rules");
  }
  return Ok{};
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

// Each proposal of a commit with the leaf that proposed it (the committer for those by value).
using Proposals = std::vector<std::pair<const mls_checks::ProposalFacts*, uint32_t>>;

Result<Proposals> resolve(const ConvState& conv, const mls_checks::HandshakeFacts& facts) {
  Proposals out;
  for (const auto& p : facts.by_value) out.emplace_back(&p, facts.sender_leaf);
  for (const auto& ref : facts.by_reference) {
    auto it = std::find_if(conv.proposals.begin(), conv.proposals.end(),
                           [&](const CachedProposal& c) { return c.ref == ref; });
    if (it == conv.proposals.end()) {
      return invalid("the commit refers to a proposal the relay does not know in this epoch");
    }
    out.emplace_back(&it->facts, it->sender_leaf);
  }
  return out;
}

// The proposal list must be one RFC 9420 12.2 allows (as far as the relay can see without the
// tree), else every client would refuse a commit the relay had accepted.
Status check_list(const mls_checks::HandshakeFacts& facts, const Proposals& proposals) {
  std::set<uint32_t> touched;  // Leaves updated or removed.
  size_t extensions = 0;
  bool path_required = proposals.empty();
  for (size_t i = 0; i < proposals.size(); ++i) {
    const auto& [p, proposer] = proposals[i];
    if (p->kind == ProposalKind::kUpdate && i < facts.by_value.size()) {
      return invalid("a commit carries Update proposals by reference only");
    }
    if (p->kind == ProposalKind::kUpdate && proposer == facts.sender_leaf) {
      return invalid("a commit may not include its committer's own Update");
    }
    const uint32_t leaf = p->kind == ProposalKind::kRemove ? p->removed_leaf : proposer;
    if ((p->kind == ProposalKind::kUpdate || p->kind == ProposalKind::kRemove) &&
        !touched.insert(leaf).second) {
      return invalid("a commit updates or removes the same leaf twice");
    }
    if (p->kind == ProposalKind::kGroupContextExtensions && ++extensions > 1) {
      return invalid("a commit changes the group context extensions twice");
    }
    // RFC 9420 12.4 also asks a path of a GroupContextExtensions commit, but the web client's MLS
    // library (ts-mls 1.6) sends none there, and members of its groups follow such commits.
    path_required |=
        p->kind != ProposalKind::kAdd && p->kind != ProposalKind::kGroupContextExtensions;
  }
  if (path_required && !facts.has_path) return invalid("this commit needs an UpdatePath");
  return Ok{};
}

// No encryption key may appear twice among what the commit puts in the tree (RFC 9420 requires
// them unique; the relay cannot see the tree's other keys, the clients check those).
Status check_keys(const mls_checks::HandshakeFacts& facts, const Proposals& proposals) {
  std::set<std::string> keys;
  auto fresh = [&](const std::string& k) { return keys.insert(k).second; };
  bool unique = true;
  if (facts.path_leaf) unique &= fresh(facts.path_leaf->encryption_key);
  for (const auto& k : facts.path_keys) unique &= fresh(k);
  for (const auto& [p, proposer] : proposals) {
    if (p->leaf) unique &= fresh(p->leaf->encryption_key);
    if (p->added) unique &= fresh(p->added->encryption_key) && fresh(p->added->init_key);
  }
  if (!unique) return invalid("the commit uses an encryption key twice");
  return Ok{};
}

// Each proposal of the commit as the relay allows it, and the membership change it makes.
Status read_proposals(const Directory& dir, const ConvState& conv, const Proposals& proposals,
                      MembershipChange& change) {
  for (const auto& [p, proposer] : proposals) {
    if (auto s = check_kind(conv, *p); !s) return s;
    if (auto s = check_author(dir, conv, proposer, *p); !s) return s;
    if (p->kind == ProposalKind::kAdd) {
      auto device = device_of_package(dir, *p->added);
      if (!device) return std::move(device).error();
      change.adds.emplace_back(*device, p->added->ref);
      change.added_professional.push_back(p->added->professional);
    } else if (p->kind == ProposalKind::kRemove) {
      const DeviceId device = conv.device_at(p->removed_leaf);
      if (device == 0) return invalid("the commit removes a leaf where no member is");
      change.removes.push_back(device);
      change.removed_leaves.push_back(p->removed_leaf);
      change.self_requested.push_back(proposer == p->removed_leaf);
    } else if (p->kind == ProposalKind::kUpdate) {
      if (auto s = check_leaf_owner(dir, conv.device_at(proposer), *p->leaf); !s) return s;
    } else if (p->kind == ProposalKind::kGroupContextExtensions && p->policy) {
      change.policy = p->policy;
    }
  }
  return Ok{};
}

}  // namespace

Status check_leaf_owner(const Directory& dir, DeviceId device, const mls_checks::LeafFacts& leaf) {
  const AccountState* a = dir.identity.account_of(device);
  if (!a) return forbidden("the leaf belongs to no member of the conversation");
  if (leaf.identity != a->handle) {
    return forbidden("a member's leaf must name its own account (" + a->handle + ")");
  }
  const bool professional = a->type == AccountType::kProfessional;
  const std::string expected(1, professional ? '\x02' : '\x01');
  if (leaf.account_type ? *leaf.account_type != expected : professional) {
    return forbidden(std::string("a member's leaf must carry its account type (") +
                     (professional ? "professional" : "peer") + ", extension 0xF0A1)");
  }
  if (leaf.signature_key != group_rules::leaf_key(dir, device)) {
    return forbidden("a member's leaf must carry the MLS signature key its device bound");
  }
  return Ok{};
}

Status check_application(const ConvState& conv, std::string_view payload) {
  return mls_checks::application(payload, conv.id.str(), conv.epoch);
}

Result<MembershipChange> read_commit(const Directory& dir, const ConvState& conv, DeviceId actor,
                                     const CommitArgs& args, uint64_t now_s) {
  auto facts = read(conv, actor, args.commit, args.epoch, now_s);
  if (!facts) return std::move(facts).error();
  if (!facts->is_commit) return invalid("the commit field must hold an MLS commit");
  auto proposals = resolve(conv, *facts);
  if (!proposals) return std::move(proposals).error();
  if (auto s = check_list(*facts, *proposals); !s) return std::move(s).error();
  MembershipChange change;
  change.committer_leaf = facts->sender_leaf;
  change.authenticated_data = facts->authenticated_data;
  if (auto s = read_proposals(dir, conv, *proposals, change); !s) return std::move(s).error();
  if (facts->path_leaf) {
    if (auto s = check_leaf_owner(dir, actor, *facts->path_leaf); !s) {
      return std::move(s).error();
    }
  }
  if (auto s = check_keys(*facts, *proposals); !s) return std::move(s).error();
  if (auto s = check_declared(change, args); !s) return std::move(s).error();
  return change;
}

Result<CachedProposal> read_proposal(const Directory& dir, const ConvState& conv, DeviceId actor,
                                     std::string_view payload, uint64_t now_s) {
  auto facts = read(conv, actor, payload, conv.epoch, now_s);
  if (!facts) return std::move(facts).error();
  if (facts->is_commit) return invalid("commits are sent with Commit, not Send");
  const auto& p = facts->by_value.front();
  if (auto s = check_kind(conv, p); !s) return std::move(s).error();
  if (auto s = check_author(dir, conv, facts->sender_leaf, p); !s) return std::move(s).error();
  if (p.kind == ProposalKind::kAdd) {
    auto device = device_of_package(dir, *p.added);
    if (!device) return std::move(device).error();
    const MemberState* m = conv.member(*device);
    if (m && m->active()) return invalid("the proposal adds a device that is already a member");
  } else if (p.kind == ProposalKind::kRemove && conv.device_at(p.removed_leaf) == 0) {
    return invalid("the proposal removes a leaf where no member is");
  } else if (p.kind == ProposalKind::kUpdate) {
    if (auto s = check_leaf_owner(dir, actor, *p.leaf); !s) return std::move(s).error();
  }
  const auto pending =
      std::count_if(conv.proposals.begin(), conv.proposals.end(),
                    [&](const CachedProposal& c) { return c.sender_leaf == facts->sender_leaf; });
  if (static_cast<size_t>(pending) >= kMaxProposalsPerMember) {
    return make_error(Errc::kLimitReached, "too many pending proposals from this member");
  }
  return CachedProposal{facts->proposal_ref, facts->sender_leaf, p};
}

}  // namespace cercle::domain::handshake
