// More group-state behaviour: PSKs, proposals by reference, Welcome mismatches, own messages.
#include <gtest/gtest.h>

#include "cercle/mls/framing.h"
#include "cercle/mls/key_package.h"
#include "cercle/mls/state.h"

namespace cercle::mls {
namespace {

struct Pair {
  State alice;
  State bob;
  KeyPackageBundle bob_kp;
  Bytes welcome;
};

Pair make_pair_group() {
  State alice =
      State::create(to_bytes("g2"), Credential(to_bytes("alice")), SignaturePrivateKey::generate())
          .value();
  auto bob_kp =
      create_key_package(Credential(to_bytes("bob")), SignaturePrivateKey::generate()).value();
  CommitOptions opts;
  opts.add_key_packages = {bob_kp.key_package};
  auto out = alice.commit(opts).value();
  State bob = State::join(*out.welcome, bob_kp).value();
  return {std::move(out.pending), std::move(bob), bob_kp, *out.welcome};
}

TEST(StateMore, ExternalPskMustBeKnownToEveryone) {
  auto g = make_pair_group();
  Bytes id = to_bytes("psk-id"), psk = Bytes(32, 9);
  CommitOptions opts;
  opts.external_psk_ids = {id};
  EXPECT_EQ(g.alice.commit(opts).error().code, Errc::kNotFound);
  auto out = g.alice.with_external_psk(id, psk).commit(opts).value();
  EXPECT_EQ(g.bob.process(out.message).error().code, Errc::kNotFound);
  auto processed = g.bob.with_external_psk(id, psk).process(out.message);
  ASSERT_TRUE(processed.ok()) << processed.error().message;
  EXPECT_EQ(processed->state.epoch_authenticator(), out.pending.epoch_authenticator());
  // A different PSK value gives a different key schedule: the confirmation tag fails.
  auto wrong = g.bob.with_external_psk(id, Bytes(32, 8)).process(out.message);
  EXPECT_EQ(wrong.error().code, Errc::kVerify);
}

TEST(StateMore, RemoveProposalCommittedByReference) {
  auto g = make_pair_group();
  auto carol_kp =
      create_key_package(Credential(to_bytes("carol")), SignaturePrivateKey::generate()).value();
  CommitOptions add;
  add.add_key_packages = {carol_kp.key_package};
  auto added = g.alice.commit(add).value();
  State bob = g.bob.process(added.message).value().state;
  auto prop = bob.propose_remove(2).value();
  auto alice = added.pending.process(prop.message).value().state;
  auto commit = alice.commit(CommitOptions{}).value();
  auto bob2 = prop.state.process(commit.message);
  ASSERT_TRUE(bob2.ok()) << bob2.error().message;
  EXPECT_EQ(bob2->state.members().size(), 2u);
  EXPECT_EQ(bob2->state.epoch_authenticator(), commit.pending.epoch_authenticator());
  // Without the proposal the reference cannot be resolved.
  EXPECT_EQ(bob.process(commit.message).error().code, Errc::kNotFound);
}

TEST(StateMore, WelcomeForAnotherKeyPackageOrTampered) {
  auto g = make_pair_group();
  auto other =
      create_key_package(Credential(to_bytes("eve")), SignaturePrivateKey::generate()).value();
  EXPECT_EQ(State::join(g.welcome, other).error().code, Errc::kNotFound);
  Bytes bad = g.welcome;
  bad[bad.size() - 3] ^= 1;  // inside encrypted_group_info
  EXPECT_FALSE(State::join(bad, g.bob_kp).ok());
  Bytes cut(g.welcome.begin(), g.welcome.end() - 1);
  EXPECT_EQ(State::join(cut, g.bob_kp).error().code, Errc::kDecode);
}

TEST(StateMore, OwnMessagesAndApplicationAsPublicRefused) {
  auto g = make_pair_group();
  auto [ct, alice2] = g.alice.encrypt(to_bytes("x")).value();
  EXPECT_EQ(g.alice.process(ct).error().code, Errc::kInvalid);
  auto out = g.alice.commit(CommitOptions{}).value();
  EXPECT_EQ(g.alice.process(out.message).error().code, Errc::kInvalid);
  EXPECT_FALSE(g.alice.export_secret("l", {}, 255 * 32 + 1).ok());
  EXPECT_EQ(g.alice.propose_remove(7).error().code, Errc::kInvalid);
}

TEST(StateMore, MessagesOfOldEpochRefusedAfterCommit) {
  auto g = make_pair_group();
  auto [ct, alice2] = g.alice.encrypt(to_bytes("late")).value();
  auto out = alice2.commit(CommitOptions{}).value();
  State bob = g.bob.process(out.message).value().state;
  EXPECT_EQ(bob.process(ct).error().code, Errc::kWrongEpoch);
}

TEST(StateMore, EveryTruncationAndTrailingByteOfRealMessagesIsRefused) {
  auto g = make_pair_group();
  auto commit = g.alice.commit(CommitOptions{}).value();
  auto [app, next] = g.alice.encrypt(to_bytes("hello")).value();
  for (const Bytes& m : {commit.message, app, g.welcome, g.bob_kp.key_package}) {
    ASSERT_TRUE(decode_exact<MlsMessage>(m).ok());
    for (size_t n = 0; n < m.size(); ++n) {
      ASSERT_FALSE(decode_exact<MlsMessage>(BytesView(m.data(), n)).ok()) << n;
    }
    Bytes longer = m;
    longer.push_back(0);
    EXPECT_EQ(decode_exact<MlsMessage>(longer).error().code, Errc::kDecode);
  }
}

TEST(StateMore, AMemberLeavesByProposingItsOwnRemoval) {
  Pair g = make_pair_group();
  auto leave = g.bob.propose_remove(g.bob.own_leaf());
  ASSERT_TRUE(leave.ok()) << leave.error().message;
  auto seen = g.alice.process(leave->message);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->kind, ContentKind::kProposal);
  CommitOptions opts;  // Pending proposals are included by reference.
  auto out = seen->state.commit(opts);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->pending.members().size(), 1u);
  auto gone = leave->state.process(out->message);
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_TRUE(gone->removed);
  // The committer never removes itself, even when asked by a proposal.
  auto self = g.alice.propose_remove(g.alice.own_leaf()).value();
  auto kept = self.state.commit(opts);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->pending.members().size(), 2u);
}

