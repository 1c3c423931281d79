// A member's identity never changes inside a group: Update proposals and UpdatePath leaves that
// change the credential are refused by every receiver; the APIs that let tests play such a member
// (propose_update with a LeafChange, CommitOptions::path_leaf) and the pending-proposal filter.
#include <gtest/gtest.h>

#include <algorithm>

#include "cercle/mls/state.h"

namespace cercle::mls {
namespace {

struct Trio {
  State alice, bob, carol;
};

// alice (leaf 0) adds bob (1) and carol (2); everyone at epoch 1.
Trio make_trio() {
  State alice =
      State::create(to_bytes("gid"), Credential(to_bytes("alice")), SignaturePrivateKey::generate())
          .value();
  auto bob_kp =
      create_key_package(Credential(to_bytes("bob")), SignaturePrivateKey::generate()).value();
  auto carol_kp =
      create_key_package(Credential(to_bytes("carol")), SignaturePrivateKey::generate()).value();
  CommitOptions opts;
  opts.add_key_packages = {bob_kp.key_package, carol_kp.key_package};
  auto out = alice.commit(opts).value();
  return {std::move(out.pending), State::join(*out.welcome, bob_kp).value(),
          State::join(*out.welcome, carol_kp).value()};
}

LeafChange renamed(std::string_view to) {
  LeafChange c;
  c.credential = Credential(to_bytes(to));
  return c;
}

TEST(StateIdentity, AnUpdateThatRenamesItsSenderIsRefused) {
  auto t = make_trio();
  auto evil = t.bob.propose_update(renamed("alice")).value();
  auto at_alice = t.alice.process(evil.message);
  ASSERT_FALSE(at_alice.ok());
  EXPECT_EQ(at_alice.error().code, Errc::kInvalid);
  EXPECT_EQ(at_alice.error().message, "a member's credential may not change inside the group");
  EXPECT_EQ(t.carol.process(evil.message).error().code, Errc::kInvalid);
  // An honest Update (new encryption key, same credential) still goes through.
  auto honest = t.bob.propose_update().value();
  auto processed = t.alice.process(honest.message);
  ASSERT_TRUE(processed.ok()) << processed.error().message;
  EXPECT_EQ(processed->state.pending_proposals().size(), 1u);
}

TEST(StateIdentity, ARefusedRenamingUpdateCannotBeCommittedByReference) {
  auto t = make_trio();
  auto evil = t.bob.propose_update(renamed("alice")).value();
  // carol (colluding, or a client without the check) keeps it pending and commits it.
  auto carol = t.carol.process(evil.message);
  ASSERT_FALSE(carol.ok());
  // alice never had it: a commit that refers to it cannot be resolved by her.
  CommitOptions opts;
  auto honest = t.carol.commit(opts).value();
  EXPECT_TRUE(t.alice.process(honest.message).ok());
  EXPECT_TRUE(t.alice.pending_proposals().empty());
}

TEST(StateIdentity, ACommitWhosePathLeafRenamesTheCommitterIsRefused) {
  auto t = make_trio();
  CommitOptions opts;
  opts.path_leaf = renamed("alice");
  auto commit = t.bob.commit(opts).value();  // The library builds it: tests need the attacker.
  auto at_alice = t.alice.process(commit.message);
  ASSERT_FALSE(at_alice.ok());
  EXPECT_EQ(at_alice.error().code, Errc::kInvalid);
  EXPECT_EQ(at_alice.error().message, "a member's credential may not change inside the group");
  EXPECT_EQ(t.carol.process(commit.message).error().code, Errc::kInvalid);
}

TEST(StateIdentity, APathLeafWithOtherExtensionsOrKeyIsStillMLSValid) {
  // The library refuses only credential changes; an account-type extension or a signature key
  // change is the application's to refuse (the SDK and the relay do).
  auto t = make_trio();
  LeafChange change;
  change.signer = SignaturePrivateKey::generate();
  CommitOptions opts;
  opts.path_leaf = change;
  auto commit = t.bob.commit(opts).value();
  auto at_alice = t.alice.process(commit.message);
  ASSERT_TRUE(at_alice.ok()) << at_alice.error().message;
  for (const auto& m : at_alice->state.members()) {
    if (m.leaf_index == 1) {
      EXPECT_EQ(m.signature_key, change.signer->public_key);
    }
  }
}

TEST(StateIdentity, ProposeSendsAnyProposalAndCommitsListWhatTheyApplied) {
  auto t = make_trio();
  auto remove = t.bob.propose(Proposal{RemoveProposal{2}}).value();
  auto alice = t.alice.process(remove.message).value().state;
  ASSERT_EQ(alice.pending_proposals().size(), 1u);
  EXPECT_EQ(alice.pending_proposals()[0].sender, 1u);
  EXPECT_EQ(t.bob.propose(Proposal{ExternalInitProposal{}}).error().code, Errc::kInvalid);

  // A filter that refuses it: the commit leaves it out, carol stays.
  CommitOptions filtered;
  filtered.pending_filter = [](const CachedProposal&) { return false; };
  auto kept = alice.commit(filtered).value();
  auto carol_view = t.carol.process(kept.message).value();
  EXPECT_EQ(carol_view.state.members().size(), 3u);
  EXPECT_TRUE(carol_view.proposals.empty());

  // Without the filter it is committed by reference; the receiver learns who proposed it.
  auto committed = alice.commit(CommitOptions{}).value();
  auto bob_view = remove.state.process(committed.message).value();
  ASSERT_EQ(bob_view.proposals.size(), 1u);
  EXPECT_EQ(bob_view.proposals[0].sender, 1u);
  EXPECT_FALSE(bob_view.proposals[0].ref.empty());
  EXPECT_TRUE(std::holds_alternative<RemoveProposal>(bob_view.proposals[0].proposal.value));
}

TEST(StateIdentity, ExtraProposalsAreCarriedByValue) {
  auto t = make_trio();
  CommitOptions opts;
  opts.extra_proposals = {Proposal{RemoveProposal{2}}};
  auto commit = t.alice.commit(opts).value();
  auto bob_view = t.bob.process(commit.message).value();
  ASSERT_EQ(bob_view.proposals.size(), 1u);
  EXPECT_TRUE(bob_view.proposals[0].ref.empty());
  EXPECT_EQ(bob_view.proposals[0].sender, 0u);
  EXPECT_EQ(bob_view.state.members().size(), 2u);
}

// An application's private-use extensions (RFC 9420 17.3): a group context one, a leaf one.
constexpr uint16_t kRulesExtensionType = 0xFF0A;
constexpr uint16_t kMarkExtensionType = 0xFF0B;

bool advertises(const LeafNode& leaf, uint16_t type) {
  const auto& listed = leaf.capabilities.extensions;
  return std::find(listed.begin(), listed.end(), Uint16{type}) != listed.end();
}

TEST(StateIdentity, TheCreatorsLeafCarriesExactlyTheExtensionsItIsGiven) {
  const Extension professional{kMarkExtensionType, Bytes{2}};
  const Extension roles{kRulesExtensionType, to_bytes("rules")};
  CreateOptions options;
  options.group_context_extensions = {roles};
  options.leaf_extensions = {professional};
  KeyPackageOptions supports;
  supports.extension_types = {kRulesExtensionType};
  auto bob_kp =
      create_key_package(Credential(to_bytes("bob")), SignaturePrivateKey::generate(), supports)
          .value();
  State alice = State::create(to_bytes("gid"), Credential(to_bytes("alice")),
                              SignaturePrivateKey::generate(), options)
                    .value();
  const LeafNode& leaf = *alice.tree().leaf(0);
  EXPECT_EQ(leaf.extensions, std::vector<Extension>{professional});
  EXPECT_TRUE(advertises(leaf, kMarkExtensionType));
  EXPECT_TRUE(advertises(leaf, kRulesExtensionType));
  EXPECT_EQ(alice.group_context_extensions(), std::vector<Extension>{roles});
  // Signed after the extensions were set: it verifies as a KeyPackage leaf.
  EXPECT_TRUE(validate_leaf_node(leaf, LeafNodeSource::kKeyPackage, {}, 0).ok());

  // The first commit's UpdatePath keeps them, and a joiner sees them on the creator's leaf.
  CommitOptions add;
  add.add_key_packages = {bob_kp.key_package};
  auto out = alice.commit(add).value();
  State bob = State::join(*out.welcome, bob_kp).value();
  for (const State* s : {&out.pending, &bob}) {
    const LeafNode& after = *s->tree().leaf(0);
    EXPECT_EQ(after.source, LeafNodeSource::kCommit);
    EXPECT_EQ(after.extensions, std::vector<Extension>{professional});
    EXPECT_TRUE(validate_leaf_node(after, LeafNodeSource::kCommit, to_bytes("gid"), 0).ok());
  }
}

TEST(StateIdentity, WithoutLeafExtensionsTheCreatorsLeafHasNoneAndTwiceTheSameIsRefused) {
  State plain =
      State::create(to_bytes("gid"), Credential(to_bytes("alice")), SignaturePrivateKey::generate())
          .value();
  EXPECT_TRUE(plain.tree().leaf(0)->extensions.empty());
  EXPECT_FALSE(advertises(*plain.tree().leaf(0), kMarkExtensionType));

  CreateOptions twice;
  const Extension peer{kMarkExtensionType, Bytes{1}};
  twice.leaf_extensions = {peer, peer};
  auto refused = State::create(to_bytes("gid"), Credential(to_bytes("alice")),
                               SignaturePrivateKey::generate(), twice);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalid);
}

// The library has no extension of its own: a leaf lists the types its caller supports, and a group
// whose context carries a type takes only the KeyPackages that list it.
TEST(StateIdentity, LeavesListOnlyTheExtensionTypesTheCallerSupports) {
  EXPECT_TRUE(default_capabilities().extensions.empty());
  EXPECT_EQ(default_capabilities({kRulesExtensionType, kRulesExtensionType}).extensions,
            std::vector<Uint16>{Uint16{kRulesExtensionType}});
  auto plain =
      create_key_package(Credential(to_bytes("bob")), SignaturePrivateKey::generate()).value();
  EXPECT_TRUE(plain.decoded().value().leaf_node.capabilities.extensions.empty());
  KeyPackageOptions supports;
  supports.extension_types = {kRulesExtensionType};
  auto listed =
      create_key_package(Credential(to_bytes("carol")), SignaturePrivateKey::generate(), supports)
          .value();
  EXPECT_TRUE(advertises(listed.decoded().value().leaf_node, kRulesExtensionType));

  CreateOptions options;
  options.extension_types = {kRulesExtensionType};
  State alice = State::create(to_bytes("gid"), Credential(to_bytes("alice")),
                              SignaturePrivateKey::generate(), options)
                    .value();
  EXPECT_TRUE(advertises(*alice.tree().leaf(0), kRulesExtensionType));
  CommitOptions rules;
  rules.group_context_extensions = std::vector<Extension>{{kRulesExtensionType, to_bytes("r")}};
  alice = alice.commit(rules).value().pending;
  CommitOptions add_plain;
  add_plain.add_key_packages = {plain.key_package};
  auto refused = alice.commit(add_plain);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalid);
  CommitOptions add_listed;
  add_listed.add_key_packages = {listed.key_package};
  EXPECT_TRUE(alice.commit(add_listed).ok());
}

}  // namespace
}  // namespace cercle::mls
