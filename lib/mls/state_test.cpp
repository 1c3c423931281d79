// Group-state API behaviour: create, add, join, messages both ways, commits with updates and
// removals, extensions, storage round trip, and rejection of bad or replayed input.
#include "cercle/mls/state.h"

#include <gtest/gtest.h>

namespace cercle::mls {
namespace {

// An application's private-use extension (RFC 9420 17.3), which every test member supports.
constexpr uint16_t kRulesExtensionType = 0xFF0A;

struct Client {
  Credential credential;
  SignaturePrivateKey signer = SignaturePrivateKey::generate();
  KeyPackageBundle kp() const {
    KeyPackageOptions options;
    options.extension_types = {kRulesExtensionType};
    return create_key_package(credential, signer, options).value();
  }
};

Client client(const char* name) { return Client{Credential{to_bytes(name)}}; }

struct TwoMembers {
  State alice;
  State bob;
};

TwoMembers make_pair_group(std::vector<Extension> gce = {}) {
  Client a = client("alice"), b = client("bob");
  State alice = State::create(to_bytes("group-1"), a.credential, a.signer, gce).value();
  auto bob_kp = b.kp();
  CommitOptions opts;
  opts.add_key_packages = {bob_kp.key_package};
  auto out = alice.commit(opts).value();
  EXPECT_TRUE(out.welcome.has_value());
  State bob = State::join(*out.welcome, bob_kp).value();
  return {std::move(out.pending), std::move(bob)};
}

TEST(State, CreateAddJoinAndAgree) {
  auto g = make_pair_group();
  EXPECT_EQ(g.alice.epoch(), 1u);
  EXPECT_EQ(g.bob.epoch(), 1u);
  EXPECT_EQ(g.alice.epoch_authenticator(), g.bob.epoch_authenticator());
  EXPECT_EQ(g.alice.export_secret("x", to_bytes("c"), 32).value(),
            g.bob.export_secret("x", to_bytes("c"), 32).value());
  ASSERT_EQ(g.bob.members().size(), 2u);
  EXPECT_EQ(g.bob.members()[0].credential.identity, to_bytes("alice"));
  EXPECT_EQ(g.bob.own_leaf(), 1u);
}

TEST(State, ApplicationMessagesBothWaysAndReplayRejected) {
  auto g = make_pair_group();
  auto [ct, alice2] = g.alice.encrypt(to_bytes("bonjour")).value();
  auto got = g.bob.process(ct);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->application_data, to_bytes("bonjour"));
  EXPECT_EQ(got->kind, ContentKind::kApplication);
  // The same ciphertext again must be refused by the advanced state.
  EXPECT_FALSE(got->state.process(ct).ok());
  auto [ct2, bob2] = got->state.encrypt(to_bytes("salut")).value();
  auto back = alice2.process(ct2);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->application_data, to_bytes("salut"));
}

TEST(State, CommitWithPathAndRemove) {
  auto g = make_pair_group();
  Client c = client("carol");
  auto carol_kp = c.kp();
  CommitOptions add;
  add.add_key_packages = {carol_kp.key_package};
  auto out = g.bob.commit(add).value();
  auto alice = g.alice.process(out.message);
  ASSERT_TRUE(alice.ok()) << alice.error().message;
  State carol = State::join(*out.welcome, carol_kp).value();
  State bob = out.pending;
  EXPECT_EQ(alice->state.epoch_authenticator(), bob.epoch_authenticator());
  EXPECT_EQ(carol.epoch_authenticator(), bob.epoch_authenticator());

  CommitOptions remove;
  remove.remove_leaves = {1};
  auto rm = carol.commit(remove).value();
  auto a2 = alice->state.process(rm.message);
  ASSERT_TRUE(a2.ok()) << a2.error().message;
  EXPECT_EQ(a2->state.epoch_authenticator(), rm.pending.epoch_authenticator());
  EXPECT_EQ(a2->state.members().size(), 2u);
  auto b2 = bob.process(rm.message);
  ASSERT_TRUE(b2.ok());
  EXPECT_TRUE(b2->removed);
}