// A group of three whose members all support an application extension (alice, bob, carol).
struct Trio {
  State alice, bob, carol;
};

constexpr uint16_t kRulesExtensionType = 0xFF0A;

Trio make_trio() {
  KeyPackageOptions kp_options;
  kp_options.extension_types = {kRulesExtensionType};
  State alice =
      State::create(to_bytes("g3"), Credential(to_bytes("alice")), SignaturePrivateKey::generate(),
                    CreateOptions{{}, {kRulesExtensionType}, {}})
          .value();
  auto bob_kp =
      create_key_package(Credential(to_bytes("bob")), SignaturePrivateKey::generate(), kp_options)
          .value();
  auto carol_kp =
      create_key_package(Credential(to_bytes("carol")), SignaturePrivateKey::generate(), kp_options)
          .value();
  CommitOptions add;
  add.add_key_packages = {bob_kp.key_package, carol_kp.key_package};
  auto out = alice.commit(add).value();
  return {std::move(out.pending), State::join(*out.welcome, bob_kp).value(),
          State::join(*out.welcome, carol_kp).value()};
}

bool has_path(const Bytes& commit_message) {
  const MlsMessage message = decode_exact<MlsMessage>(commit_message).value();
  const auto& m = std::get<PublicMessage>(message.body);
  return std::get<Commit>(m.content.content).path.has_value();
}

// B1: the web client (ts-mls 1.6) commits a change of the rules (GroupContextExtensions) without
// an UpdatePath. A C++ member follows it, as the relay's PublicGroup does; its own such commits
// keep the path RFC 9420 12.4 asks for, and a pathless Remove is still refused.
TEST(StateMore, APathlessRulesCommitIsFollowedAndAPathlessRemoveIsNot) {
  Trio g = make_trio();
  const std::vector<Extension> rules = {{kRulesExtensionType, to_bytes("muted: carol")}};
  CommitOptions own;
  own.force_path = false;
  own.group_context_extensions = rules;
  EXPECT_TRUE(has_path(g.alice.commit(own).value().message));

  CommitOptions like_web = own;
  like_web.omit_path = true;
  auto web = g.alice.commit(like_web).value();
  ASSERT_FALSE(has_path(web.message));
  auto followed = g.bob.process(web.message);
  ASSERT_TRUE(followed.ok()) << followed.error().message;
  EXPECT_EQ(followed->state.group_context_extensions(), rules);
  EXPECT_EQ(followed->state.epoch_authenticator(), web.pending.epoch_authenticator());
  auto [text, sent] = web.pending.encrypt(to_bytes("still one group")).value();
  auto read = followed->state.process(text);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->application_data, to_bytes("still one group"));

  CommitOptions remove;
  remove.remove_leaves = {g.carol.own_leaf()};
  remove.omit_path = true;
  auto removing = sent.commit(remove).value();
  ASSERT_FALSE(has_path(removing.message));
  auto refused = followed->state.process(removing.message);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalid);
  EXPECT_EQ(refused.error().message, "commit requires a path");
}

}  // namespace
}  // namespace cercle::mls
