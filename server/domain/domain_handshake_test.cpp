#include "server/domain/domain_fixture.h"

#include "cercle/mls/inspect.h"
#include "cercle/policy/extensions.h"
#include "cercle/policy/policy.h"

namespace cercle::domain {
namespace {

// What no member may put in the tree or propose, whatever the group's rules (handshake.h): every
// refusal leaves the relay's group as it was, and the group goes on. Bob plays the attacker.
class HandshakeTest : public DomainTest {
 protected:
  void SetUp() override {
    DomainTest::SetUp();
    ASSERT_TRUE(register_device(alice_, "alice").ok());
    ASSERT_TRUE(register_device(bob_, "bob").ok());
    ASSERT_TRUE(register_device(carol_, "carol").ok());
    conv_ = create_group(alice_).id;
    ASSERT_TRUE(commit(alice_, conv_, 0, {&bob_, &carol_}).ok());
  }
  const ConvState& conv() { return conversation(conv_); }
  std::string g() const { return conv_.str(); }
  static mls::Bytes bytes(std::string_view s) { return mls::Bytes(s.begin(), s.end()); }

  // Bob sends `message` as a proposal: nullopt if the relay took it, else its refusal.
  std::optional<Errc> proposal_refusal(const std::string& message) {
    auto r = send(bob_, conv_, conv().epoch, message, EntryKind::kProposal);
    bob_.mls->discard(g());
    return r ? std::nullopt : std::optional(r.error().code);
  }
  std::optional<Errc> commit_refusal(Device& by, const std::string& message) {
    auto r = await<CommitOk>([&](auto cb) {
      domain_->conversations().commit(by.info.device_id,
                                      CommitArgs{conv_, conv().epoch, message, {}, {}, {}}, cb);
    });
    by.mls->discard(g());
    return r ? std::nullopt : std::optional(r.error().code);
  }
  // Bob's Update whose leaf `edit` changed, signed by `key` (else bob's).
  std::string update(const std::function<void(mls::LeafNode&)>& edit,
                     const mls::SignaturePrivateKey* key = nullptr) {
    mls::LeafNode leaf = bob_.mls->update_leaf(g());
    edit(leaf);
    bob_.mls->sign_leaf(g(), leaf, key);
    return bob_.mls->propose(g(), mls::Proposal{mls::UpdateProposal{leaf}});
  }
  // Bob's honest empty commit with `edit` applied to its content (then signed again).
  std::string edited_commit(const std::function<void(mls::Commit&)>& edit) {
    const std::string honest = bob_.mls->commit(g(), {}).message;
    bob_.mls->discard(g());
    return bob_.mls->resign(g(), honest,
                            [&](mls::FramedContent& c) { edit(std::get<mls::Commit>(c.content)); });
  }
  // The relay's group did not move, and goes on: bob's honest commit reaches every member.
  void expect_goes_on(uint64_t epoch) {
    EXPECT_EQ(conv().epoch, epoch);
    EXPECT_EQ(conv().active_members(), 3u);
    ASSERT_TRUE(commit(bob_, conv_, epoch, {}).ok());
    EXPECT_EQ(alice_.mls->epoch_authenticator(g()), bob_.mls->epoch_authenticator(g()));
    EXPECT_EQ(carol_.mls->epoch_authenticator(g()), bob_.mls->epoch_authenticator(g()));
  }

