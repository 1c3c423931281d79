// PublicGroup against the project's private State: a public view that follows a group's commits
// must hold each member's GroupContext and ratchet tree at every epoch, and must refuse a proposal
// or commit that its sender's leaf did not sign.
#include "cercle/mls/public_group.h"

#include <gtest/gtest.h>

#include "cercle/mls/framing.h"
#include "cercle/mls/key_package.h"
#include "cercle/mls/state.h"

namespace cercle::mls {
namespace {

// An application's private-use extension (RFC 9420 17.3), which every test member supports.
constexpr uint16_t kRulesExtensionType = 0xFF0A;

struct Device {
  SignaturePrivateKey signer = SignaturePrivateKey::generate();
  Credential credential;
  KeyPackageBundle key_package() const {
    KeyPackageOptions options;
    options.extension_types = {kRulesExtensionType};
    return create_key_package(credential, signer, options).value();
  }
};

Device device(const char* name) {
  Device d;
  d.credential = Credential(to_bytes(name));
  return d;
}

PublicMessage public_message(const Bytes& message) {
  return std::get<PublicMessage>(decode_exact<MlsMessage>(message).value().body);
}

Bytes wrap(PublicMessage m) { return encode(MlsMessage{kProtocolVersion, std::move(m)}); }

// A group of three (alice creates, adds bob and carol) with its public view.
class PublicGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = State::create(group_id_, a_.credential, a_.signer,
                           CreateOptions{{}, {kRulesExtensionType}, {}})
                 .value();
    auto view = PublicGroup::from_genesis(encode(alice_->group_context()),
                                          alice_->tree().encode_bytes(), group_id_);
    ASSERT_TRUE(view.ok()) << view.error().message;
    view_ = std::move(*view);
    auto bob_kp = b_.key_package(), carol_kp = c_.key_package();
    CommitOptions add;
    add.add_key_packages = {bob_kp.key_package, carol_kp.key_package};
    auto out = alice_->commit(add).value();
    // The first commit: the view cannot know the epoch-0 interim transcript hash.
    auto ac = view_.verify(out.message);
    ASSERT_TRUE(ac.ok()) << ac.error().message;
    EXPECT_EQ(view_.apply_commit(*ac).error().code, Errc::kInvalid);
    auto next = view_.apply_commit(*ac, out.pending.group_context().confirmed_transcript_hash,
                                   now_seconds());
    ASSERT_TRUE(next.ok()) << next.error().message;
    EXPECT_EQ(next->added_leaves, (std::vector<uint32_t>{1, 2}));
    EXPECT_EQ(next->added_key_packages,
              (std::vector<Bytes>{bob_kp.ref().value(), carol_kp.ref().value()}));
    view_ = std::move(next->next);
    alice_ = std::move(out.pending);
    bob_ = State::join(*out.welcome, bob_kp).value();
    carol_ = State::join(*out.welcome, carol_kp).value();
    expect_in_step();
  }

  std::vector<State*> members() { return {&*alice_, &*bob_, &*carol_}; }

  void expect_in_step() {
    for (State* s : members()) {
      EXPECT_EQ(view_.context(), s->group_context()) << "leaf " << s->own_leaf();
      EXPECT_EQ(view_.tree(), s->tree()) << "leaf " << s->own_leaf();
    }
  }

  // The view authenticates and remembers a proposal; every other member processes it.
  void propose(State& sender, const ProposalOutput& out) {
    auto ac = view_.verify(out.message);
    ASSERT_TRUE(ac.ok()) << ac.error().message;
    auto next = view_.add_proposal(*ac);
    ASSERT_TRUE(next.ok()) << next.error().message;
    view_ = std::move(*next);
    for (State* s : members()) {
      if (s == &sender) continue;
      auto processed = s->process(out.message);
      ASSERT_TRUE(processed.ok()) << processed.error().message;
      *s = std::move(processed->state);
    }
    sender = out.state;
  }

  // The view applies a commit, every member processes it, and all end in the same epoch.
  PublicCommit commit(State& committer, const CommitOptions& options) {
    auto out = committer.commit(options).value();
    auto ac = view_.verify(out.message);
    EXPECT_TRUE(ac.ok()) << ac.error().message;
    auto applied = view_.apply_commit(*ac, std::nullopt, now_seconds());
    EXPECT_TRUE(applied.ok()) << applied.error().message;
    view_ = applied->next;
    for (State* s : members()) {
      if (s == &committer) continue;
      auto processed = s->process(out.message);
      EXPECT_TRUE(processed.ok()) << processed.error().message;
      *s = std::move(processed->state);
    }
    committer = std::move(out.pending);
    welcome_ = out.welcome;
    return std::move(*applied);
  }