TEST(State, UpdateProposalCommittedByOther) {
  auto g = make_pair_group();
  auto prop = g.bob.propose_update().value();
  auto a1 = g.alice.process(prop.message);
  ASSERT_TRUE(a1.ok()) << a1.error().message;
  auto commit = a1->state.commit(CommitOptions{}).value();
  auto b1 = prop.state.process(commit.message);
  ASSERT_TRUE(b1.ok()) << b1.error().message;
  EXPECT_EQ(b1->state.epoch_authenticator(), commit.pending.epoch_authenticator());
  auto [ct, next] = b1->state.encrypt(to_bytes("after update")).value();
  EXPECT_TRUE(commit.pending.process(ct).ok());
}

TEST(State, GroupContextExtensionsAgreed) {
  std::vector<Extension> roles = {Extension{kRulesExtensionType, to_bytes("facilitator:0")}};
  auto g = make_pair_group(roles);
  EXPECT_EQ(g.bob.group_context_extensions(), roles);
  CommitOptions change;
  change.group_context_extensions =
      std::vector<Extension>{Extension{kRulesExtensionType, to_bytes("facilitator:1")}};
  auto out = g.alice.commit(change).value();
  auto b = g.bob.process(out.message);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->state.group_context_extensions(), *change.group_context_extensions);
  // An extension no member supports is refused.
  CommitOptions bad;
  bad.group_context_extensions = std::vector<Extension>{Extension{0xF999, {}}};
  EXPECT_FALSE(g.alice.commit(bad).ok());
}

TEST(State, SerializeRoundTrip) {
  auto g = make_pair_group();
  auto restored = State::deserialize(g.bob.serialize());
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(restored->serialize(), g.bob.serialize());
  auto [ct, a2] = g.alice.encrypt(to_bytes("stored")).value();
  auto got = restored->process(ct);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->application_data, to_bytes("stored"));
  Bytes data = g.bob.serialize();
  for (size_t n : {size_t{0}, data.size() / 2, data.size() - 1}) {
    EXPECT_FALSE(State::deserialize(BytesView(data.data(), n)).ok());
  }
}

TEST(State, TamperedAndForeignMessagesRejected) {
  auto g = make_pair_group();
  auto out = g.alice.commit(CommitOptions{}).value();
  Bytes bad = out.message;
  bad[bad.size() - 5] ^= 0x01;  // inside the membership tag
  EXPECT_EQ(g.bob.process(bad).error().code, Errc::kVerify);
  Bytes truncated(out.message.begin(), out.message.end() - 1);
  EXPECT_EQ(g.bob.process(truncated).error().code, Errc::kDecode);
  // A message of the next epoch is refused by the old state.
  auto next = g.bob.process(out.message).value();
  auto again = next.state.process(out.message);
  EXPECT_EQ(again.error().code, Errc::kWrongEpoch);
}

TEST(State, KeyPackageChecks) {
  Client d = client("dan");
  auto kp = d.kp();
  auto restored = KeyPackageBundle::deserialize(kp.serialize());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->key_package, kp.key_package);
  auto parsed = parse_key_package(kp.key_package).value();
  EXPECT_TRUE(validate_key_package(parsed, now_seconds()).ok());
  EXPECT_FALSE(validate_key_package(parsed, parsed.leaf_node.lifetime.not_after + 1).ok());
  parsed.signature[0] ^= 1;
  EXPECT_EQ(validate_key_package(parsed, now_seconds()).error().code, Errc::kVerify);
  // Adding the same client twice is refused (duplicate signature key).
  auto g = make_pair_group();
  CommitOptions twice;
  twice.add_key_packages = {kp.key_package, d.kp().key_package};
  EXPECT_FALSE(g.alice.commit(twice).ok());
}

}  // namespace
}  // namespace cercle::mls
