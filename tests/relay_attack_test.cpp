// A malicious member against the real relay, playing with the project's own MLS library
// (testing/mls_member.h): every proposal type alone, by value and by reference, from a plain
// member and from a facilitator; every handshake kind through every path; only application
// messages travel as messages. Each refusal is asserted by its exact code; afterwards the relay's
// group is as it was (epoch, members) and goes on: an honest commit reaches every member as the
// next thing they get (so nothing refused was delivered) and a message makes a round trip. The
// fields of Update and UpdatePath leaves: relay_leaf_attack_test.cpp.
#include <gtest/gtest.h>

#include "tests/relay_attack_fixture.h"

namespace cercle::testing {
namespace {

TEST_F(RelayAttackTest, EveryProposalTypeAloneFromAPlainMemberAndFromAFacilitator) {
  // The library will not make an ExternalInit proposal: a PSK proposal's content is replaced.
  auto alone = [&](TestDevice& by, const mls::Proposal& p) {
    if (p.type() != mls::ProposalType::kExternalInit) return send(by, by.mls->propose(conv_, p));
    return send(by, by.mls->resign(conv_, by.mls->propose(conv_, kPsk),
                                   [&](mls::FramedContent& c) { c.content = p; }));
  };
  for (TestDevice* by : {&bob_, &alice_}) {
    for (const auto& p : {kPsk, kReInit, kExternalInit, rules(true)}) {
      EXPECT_EQ(alone(*by, p), v1::FORBIDDEN) << by->handle << " " << int(p.type());
    }
  }
  // A plain member adds nobody to an invitation-only group, removes nobody else, sets no rules.
  EXPECT_EQ(alone(bob_, add_dave()), v1::FORBIDDEN);
  EXPECT_EQ(alone(bob_, mls::Proposal{mls::RemoveProposal{carol_.mls->leaf(conv_)}}),
            v1::FORBIDDEN);
  EXPECT_EQ(alone(bob_, rules()), v1::FORBIDDEN);
  // What may be proposed is taken: bob's Update and leaving; alice's Add, Remove and rules.
  EXPECT_EQ(send(bob_, bob_.mls->propose_update(conv_)), v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(alone(bob_, mls::Proposal{mls::RemoveProposal{bob_.mls->leaf(conv_)}}),
            v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(alone(alice_, add_dave()), v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(alone(alice_, mls::Proposal{mls::RemoveProposal{carol_.mls->leaf(conv_)}}),
            v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(alone(alice_, rules()), v1::ERROR_CODE_UNSPECIFIED);
  ASSERT_NO_FATAL_FAILURE(expect_goes_on());
}

TEST_F(RelayAttackTest, EveryProposalTypeByValueInACommit) {
  auto by_value = [&](TestDevice& by, const mls::Proposal& p) {
    return commit(by, edited_commit(by, [&](mls::Commit& c) {
                    c.proposals.push_back(mls::ProposalOrRef{p});
                  }));
  };
  for (TestDevice* by : {&bob_, &alice_}) {
    for (const auto& p : {kPsk, kReInit, kExternalInit, rules(true)}) {
      EXPECT_EQ(by_value(*by, p), v1::FORBIDDEN) << by->handle << " " << int(p.type());
    }
    // An Update by value is never valid (a committer updates through its UpdatePath).
    mls::LeafNode leaf = by->mls->update_leaf(conv_);
    by->mls->sign_leaf(conv_, leaf);
    EXPECT_EQ(by_value(*by, mls::Proposal{mls::UpdateProposal{leaf}}), v1::INVALID_ARGUMENT);
  }
  // The rules refuse a plain member's Add (invitation only), Remove of another and new rules.
  mls::CommitOptions add;
  add.add_key_packages = {bytes(dave_.spare_key_packages.front())};
  const auto adding = bob_.mls->commit_with(conv_, add);
  EXPECT_EQ(commit(bob_, adding.message, {dave_.device_id}, {}, adding.welcome), v1::FORBIDDEN);
  mls::CommitOptions remove;
  remove.remove_leaves = {carol_.mls->leaf(conv_)};
  EXPECT_EQ(commit(bob_, bob_.mls->commit_with(conv_, remove).message, {}, {carol_.device_id}),
            v1::FORBIDDEN);
  mls::CommitOptions new_rules;
  new_rules.group_context_extensions =
      std::get<mls::GroupContextExtensionsProposal>(rules().value).extensions;
  EXPECT_EQ(commit_with(bob_, new_rules), v1::FORBIDDEN);
  ASSERT_NO_FATAL_FAILURE(expect_goes_on());
}

TEST_F(RelayAttackTest, EveryProposalTypeByReference) {
  // What the relay refused it never kept: a commit cannot refer to it. (ExternalInit: a PSK
  // proposal's content replaced, the library makes none.)
  const std::string external_init =
      bob_.mls->resign(conv_, bob_.mls->propose(conv_, kPsk),
                       [&](mls::FramedContent& c) { c.content = kExternalInit; });
  bob_.mls->discard(conv_);
  for (const auto& refused :
       {bob_.mls->propose(conv_, kPsk), bob_.mls->propose(conv_, kReInit), external_init,
        bob_.mls->propose(conv_, rules(true)), bob_.mls->propose(conv_, rules()),
        bob_.mls->propose(conv_, add_dave()),
        bob_.mls->propose(conv_, mls::Proposal{mls::RemoveProposal{carol_.mls->leaf(conv_)}})}) {
    ASSERT_EQ(send(bob_, refused), v1::FORBIDDEN);
    EXPECT_EQ(commit(alice_, edited_commit(alice_,
                                           [&](mls::Commit& c) {
                                             c.proposals.push_back(mls::ProposalOrRef{
                                                 mls::Opaque{bytes(ref_of(refused))}});
                                           })),
              v1::INVALID_ARGUMENT);
  }
  // A facilitator's Add, Remove and new rules, kept by the relay, are not a plain member's to
  // commit.
  const std::string add = alice_.mls->propose(conv_, add_dave());
  const std::string remove_carol =
      alice_.mls->propose(conv_, mls::Proposal{mls::RemoveProposal{carol_.mls->leaf(conv_)}});
  const std::string new_rules = alice_.mls->propose(conv_, rules());
  for (const auto* p : {&add, &remove_carol, &new_rules}) {
    ASSERT_EQ(send(alice_, *p), v1::ERROR_CODE_UNSPECIFIED);
    ASSERT_TRUE(bob_.mls->process(conv_, *p));
  }
  auto pick = [&](const std::string& which) {
    mls::CommitOptions o;
    o.pending_filter = [ref = ref_of(which)](const mls::CachedProposal& p) {
      return std::string(p.ref.begin(), p.ref.end()) == ref;
    };
    return o;
  };
  EXPECT_EQ(commit(bob_, bob_.mls->commit_with(conv_, pick(remove_carol)).message, {},
                   {carol_.device_id}),
            v1::FORBIDDEN);
  EXPECT_EQ(commit_with(bob_, pick(new_rules)), v1::FORBIDDEN);
  const auto adding = bob_.mls->commit_with(conv_, pick(add));
  EXPECT_EQ(commit(bob_, adding.message, {dave_.device_id}, {}, adding.welcome), v1::FORBIDDEN);
  // Bob's own Update is not his to commit either (RFC 9420 12.2).
  const std::string own = bob_.mls->propose_update(conv_);
  ASSERT_EQ(send(bob_, own), v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(commit(bob_, edited_commit(bob_,
                                       [&](mls::Commit& c) {
                                         c.proposals.push_back(
                                             mls::ProposalOrRef{mls::Opaque{bytes(ref_of(own))}});
                                       })),
            v1::INVALID_ARGUMENT);
  // Carol never processed alice's proposals, nor bob's: the honest commit takes none of them.
  ASSERT_NO_FATAL_FAILURE(expect_goes_on());
}

TEST_F(RelayAttackTest, EveryHandshakeKindThroughEveryPath) {
  const std::string honest_commit = bob_.mls->commit(conv_, {}).message;
  bob_.mls->discard(conv_);
  const std::string honest_proposal = bob_.mls->propose_update(conv_);
  bob_.mls->discard(conv_);
  const std::string application = bob_.mls->encrypt(conv_, "salut");
  // A commit and a proposal as each other.
  EXPECT_EQ(send(bob_, honest_commit, v1::PROPOSAL), v1::INVALID_ARGUMENT);
  EXPECT_EQ(commit(bob_, honest_proposal), v1::INVALID_ARGUMENT);
  // Handshake content in a PrivateMessage, whatever path it takes; an application message as a
  // proposal or a commit.
  for (auto type : {mls::ContentType::kCommit, mls::ContentType::kProposal}) {
    const std::string relabelled = MlsMember::relabel(application, type);
    EXPECT_EQ(send(bob_, relabelled, v1::PROPOSAL), v1::INVALID_ARGUMENT);
    EXPECT_EQ(commit(bob_, relabelled), v1::INVALID_ARGUMENT);
  }
  EXPECT_EQ(send(bob_, application, v1::PROPOSAL), v1::INVALID_ARGUMENT);
  EXPECT_EQ(commit(bob_, application), v1::INVALID_ARGUMENT);
  // Key packages and Welcomes are neither.
  EXPECT_EQ(send(bob_, dave_.spare_key_packages.front(), v1::PROPOSAL), v1::INVALID_ARGUMENT);
  // Another group, an earlier epoch, another member's leaf.
  auto with = [&](const std::string& message, const std::function<void(mls::FramedContent&)>& f) {
    return bob_.mls->resign(conv_, message, f);
  };
  const auto other_group = [](mls::FramedContent& c) { c.group_id = bytes("another group id"); };
  const auto earlier = [](mls::FramedContent& c) { c.epoch -= 1; };
  const auto alices_leaf = [&](mls::FramedContent& c) { c.sender.index = alice_.mls->leaf(conv_); };
  EXPECT_EQ(commit(bob_, with(honest_commit, other_group)), v1::INVALID_ARGUMENT);
  EXPECT_EQ(commit(bob_, with(honest_commit, earlier)), v1::INVALID_ARGUMENT);
  EXPECT_EQ(commit(bob_, with(honest_commit, alices_leaf)), v1::FORBIDDEN);
  EXPECT_EQ(send(bob_, with(honest_proposal, other_group)), v1::INVALID_ARGUMENT);
  EXPECT_EQ(send(bob_, with(honest_proposal, earlier)), v1::INVALID_ARGUMENT);
  EXPECT_EQ(send(bob_, with(honest_proposal, alices_leaf)), v1::FORBIDDEN);
  ASSERT_NO_FATAL_FAILURE(expect_goes_on());
}

// Defect 1's relay side: only application data travels as an application message (Send kind
// APPLICATION): an MLS PrivateMessage of this group, at the current epoch, whose cleartext content
// type is application. Every other MLS message, and anything that is not one, is refused with its
// reason; nothing refused reaches a member, and a real message still goes through.
TEST_F(RelayAttackTest, OnlyApplicationMessagesOfThisGroupAndEpochTravelAsMessages) {
  auto as_message = [&](const std::string& payload) {
    return send(bob_, payload, v1::APPLICATION);
  };
  using Refusal = std::pair<v1::ErrorCode, std::string>;
  auto refusal = [&](const std::string& payload) {
    auto r = bob_.ws->call(send_frame(conv_, epoch_, payload));
    EXPECT_TRUE(r && r->has_error()) << "the relay took it";
    return r && r->has_error() ? Refusal{r->error().code(), r->error().message()} : Refusal{};
  };
  auto invalid = [](const std::string& message) { return Refusal{v1::INVALID_ARGUMENT, message}; };
  const std::string kNotPrivate = "an application message must be an MLS PrivateMessage";
  const std::string kHandshake =
      "proposals and commits are sent with their own kinds, never as application";
  const std::string application = bob_.mls->encrypt(conv_, "salut");
  const std::string earlier_epoch = bob_.mls->encrypt(conv_, "d'une époque passée");
  // Handshake messages in either framing (the library frames them as PublicMessages; a
  // PrivateMessage's cleartext content type says what it carries).
  const std::string commit = bob_.mls->commit(conv_, {}).message;
  bob_.mls->discard(conv_);
  const std::string proposal = bob_.mls->propose_update(conv_);
  bob_.mls->discard(conv_);
  EXPECT_EQ(refusal(commit), invalid(kNotPrivate));
  EXPECT_EQ(refusal(proposal), invalid(kNotPrivate));
  EXPECT_EQ(refusal(MlsMember::relabel(application, mls::ContentType::kCommit)),
            invalid(kHandshake));
  EXPECT_EQ(refusal(MlsMember::relabel(application, mls::ContentType::kProposal)),
            invalid(kHandshake));
  // A Welcome (for dave), a KeyPackage, a GroupInfo of this epoch signed by bob.
  mls::CommitOptions add;
  add.add_key_packages = {bytes(dave_.spare_key_packages.front())};
  const std::string welcome = bob_.mls->commit_with(conv_, add).welcome;
  bob_.mls->discard(conv_);
  EXPECT_EQ(refusal(welcome), invalid(kNotPrivate));
  EXPECT_EQ(refusal(dave_.spare_key_packages.front()), invalid(kNotPrivate));
  mls::GroupInfo info;
  info.group_context = bob_.mls->state(conv_).group_context();
  info.confirmation_tag = mls::Bytes(32, 0);
  info.signer = bob_.mls->leaf(conv_);
  info.signature = mls::sign_with_label(bob_.mls->signer(), "GroupInfoTBS", info.to_be_signed());
  const mls::Bytes group_info = mls::encode(mls::MlsMessage{1, info});
  EXPECT_EQ(refusal(std::string(group_info.begin(), group_info.end())), invalid(kNotPrivate));
  // Bytes that are no MLS message: garbage, and a PrivateMessage with bytes after it.
  for (const std::string& garbage : {std::string("hello"), application + "x"}) {
    const auto [code, message] = refusal(garbage);
    EXPECT_EQ(code, v1::INVALID_ARGUMENT);
    EXPECT_EQ(message.rfind("an application message must be an MLS message: ", 0), 0u) << message;
  }
  // Bob's message in another group (one of his own).
  bob_.mls->create("another group id");
  EXPECT_EQ(refusal(bob_.mls->encrypt("another group id", "ailleurs")),
            invalid("the message is for another MLS group"));
  // The real message goes through; nothing refused reached alice or carol (expect_goes_on: the
  // real message, then the honest commit, are the next things they get).
  EXPECT_EQ(as_message(application), v1::ERROR_CODE_UNSPECIFIED);
  ASSERT_NO_FATAL_FAILURE(expect_goes_on());
  // A message of the epoch before, at the current one.
  EXPECT_EQ(refusal(earlier_epoch), invalid("the message's MLS epoch is not the request's"));
  ASSERT_NO_FATAL_FAILURE(expect_goes_on());
}

// A professional is always marked: in a direct conversation (no rules, so the commits here carry
// none), the professional's Update or UpdatePath leaf may neither drop the mark nor claim a peer's;
// and nobody gives a direct conversation rules.
}  // namespace
}  // namespace cercle::testing