  // `m` signed anew by `key` after an edit (what its malicious sender can send), with its tags.
  Bytes resigned(const PublicMessage& m, const SignaturePrivateKey& key) {
    AuthenticatedContent ac =
        sign_content(WireFormat::kPublicMessage, m.content, key, view_.context());
    ac.auth.confirmation_tag = m.auth.confirmation_tag;
    return wrap(PublicMessage{ac.content, ac.auth, m.membership_tag});
  }

  Bytes group_id_ = to_bytes("public-group");
  Device a_ = device("alice"), b_ = device("bob"), c_ = device("carol");
  std::optional<State> alice_, bob_, carol_;  // State has no empty value.
  PublicGroup view_;
  std::optional<Bytes> welcome_;
};

TEST_F(PublicGroupTest, FollowsUpdatesRemovesAddsAndExtensions) {
  ASSERT_NO_FATAL_FAILURE(propose(*bob_, bob_->propose_update().value()));
  commit(*carol_, CommitOptions{});  // Bob's Update by reference, Carol's own path.
  expect_in_step();
  EXPECT_EQ(view_.epoch(), 2u);

  CommitOptions ext;
  ext.group_context_extensions = {Extension{kRulesExtensionType, to_bytes("rules")}};
  commit(*bob_, ext);
  expect_in_step();
  EXPECT_EQ(view_.context().extensions, *ext.group_context_extensions);

  Device d = device("dave");
  auto dave_kp = d.key_package();
  ASSERT_NO_FATAL_FAILURE(propose(*carol_, carol_->propose_add(dave_kp.key_package).value()));
  CommitOptions remove;
  remove.remove_leaves = {1};  // Bob, by value; Dave's Add by reference takes the first free leaf.
  auto applied = commit(*alice_, remove);
  EXPECT_EQ(applied.removed_leaves, (std::vector<uint32_t>{1}));
  EXPECT_EQ(applied.added_leaves, (std::vector<uint32_t>{1}));
  bob_ = State::join(*welcome_, dave_kp).value();  // Bob is gone; Dave takes his place.
  expect_in_step();

  CommitOptions no_path;
  no_path.force_path = false;
  no_path.add_key_packages = {device("erin").key_package().key_package};
  commit(*bob_, no_path);  // Adds only: no UpdatePath.
  expect_in_step();
  EXPECT_EQ(view_.epoch(), 5u);
}

std::vector<std::string> identities(const PublicGroup& view) {
  std::vector<std::string> out;
  for (const PublicMember& m : view.members()) {
    out.push_back(
        std::to_string(m.leaf) + ":" +
        std::string(m.node->credential.identity.begin(), m.node->credential.identity.end()));
  }
  return out;
}

// Who is where, read from the view alone: members and their keys, and the leaf each Add took once
// the commit's removes freed theirs (what the relay records instead of modelling it).
TEST_F(PublicGroupTest, TellsMembersTheirKeysAndTheLeavesAddsTook) {
  EXPECT_EQ(identities(view_), (std::vector<std::string>{"0:alice", "1:bob", "2:carol"}));
  EXPECT_EQ(view_.members()[1].node->signature_key, b_.signer.public_key);
  EXPECT_EQ(view_.leaf_of(b_.signer.public_key), 1u);
  EXPECT_EQ(view_.leaf_of(c_.signer.public_key), 2u);
  Device d = device("dave"), e = device("erin");
  EXPECT_EQ(view_.leaf_of(d.signer.public_key), std::nullopt);

  auto dave_kp = d.key_package(), erin_kp = e.key_package();
  CommitOptions change;
  change.remove_leaves = {1};
  change.add_key_packages = {dave_kp.key_package, erin_kp.key_package};
  PublicCommit applied = commit(*alice_, change);
  EXPECT_EQ(applied.added_leaf(dave_kp.ref().value()), 1u);  // Bob's freed leaf first.
  EXPECT_EQ(applied.added_leaf(erin_kp.ref().value()), 3u);  // Then the tree grows.
  EXPECT_EQ(applied.added_leaf(b_.key_package().ref().value()), std::nullopt);
  EXPECT_EQ(identities(view_),
            (std::vector<std::string>{"0:alice", "1:dave", "2:carol", "3:erin"}));
  EXPECT_EQ(view_.leaf_of(b_.signer.public_key), std::nullopt);
  EXPECT_EQ(view_.leaf_of(d.signer.public_key), 1u);
  EXPECT_EQ(view_.leaf_of(e.signer.public_key), 3u);
}