  Device alice_, bob_, carol_;
  ConvId conv_;
};

mls::Extension account_type(uint8_t type) {
  return mls::Extension{policy::kAccountTypeExtensionType, mls::Bytes{type}};
}

void declare_account_type(mls::LeafNode& l) {
  l.capabilities.extensions.push_back(mls::Uint16{policy::kAccountTypeExtensionType});
}

TEST_F(HandshakeTest, AnUpdateLeafMustBeTheSendersOwn) {
  const auto other_key = mls::SignaturePrivateKey::generate();
  // Not bob: someone else's name, an X.509 credential, the professional mark or a made-up type,
  // a signature key the device never bound.
  EXPECT_EQ(
      proposal_refusal(update([](auto& l) { l.credential = mls::Credential(bytes("alice")); })),
      Errc::kForbidden);
  EXPECT_EQ(proposal_refusal(update([](auto& l) {
              l.credential.credential_type = mls::kCredentialX509;
              l.credential.certificates = {mls::Opaque{bytes("cert")}};
              l.capabilities.credentials.push_back(mls::Uint16{mls::kCredentialX509});
            })),
            Errc::kForbidden);
  for (uint8_t type : {2, 7}) {
    EXPECT_EQ(proposal_refusal(update([&](auto& l) {
                declare_account_type(l);
                l.extensions = {account_type(type)};
              })),
              Errc::kForbidden)
        << int(type);
  }
  EXPECT_EQ(proposal_refusal(
                update([&](auto& l) { l.signature_key = other_key.public_key; }, &other_key)),
            Errc::kForbidden);
  EXPECT_TRUE(conv().proposals.empty());
  ASSERT_NO_FATAL_FAILURE(expect_goes_on(1));
}

TEST_F(HandshakeTest, AnUpdateLeafMustBeValid) {
  // Not a valid Update leaf: another source (a key package's, with a lifetime), an extension
  // twice, capabilities without the rules extension, a key of the wrong size, carol's signature
  // key (bob cannot sign for it), a signature for another leaf.
  EXPECT_EQ(proposal_refusal(update([](auto& l) {
              l.source = mls::LeafNodeSource::kKeyPackage;
              l.lifetime = {0, ~uint64_t{0}};
            })),
            Errc::kInvalidArgument);
  EXPECT_EQ(proposal_refusal(update([](auto& l) {
              declare_account_type(l);
              l.extensions = {account_type(1), account_type(1)};
            })),
            Errc::kInvalidArgument);
  EXPECT_EQ(proposal_refusal(update([](auto& l) { l.capabilities.extensions.clear(); })),
            Errc::kInvalidArgument);
  EXPECT_EQ(proposal_refusal(update([](auto& l) { l.encryption_key.resize(31); })),
            Errc::kInvalidArgument);
  const auto carol_key = carol_.mls->state(g()).tree().leaf(carol_.mls->leaf(g()))->signature_key;
  EXPECT_EQ(proposal_refusal(update([&](auto& l) { l.signature_key = carol_key; })),
            Errc::kInvalidArgument);
  mls::LeafNode misplaced = bob_.mls->update_leaf(g());
  misplaced.signature = mls::sign_with_label(bob_.mls->signer(), "LeafNodeTBS",
                                             misplaced.to_be_signed(bytes(g()), 0));
  EXPECT_EQ(proposal_refusal(bob_.mls->propose(g(), mls::Proposal{mls::UpdateProposal{misplaced}})),
            Errc::kInvalidArgument);
  EXPECT_TRUE(conv().proposals.empty());
  ASSERT_NO_FATAL_FAILURE(expect_goes_on(1));
}

// Bob's own leaf goes through, with the peer mark (as the SDK makes it) or without (as here):
// both read as a peer. Alice commits bob's Update by reference and everyone follows.
TEST_F(HandshakeTest, TheSendersOwnUpdateLeafGoesThrough) {
  const std::string marked = update([](auto& l) {
    declare_account_type(l);
    l.extensions = {account_type(1)};
  });
  EXPECT_EQ(proposal_refusal(marked), std::nullopt);  // Nobody commits it: bob kept no key.
  const std::string real = bob_.mls->propose_update(g());
  ASSERT_TRUE(send(bob_, conv_, 1, real, EntryKind::kProposal).ok());
  bob_.mls->adopt(g());
  ASSERT_TRUE(alice_.mls->process(g(), real));
  ASSERT_TRUE(carol_.mls->process(g(), real));
  ASSERT_TRUE(commit(alice_, conv_, 1, {}).ok());
  ASSERT_NO_FATAL_FAILURE(expect_goes_on(2));
}

TEST_F(HandshakeTest, AnUpdatePathLeafMustBeTheCommittersOwnAndValid) {
  const auto other_key = mls::SignaturePrivateKey::generate();
  auto path_leaf = [&](mls::LeafChange change) {
    mls::CommitOptions o;
    o.path_leaf = std::move(change);
    return bob_.mls->commit_with(g(), o).message;
  };
  mls::Capabilities marked_caps =
      mls::default_capabilities({policy::kRolesExtensionType, policy::kAccountTypeExtensionType});
  EXPECT_EQ(commit_refusal(bob_, path_leaf({.credential = mls::Credential(bytes("alice"))})),
            Errc::kForbidden);
  EXPECT_EQ(commit_refusal(bob_, path_leaf({.extensions = std::vector{account_type(2)},
                                            .capabilities = marked_caps})),
            Errc::kForbidden);
  EXPECT_EQ(commit_refusal(bob_, path_leaf({.signer = other_key})), Errc::kForbidden);
  mls::Capabilities without_rules = mls::default_capabilities();
  without_rules.extensions.clear();
  EXPECT_EQ(commit_refusal(bob_, path_leaf({.capabilities = without_rules})),
            Errc::kInvalidArgument);
  // A leaf of another source, signed again so that only its source is wrong.
  EXPECT_EQ(commit_refusal(bob_, edited_commit([&](mls::Commit& c) {
                             c.path->leaf_node.source = mls::LeafNodeSource::kUpdate;
                             c.path->leaf_node.parent_hash.clear();
                             bob_.mls->sign_leaf(g(), c.path->leaf_node);
                           })),
            Errc::kInvalidArgument);
  // Its signature broken; a parent node with the leaf's own key.
  EXPECT_EQ(commit_refusal(
                bob_, edited_commit([](mls::Commit& c) { c.path->leaf_node.signature[0] ^= 1; })),
            Errc::kInvalidArgument);
  EXPECT_EQ(commit_refusal(bob_, edited_commit([](mls::Commit& c) {
                             c.path->nodes.front().encryption_key =
                                 c.path->leaf_node.encryption_key;
                           })),
            Errc::kInvalidArgument);
  ASSERT_NO_FATAL_FAILURE(expect_goes_on(1));
}

TEST_F(HandshakeTest, ProposalTypesTheProductDoesNotUseAreRefusedHoweverTheyTravel) {
  const mls::Proposal psk{mls::PskProposal{
      mls::PreSharedKeyId{mls::kPskExternal, bytes("psk"), 0, {}, 0, mls::Bytes(32, 7)}}};
  const mls::Proposal reinit{mls::ReInitProposal{bytes("other group"), 1, 3, {}}};
  const mls::Proposal external_init{mls::ExternalInitProposal{mls::Bytes(32, 1)}};
  const mls::Proposal foreign_extension{mls::GroupContextExtensionsProposal{
      {mls::Extension{policy::kRolesExtensionType, bytes(*alice_.mls->policy(g()))},
       mls::Extension{mls::kExtExternalSenders, mls::Bytes{0}}}}};
  for (const auto& p : {psk, reinit, external_init, foreign_extension}) {
    const auto type = static_cast<int>(p.type());
    // Alone (the library will not make an ExternalInit proposal: its message is edited).
    const std::string alone = p.type() == mls::ProposalType::kExternalInit
                                  ? bob_.mls->resign(g(), bob_.mls->propose(g(), psk),
                                                     [&](mls::FramedContent& c) { c.content = p; })
                                  : bob_.mls->propose(g(), p);
    EXPECT_EQ(proposal_refusal(alone), Errc::kForbidden) << type;
    // By value in a commit, from bob or from alice who facilitates.
    EXPECT_EQ(commit_refusal(bob_, edited_commit([&](mls::Commit& c) {
                               c.proposals.push_back(mls::ProposalOrRef{p});
                             })),
              Errc::kForbidden)
        << type;
    // By reference: the relay never kept it, so no commit can refer to it.
    const auto ref = mls::inspect::proposal_summary(bytes(alone))->proposal_ref;
    EXPECT_EQ(commit_refusal(bob_, edited_commit([&](mls::Commit& c) {
                               c.proposals.push_back(mls::ProposalOrRef{mls::Opaque{ref}});
                             })),
              Errc::kInvalidArgument)
        << type;
  }
  EXPECT_TRUE(conv().proposals.empty());
  ASSERT_NO_FATAL_FAILURE(expect_goes_on(1));
}

TEST_F(HandshakeTest, ACommitEveryClientWouldRefuseIsRefusedFirst) {
  // An Update by value; the committer's own Update by reference; one leaf removed twice; a
  // Remove without an UpdatePath; two GroupContextExtensions.
  EXPECT_EQ(commit_refusal(bob_, edited_commit([&](mls::Commit& c) {
                             mls::LeafNode leaf = bob_.mls->update_leaf(g());
                             bob_.mls->sign_leaf(g(), leaf);
                             c.proposals.push_back(
                                 mls::ProposalOrRef{mls::Proposal{mls::UpdateProposal{leaf}}});
                           })),
            Errc::kInvalidArgument);
  const std::string own = bob_.mls->propose_update(g());
  ASSERT_EQ(proposal_refusal(own), std::nullopt);
  const auto own_ref = mls::inspect::proposal_summary(bytes(own))->proposal_ref;
  EXPECT_EQ(commit_refusal(bob_, edited_commit([&](mls::Commit& c) {
                             c.proposals.push_back(mls::ProposalOrRef{mls::Opaque{own_ref}});
                           })),
            Errc::kInvalidArgument);
  const mls::Proposal remove_carol{mls::RemoveProposal{carol_.mls->leaf(g())}};
  auto twice = edited_commit([&](mls::Commit& c) {
    c.proposals = {mls::ProposalOrRef{remove_carol}, mls::ProposalOrRef{remove_carol}};
  });
  auto r = await<CommitOk>([&](auto cb) {
    domain_->conversations().commit(
        bob_.info.device_id, CommitArgs{conv_, 1, twice, {}, {carol_.info.device_id}, {}}, cb);
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_NE(r.error().message.find("twice"), std::string::npos) << r.error().message;
  EXPECT_EQ(commit_refusal(bob_, edited_commit([&](mls::Commit& c) {
                             c.proposals = {mls::ProposalOrRef{remove_carol}};
                             c.path.reset();
                           })),
            Errc::kInvalidArgument);
  const mls::Proposal rules{mls::GroupContextExtensionsProposal{
      {mls::Extension{policy::kRolesExtensionType, bytes(*alice_.mls->policy(g()))}}}};
  EXPECT_EQ(commit_refusal(bob_, edited_commit([&](mls::Commit& c) {
                             c.proposals = {mls::ProposalOrRef{rules}, mls::ProposalOrRef{rules}};
                           })),
            Errc::kInvalidArgument);
  ASSERT_NO_FATAL_FAILURE(expect_goes_on(1));
}

TEST_F(HandshakeTest, ADirectConversationHasNoRulesToChangeAndPendingProposalsAreBounded) {
  auto direct = await<ConvView>([&](auto cb) {
    domain_->conversations().create(alice_.info.device_id, ConvKind::kDirect, "bob", cb);
  });
  ASSERT_TRUE(direct.ok());
  const std::string d = direct->id.str();
  alice_.mls->create(d);
  // Its first commit carries no rules: a direct conversation has none, and no facilitator.
  auto first = alice_.mls->commit(d, {upload_key_package(bob_)});
  ASSERT_TRUE(await<CommitOk>([&](auto cb) {
                domain_->conversations().commit(
                    alice_.info.device_id, commit_args(direct->id, 0, first, {bob_.info.device_id}),
                    cb);
              }).ok());
  alice_.mls->adopt(d);
  ASSERT_TRUE(bob_.mls->join(d, first.welcome));
  const std::string rules = policy::initial_policy(alice_.info.handle).SerializeAsString();
  auto gce = alice_.mls->commit(d, {}, {}, rules);
  alice_.mls->discard(d);
  auto refused = await<CommitOk>([&](auto cb) {
    domain_->conversations().commit(alice_.info.device_id,
                                    CommitArgs{direct->id, 1, gce.message, {}, {}, {}}, cb);
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kForbidden);
  const std::string alone =
      bob_.mls->propose(d, mls::Proposal{mls::GroupContextExtensionsProposal{
                               {mls::Extension{policy::kRolesExtensionType, bytes(rules)}}}});
  bob_.mls->discard(d);
  auto sent = send(bob_, direct->id, 1, alone, EntryKind::kProposal);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, Errc::kForbidden);

  // A member leaves a bounded number of proposals pending in an epoch.
  const std::string leave = bob_.mls->propose_remove(g(), bob_.mls->leaf(g()));
  for (size_t i = 0; i < handshake::kMaxProposalsPerMember; ++i) {
    ASSERT_TRUE(send(bob_, conv_, 1, leave, EntryKind::kProposal).ok()) << i;
  }
  auto over = send(bob_, conv_, 1, leave, EntryKind::kProposal);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, Errc::kLimitReached);
}

}  // namespace
}  // namespace cercle::domain
