// inspect.h: what the server can read from handshake messages without group secrets.
#include "cercle/mls/inspect.h"

#include <gtest/gtest.h>

#include "cercle/mls/state.h"

namespace cercle::mls {
namespace {

TEST(Inspect, CommitAddsRemovesAndWelcomeTargets) {
  auto signer = SignaturePrivateKey::generate();
  State alice = State::create(to_bytes("g"), Credential{to_bytes("alice")}, signer).value();
  auto bob = create_key_package(Credential{to_bytes("bob")}, SignaturePrivateKey::generate());
  auto carol = create_key_package(Credential{to_bytes("carol")}, SignaturePrivateKey::generate());
  CommitOptions opts;
  opts.add_key_packages = {bob->key_package, carol->key_package};
  auto out = alice.commit(opts).value();

  auto info = inspect::public_message_info(out.message).value();
  EXPECT_EQ(info.group_id, to_bytes("g"));
  EXPECT_EQ(info.epoch, 0u);
  EXPECT_EQ(info.sender_type, SenderType::kMember);
  EXPECT_EQ(info.sender_index, 0u);
  EXPECT_EQ(info.content_type, ContentType::kCommit);

  auto summary = inspect::commit_summary(out.message).value();
  std::vector<Bytes> expected = {inspect::key_package_ref(bob->key_package).value(),
                                 inspect::key_package_ref(carol->key_package).value()};
  EXPECT_EQ(summary.added_key_package_refs, expected);
  EXPECT_TRUE(summary.has_path);
  EXPECT_EQ(inspect::welcome_targets(*out.welcome).value(), expected);

  CommitOptions remove;
  remove.remove_leaves = {2};
  auto removal = out.pending.commit(remove).value();
  EXPECT_EQ(inspect::commit_summary(removal.message)->removed_leaves, std::vector<uint32_t>{2});
  // Wrong kinds and bad bytes are errors, not crashes.
  EXPECT_EQ(inspect::commit_summary(*out.welcome).error().code, Errc::kInvalid);
  EXPECT_EQ(inspect::welcome_targets(out.message).error().code, Errc::kInvalid);
  Bytes cut(out.message.begin(), out.message.begin() + 10);
  EXPECT_EQ(inspect::decode_message(cut).error().code, Errc::kDecode);
}

TEST(Inspect, ProposalRefMatchesCommitReference) {
  auto signer = SignaturePrivateKey::generate();
  State alice = State::create(to_bytes("g"), Credential{to_bytes("alice")}, signer).value();
  auto bob = create_key_package(Credential{to_bytes("bob")}, SignaturePrivateKey::generate());
  CommitOptions add;
  add.add_key_packages = {bob->key_package};
  auto out = alice.commit(add).value();
  State bob_state = State::join(*out.welcome, *bob).value();
  auto prop = bob_state.propose_update().value();
  auto ps = inspect::proposal_summary(prop.message).value();
  EXPECT_EQ(ps.proposal.type(), ProposalType::kUpdate);
  auto alice2 = out.pending.process(prop.message).value();
  auto commit = alice2.state.commit(CommitOptions{}).value();
  auto summary = inspect::commit_summary(commit.message).value();
  EXPECT_EQ(summary.proposal_refs, std::vector<Bytes>{ps.proposal_ref});
}

}  // namespace
}  // namespace cercle::mls