TEST_F(PublicGroupTest, RefusesWhatTheSenderDidNotSign) {
  auto out = bob_->commit(CommitOptions{}).value();
  ASSERT_TRUE(view_.verify(out.message).ok());

  PublicMessage corrupted = public_message(out.message);
  corrupted.auth.signature[5] ^= 1;
  EXPECT_EQ(view_.verify(wrap(corrupted)).error().code, Errc::kVerify);

  PublicMessage changed = public_message(out.message);
  changed.content.authenticated_data = to_bytes("changed after signing");
  EXPECT_EQ(view_.verify(wrap(changed)).error().code, Errc::kVerify);

  PublicMessage other_leaf = public_message(out.message);
  other_leaf.content.sender.index = 2;  // Carol's leaf, Bob's signature.
  EXPECT_EQ(view_.verify(wrap(other_leaf)).error().code, Errc::kVerify);

  // Re-signed with a key that is not Bob's leaf's (e.g. his device key of another group).
  PublicMessage resigned = public_message(out.message);
  AuthenticatedContent ac = sign_content(WireFormat::kPublicMessage, resigned.content,
                                         SignaturePrivateKey::generate(), view_.context());
  resigned.auth.signature = ac.auth.signature;
  EXPECT_EQ(view_.verify(wrap(resigned)).error().code, Errc::kVerify);

  // A proposal is checked the same way.
  auto proposal = carol_->propose_remove(0).value();
  PublicMessage bad_proposal = public_message(proposal.message);
  bad_proposal.content.authenticated_data = to_bytes("x");
  EXPECT_EQ(view_.verify(wrap(bad_proposal)).error().code, Errc::kVerify);
  EXPECT_TRUE(view_.verify(proposal.message).ok());

  // The honest commit still goes through, and nothing was remembered from the refused ones.
  auto honest = view_.verify(out.message);
  ASSERT_TRUE(honest.ok());
  auto next = view_.apply_commit(*honest);
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->next.context(), out.pending.group_context());
  // The view's epoch moved: the same commit is now of another epoch.
  EXPECT_EQ(next->next.verify(out.message).error().code, Errc::kWrongEpoch);
}

TEST_F(PublicGroupTest, RefusesCommitsMembersWouldRefuse) {
  // A reference to a proposal the view never saw.
  auto proposal = carol_->propose_remove(0).value();
  State bob = bob_->process(proposal.message).value().state;
  auto by_ref = bob.commit(CommitOptions{}).value();
  auto ac = view_.verify(by_ref.message);
  ASSERT_TRUE(ac.ok());
  EXPECT_EQ(view_.apply_commit(*ac).error().code, Errc::kNotFound);

  // A path whose parent hash does not match: signed, but members would refuse it.
  auto out = bob_->commit(CommitOptions{}).value();
  PublicMessage m = public_message(out.message);
  auto& path = *std::get<Commit>(m.content.content).path;
  path.nodes.back().encryption_key[0] ^= 1;
  auto verified = view_.verify(resigned(m, b_.signer));
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(view_.apply_commit(*verified).error().code, Errc::kVerify);

  // A commit stripped of the path its Remove requires, signed again by its committer.
  CommitOptions remove;
  remove.remove_leaves = {2};
  auto removing = alice_->commit(remove).value();
  PublicMessage stripped = public_message(removing.message);
  std::get<Commit>(stripped.content.content).path.reset();
  AuthenticatedContent no_path =
      sign_content(WireFormat::kPublicMessage, stripped.content, a_.signer, view_.context());
  stripped.auth.signature = no_path.auth.signature;
  auto unpathed = view_.verify(wrap(stripped));
  ASSERT_TRUE(unpathed.ok()) << unpathed.error().message;
  EXPECT_EQ(view_.apply_commit(*unpathed).error().code, Errc::kInvalid);
}

// A leaf re-signed by its own member after an edit: what a malicious member can send.
void resign_leaf(LeafNode& leaf, const SignaturePrivateKey& key, BytesView group_id,
                 uint32_t index) {
  leaf.signature = sign_with_label(key, "LeafNodeTBS", leaf.to_be_signed(group_id, index));
}

