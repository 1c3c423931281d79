// proposal_refusal_code and rule_abiding_options: which proposals a client keeps pending and
// commits in a groupe de parole (and in a direct conversation), from the group's own MLS state.
#include <gtest/gtest.h>

#include "cercle/mls/key_package.h"
#include "cercle/policy/extensions.h"
#include "cercle/policy/policy.h"
#include "client/sdk/client_internal.h"
#include "client/sdk/client_rules.h"

namespace cercle::client {
namespace {

constexpr v1::PolicyRefusal kAllowed = v1::POLICY_REFUSAL_UNSPECIFIED;

mls::KeyPackageBundle package(const std::string& handle, policy::Kind kind) {
  mls::KeyPackageOptions o;
  o.extension_types = policy::leaf_extension_types();
  o.leaf_extensions.push_back(
      mls::Extension{policy::kAccountTypeExtensionType, to_bytes(policy::kind_extension(kind))});
  return mls::create_key_package(mls::Credential(to_bytes(handle)),
                                 mls::SignaturePrivateKey::generate(), o)
      .value();
}

// alice (leaf 0, facilitator when `rules`) with bob (leaf 1) and carol (leaf 2).
mls::State group(bool rules, v1::JoinRule join = v1::INVITE_ONLY) {
  auto alice_kp = package("alice", policy::Kind::kPeer);
  auto alice =
      mls::State::create(to_bytes("g"), mls::Credential(to_bytes("alice")), alice_kp.signer,
                         mls::CreateOptions{{}, policy::leaf_extension_types(), {}})
          .value();
  mls::CommitOptions o;
  o.add_key_packages = {package("bob", policy::Kind::kPeer).key_package,
                        package("carol", policy::Kind::kPeer).key_package};
  if (rules) {
    auto p = policy::initial_policy("alice");
    p.set_join_rule(join);
    o.group_context_extensions = std::vector<mls::Extension>{
        mls::Extension{policy::kRolesExtensionType, to_bytes(p.SerializeAsString())}};
  }
  return alice.commit(o).value().pending;
}

mls::Proposal add_of(policy::Kind kind) {
  return mls::Proposal{mls::AddProposal{package("dave", kind).decoded().value()}};
}

mls::Proposal gce(bool with_rules) {
  std::vector<mls::Extension> exts;
  if (with_rules) {
    exts.push_back(mls::Extension{policy::kRolesExtensionType,
                                  to_bytes(policy::initial_policy("bob").SerializeAsString())});
  }
  return mls::Proposal{mls::GroupContextExtensionsProposal{exts}};
}

TEST(ProposalRefusal, KindsCercleNeverUsesAreRefusedFromAnyone) {
  for (bool rules : {true, false}) {
    const auto g = group(rules);
    const auto never = v1::POLICY_REFUSAL_PROPOSAL_TYPE_REFUSED;
    mls::PreSharedKeyId psk{mls::kPskExternal, to_bytes("id"), 0, {}, 0, mls::Bytes(32, 1)};
    EXPECT_EQ(proposal_refusal_code(g, mls::Proposal{mls::PskProposal{psk}}, 0), never);
    EXPECT_EQ(proposal_refusal_code(g, mls::Proposal{mls::ReInitProposal{}}, 0), never);
    EXPECT_EQ(proposal_refusal_code(g, mls::Proposal{mls::ExternalInitProposal{}}, 1), never);
  }
}

TEST(ProposalRefusal, OnlyAFacilitatorChangesTheGroupsSettings) {
  const auto g = group(true);
  EXPECT_EQ(proposal_refusal_code(g, gce(true), 0), kAllowed);
  EXPECT_EQ(proposal_refusal_code(g, gce(true), 1),
            v1::POLICY_REFUSAL_ONLY_FACILITATOR_CHANGES_RULES);
  EXPECT_EQ(proposal_refusal_code(g, gce(false), 2),
            v1::POLICY_REFUSAL_ONLY_FACILITATOR_CHANGES_RULES);
  // A direct conversation has no settings to change; a group's first commit sets its rules.
  const auto direct = group(false);
  EXPECT_EQ(proposal_refusal_code(direct, gce(false), 0),
            v1::POLICY_REFUSAL_ONLY_FACILITATOR_CHANGES_RULES);
  EXPECT_EQ(proposal_refusal_code(direct, gce(true), 0), kAllowed);
}

TEST(ProposalRefusal, MembersRemoveOnlyThemselvesAndAddOnlyPeersToOpenGroups) {
  const auto closed = group(true);
  EXPECT_EQ(proposal_refusal_code(closed, mls::Proposal{mls::RemoveProposal{1}}, 1), kAllowed);
  EXPECT_EQ(proposal_refusal_code(closed, mls::Proposal{mls::RemoveProposal{2}}, 1),
            v1::POLICY_REFUSAL_ONLY_FACILITATOR_REMOVES);
  EXPECT_EQ(proposal_refusal_code(closed, mls::Proposal{mls::RemoveProposal{2}}, 0), kAllowed);
  EXPECT_EQ(proposal_refusal_code(closed, add_of(policy::Kind::kPeer), 1),
            v1::POLICY_REFUSAL_ONLY_FACILITATOR_ADDS);
  EXPECT_EQ(proposal_refusal_code(closed, add_of(policy::Kind::kProfessional), 0), kAllowed);
  const auto open = group(true, v1::OPEN_TO_PEERS);
  EXPECT_EQ(proposal_refusal_code(open, add_of(policy::Kind::kPeer), 1), kAllowed);
  EXPECT_EQ(proposal_refusal_code(open, add_of(policy::Kind::kProfessional), 1),
            v1::POLICY_REFUSAL_ONLY_FACILITATOR_ADDS);
}

TEST(ProposalRefusal, AnUpdateKeepsWhoTheMemberIs) {
  const auto g = group(true);
  mls::LeafNode leaf = *g.tree().leaf(1);
  const auto with = [&](auto edit) {
    mls::LeafNode l = leaf;
    edit(l);
    return mls::Proposal{mls::UpdateProposal{l}};
  };
  EXPECT_EQ(proposal_refusal_code(g, with([](mls::LeafNode&) {}), 1), kAllowed);
  EXPECT_EQ(
      proposal_refusal_code(
          g, with([](mls::LeafNode& l) { l.credential = mls::Credential(to_bytes("alice")); }), 1),
      v1::POLICY_REFUSAL_IDENTITY_CHANGED);
  EXPECT_EQ(proposal_refusal_code(g, with([](mls::LeafNode& l) { l.signature_key[0] ^= 1; }), 1),
            v1::POLICY_REFUSAL_SIGNATURE_KEY_CHANGED);
  EXPECT_EQ(
      proposal_refusal_code(g, with([](mls::LeafNode& l) {
                              l.extensions = {mls::Extension{
                                  policy::kAccountTypeExtensionType,
                                  to_bytes(policy::kind_extension(policy::Kind::kProfessional))}};
                            }),
                            1),
      v1::POLICY_REFUSAL_ACCOUNT_TYPE_CHANGED);
  // Both the key and the type: the type is named, as policy::leaf_change and the web client do.
  EXPECT_EQ(
      proposal_refusal_code(g, with([](mls::LeafNode& l) {
                              l.signature_key[0] ^= 1;
                              l.extensions = {mls::Extension{
                                  policy::kAccountTypeExtensionType,
                                  to_bytes(policy::kind_extension(policy::Kind::kProfessional))}};
                            }),
                            1),
      v1::POLICY_REFUSAL_ACCOUNT_TYPE_CHANGED);
  // The SDK's warning words the code.
  EXPECT_EQ(proposal_refusal(g, with([](mls::LeafNode& l) { l.signature_key[0] ^= 1; }), 1),
            "a member's signature key cannot change inside a group");
}

TEST(ProposalRefusal, ACommitTakesOnlyThePendingProposalsTheRulesAllow) {
  auto g = group(true);
  // bob proposes carol's removal (refused) and his own (allowed); alice's client commits.
  const auto options = rule_abiding_options(g);
  ASSERT_TRUE(options.pending_filter);
  EXPECT_FALSE(
      options.pending_filter(mls::CachedProposal{{}, mls::Proposal{mls::RemoveProposal{2}}, 1}));
  EXPECT_TRUE(
      options.pending_filter(mls::CachedProposal{{}, mls::Proposal{mls::RemoveProposal{1}}, 1}));
  EXPECT_TRUE(
      options.pending_filter(mls::CachedProposal{{}, mls::Proposal{mls::RemoveProposal{2}}, 0}));
}

}  // namespace
}  // namespace cercle::client
