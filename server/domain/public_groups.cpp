#include "server/domain/public_groups.h"

#include <algorithm>

#include "cercle/mls/key_package.h"
#include "cercle/mls/public_group.h"
#include "cercle/policy/extensions.h"
#include "server/domain/handshake.h"

namespace cercle::domain::public_groups {

namespace {

using View = std::shared_ptr<const mls::PublicGroup>;

mls::BytesView bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string str(const mls::Bytes& b) { return std::string(b.begin(), b.end()); }

Error invalid(std::string message) {
  return make_error(Errc::kInvalidArgument, std::move(message));
}

// An error of PublicGroup::verify: a bad signature means the message is not its sender leaf's.
Error unverified(const mls::Error& e) {
  if (e.code == mls::Errc::kVerify) {
    return make_error(Errc::kForbidden,
                      "the message's signature does not verify with its sender's leaf key");
  }
  return invalid("the message cannot be read against the group's state: " + e.message);
}

// The creator's leaf must be its own, as every leaf a member puts in the tree (handshake.h).
Status check_creator_leaf(const Directory& dir, DeviceId actor, const mls::PublicGroup& group) {
  const mls::LeafNode* leaf = group.tree().leaf(0);
  mls_checks::LeafFacts facts{str(leaf->credential.identity), str(leaf->signature_key),
                              str(leaf->encryption_key), std::nullopt};
  if (const auto* type = mls::find_extension(leaf->extensions, policy::kAccountTypeExtensionType)) {
    facts.account_type = str(type->extension_data);
  }
  return handshake::check_leaf_owner(dir, actor, facts);
}

// The view a group's first commit starts from: the creator's statement, if it made one.
Result<View> start(const Directory& dir, const ConvState& conv, DeviceId actor,
                   const CommitArgs& args) {
  if (!args.genesis) {
    if (kGenesisRequired && conv.epoch == 0) {
      return invalid("a group's first commit must state the group's start (genesis)");
    }
    return View();
  }
  if (conv.epoch != 0) return invalid("only a group's first commit states the group's start");
  const auto& g = *args.genesis;
  auto group = mls::PublicGroup::from_genesis(bytes(g.group_context), bytes(g.ratchet_tree),
                                              bytes(conv.id.str()));
  if (!group) return invalid("the genesis is not this group's start: " + group.error().message);
  if (auto s = check_creator_leaf(dir, actor, *group); !s) return std::move(s).error();
  return std::make_shared<const mls::PublicGroup>(std::move(*group));
}

}  // namespace

Result<CommitCheck> check_commit(const Directory& dir, const ConvState& conv, DeviceId actor,
                                 const CommitArgs& args, uint64_t now_s) {
  View current = conv.public_group;
  const bool first = !current;
  if (first) {
    auto started = start(dir, conv, actor, args);
    if (!started) return std::move(started).error();
    current = std::move(*started);
  } else if (args.genesis) {
    return invalid("only a group's first commit states the group's start");
  }
  if (!current) return CommitCheck{};
  auto content = current->verify(bytes(args.commit));
  if (!content) return unverified(content.error());
  std::optional<mls::BytesView> confirmed;
  if (first) confirmed = bytes(args.genesis->confirmed_transcript_hash);
  auto applied = current->apply_commit(*content, confirmed, now_s);
  if (!applied) return invalid("the members would refuse this commit: " + applied.error().message);
  CommitCheck out;
  out.next = std::make_shared<const mls::PublicGroup>(std::move(applied->next));
  out.applied = std::move(*applied);
  return out;
}

Result<std::vector<uint32_t>> added_leaves(const CommitCheck& check,
                                           const handshake::MembershipChange& change) {
  std::vector<uint32_t> leaves;
  if (!check.applied) {
    if (change.adds.empty()) return leaves;
    return make_error(Errc::kForbidden,
                      "the relay does not follow this conversation's MLS group, so it cannot "
                      "tell where added devices sit: it takes no new members");
  }
  const mls::PublicCommit& applied = *check.applied;
  auto removed = applied.removed_leaves, declared = change.removed_leaves;
  std::sort(removed.begin(), removed.end());
  std::sort(declared.begin(), declared.end());
  if (removed != declared || applied.added_leaves.size() != change.adds.size()) {
    return invalid("the commit's adds and removes differ from its MLS proposals");
  }
  for (const auto& [device, ref] : change.adds) {
    auto leaf = applied.added_leaf(bytes(ref));
    if (!leaf) return invalid("the commit's adds differ from its MLS proposals");
    leaves.push_back(*leaf);
  }
  return leaves;
}

Result<View> check_proposal(const ConvState& conv, std::string_view payload) {
  if (!conv.public_group) return View();
  auto content = conv.public_group->verify(bytes(payload));
  if (!content) return unverified(content.error());
  auto next = conv.public_group->add_proposal(*content);
  if (!next) {
    if (next.error().code == mls::Errc::kLimit) {
      return make_error(Errc::kLimitReached, "too many proposals in this epoch");
    }
    return invalid("the members would refuse this proposal: " + next.error().message);
  }
  return std::make_shared<const mls::PublicGroup>(std::move(*next));
}

void write(const ConvId& conv, const std::shared_ptr<const mls::PublicGroup>& group,
           storage::WriteBatch& batch) {
  if (!group) return;
  storage::PublicGroupRecord r;
  r.set_state(str(group->serialize()));
  batch.put_public_group(conv, r);
}

Result<View> load(const storage::PublicGroupRecord& record) {
  auto group = mls::PublicGroup::deserialize(bytes(record.state()));
  if (!group) return make_error(Errc::kInternal, "corrupt public group: " + group.error().message);
  return std::make_shared<const mls::PublicGroup>(std::move(*group));
}

}  // namespace cercle::domain::public_groups