TEST_F(PublicGroupTest, RefusesAKeyAlreadyInTheTree) {
  const Bytes carol_key = view_.tree().leaf(2)->encryption_key;
  // An Update proposal whose leaf takes carol's encryption key, signed by bob.
  PublicMessage update = public_message(bob_->propose_update().value().message);
  auto& leaf = std::get<UpdateProposal>(std::get<Proposal>(update.content.content).value).leaf_node;
  leaf.encryption_key = carol_key;
  resign_leaf(leaf, b_.signer, group_id_, 1);
  auto verified_update = view_.verify(resigned(update, b_.signer));
  ASSERT_TRUE(verified_update.ok()) << verified_update.error().message;
  auto cached = view_.add_proposal(*verified_update);
  ASSERT_FALSE(cached.ok());
  EXPECT_EQ(cached.error().code, Errc::kInvalid);
  EXPECT_EQ(cached.error().message, "duplicate encryption key");

  // A commit whose UpdatePath leaf takes carol's key, signed by bob.
  PublicMessage m = public_message(bob_->commit(CommitOptions{}).value().message);
  auto& path_leaf = std::get<Commit>(m.content.content).path->leaf_node;
  path_leaf.encryption_key = carol_key;
  resign_leaf(path_leaf, b_.signer, group_id_, 1);
  auto verified = view_.verify(resigned(m, b_.signer));
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  auto applied = view_.apply_commit(*verified);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().code, Errc::kInvalid);
  EXPECT_EQ(applied.error().message, "duplicate encryption key");
}

TEST_F(PublicGroupTest, RemembersABoundedNumberOfProposals) {
  // Bob's Update proposals (valid, each signed by him): the view keeps at most the cap.
  size_t kept = 0;
  Errc refusal = Errc::kDecode;
  for (size_t i = 0; i <= kMaxPublicProposals; ++i) {
    auto out = bob_->propose_update().value();
    auto ac = view_.verify(out.message).value();
    auto next = view_.add_proposal(ac);
    if (!next) {
      refusal = next.error().code;
      break;
    }
    view_ = std::move(*next);
    ++kept;
  }
  EXPECT_EQ(kept, kMaxPublicProposals);
  EXPECT_EQ(refusal, Errc::kLimit);
  // Large proposals meet the byte cap first.
  PublicGroup fresh = PublicGroup::deserialize(view_.serialize()).value();
  Proposal big{GroupContextExtensionsProposal{
      {Extension{kRulesExtensionType, Bytes(kMaxPublicProposalBytes / 2, 7)}}}};
  auto first = fresh.add_proposal(view_.verify(bob_->propose(big).value().message).value());
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = first->add_proposal(view_.verify(bob_->propose(big).value().message).value());
  EXPECT_EQ(second.error().code, Errc::kLimit);
}

TEST_F(PublicGroupTest, SurvivesStorage) {
  auto restored = PublicGroup::deserialize(view_.serialize());
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(restored->context(), view_.context());
  EXPECT_EQ(restored->tree(), view_.tree());
  EXPECT_EQ(restored->interim_transcript_hash(), view_.interim_transcript_hash());
  view_ = std::move(*restored);
  commit(*carol_, CommitOptions{});
  expect_in_step();
  Bytes bad = view_.serialize();
  bad.pop_back();
  EXPECT_EQ(PublicGroup::deserialize(bad).error().code, Errc::kDecode);
}

TEST(PublicGroupGenesis, ChecksTheCreatorsStatement) {
  Device a = device("alice");
  Bytes id = to_bytes("g");
  State alice = State::create(id, a.credential, a.signer).value();
  Bytes context = encode(alice.group_context());
  Bytes tree = alice.tree().encode_bytes();
  EXPECT_TRUE(PublicGroup::from_genesis(context, tree, id).ok());
  EXPECT_EQ(PublicGroup::from_genesis(context, tree, to_bytes("h")).error().code, Errc::kInvalid);
  State other = State::create(id, a.credential, a.signer).value();
  EXPECT_EQ(PublicGroup::from_genesis(context, other.tree().encode_bytes(), id).error().code,
            Errc::kVerify);
  Bytes truncated(context.begin(), context.end() - 1);
  EXPECT_EQ(PublicGroup::from_genesis(truncated, tree, id).error().code, Errc::kDecode);
  GroupContext later = alice.group_context();
  later.epoch = 3;
  EXPECT_EQ(PublicGroup::from_genesis(encode(later), tree, id).error().code, Errc::kInvalid);
}

}  // namespace
}  // namespace cercle::mls
