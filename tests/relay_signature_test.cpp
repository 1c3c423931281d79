// The relay checks the signature of every proposal and commit before any member sees it.
//
// Attack (issue 11, defect 3b): a member sends a commit whose signature does not verify (corrupted
// in transit, signed by a key that is not its leaf's, or content changed after signing). Before,
// the relay accepted it and moved its epoch while every client refused the commit, stranding the
// group. Now the relay follows each group's public MLS state (server/domain/public_groups.h, from
// the creator's statement of the group's start with its first commit) and refuses such a message
// with FORBIDDEN; its epoch stays, and the honest members go on. The view survives a restart.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cercle/mls/framing.h"
#include "cercle/mls/state.h"
#include "cercle/policy/extensions.h"
#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

mls::Bytes bytes(const std::string& s) { return mls::Bytes(s.begin(), s.end()); }
std::string str(const mls::Bytes& b) { return std::string(b.begin(), b.end()); }

// Re-encodes an MLSMessage(PublicMessage) after `edit` changed it, without signing it again.
std::string tampered(const std::string& message,
                     const std::function<void(mls::PublicMessage&)>& edit) {
  auto decoded = mls::decode_exact<mls::MlsMessage>(bytes(message)).value();
  edit(std::get<mls::PublicMessage>(decoded.body));
  return str(mls::encode(decoded));
}

// Signs the message's content again with `key` over `context` (the same content, another signer).
std::string resigned(const std::string& message, const mls::SignaturePrivateKey& key,
                     const mls::GroupContext& context) {
  return tampered(message, [&](mls::PublicMessage& pm) {
    pm.auth.signature =
        mls::sign_content(mls::WireFormat::kPublicMessage, pm.content, key, context).auth.signature;
  });
}

class RelaySignatureTest : public RelayFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_server());
    ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice_));
    ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob_));
    ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol_));
  }

  // Alice creates the conversation (a group, or a direct one with Bob) and her own MLS group in it
  // (not the fixture's MlsMember: her leaf may name someone else), her leaf naming `name`.
  void create_conversation(bool direct = false, std::string name = {}) {
    v1::ClientFrame f = create_group_frame();
    if (direct) {
      f.mutable_create_conversation()->set_kind(v1::DIRECT);
      f.mutable_create_conversation()->set_peer_handle(bob_.handle);
    }
    auto r = alice_.ws->call(f);
    ASSERT_TRUE(r && r->has_conversation()) << (r ? r->error().message() : "timeout");
    conv_ = r->conversation().conversation_id();
    auto signer = mls::SignaturePrivateKey::from_seed(mls::BytesView(alice_.key.sk, 32)).value();
    if (name.empty()) name = alice_.handle;
    alice_state_ = mls::State::create(bytes(conv_), mls::Credential(bytes(name)), signer,
                                      mls::CreateOptions{{}, policy::leaf_extension_types(), {}})
                       .value();
  }

  // Alice's first commit adds `added` (with their spare KeyPackages) and carries the genesis as
  // `edit` leaves it; in a group it also sets rules in which everyone facilitates (so that each
  // member's commits below are allowed). Direct conversations have no rules: no path is needed.
  std::optional<v1::Response> first_commit(const std::vector<TestDevice*>& added,
                                           const std::function<void(v1::GroupGenesis&)>& edit,
                                           bool direct = false) {
    mls::CommitOptions options;
    std::vector<uint64_t> ids;
    for (TestDevice* d : added) {
      if (d->spare_key_packages.empty()) upload_key_packages(*d);
      options.add_key_packages.push_back(bytes(d->spare_key_packages.front()));
      ids.push_back(d->device_id);
    }
    if (direct) {
      options.force_path = false;
    } else {
      auto policy = facilitating_policy(std::nullopt, alice_.handle, {bob_.handle, carol_.handle});
      options.group_context_extensions = {mls::Extension{policy::kRolesExtensionType, bytes(*policy)}};
    }
    first_ = alice_state_->commit(options).value();
    auto frame = commit_frame(conv_, 0, str(first_->message), ids, {}, str(*first_->welcome));
    const mls::Genesis start = mls::genesis(*alice_state_, first_->pending);
    auto* genesis = frame.mutable_commit()->mutable_genesis();
    genesis->set_group_context(str(start.group_context));
    genesis->set_ratchet_tree(str(start.ratchet_tree));
    genesis->set_confirmed_transcript_hash(str(start.confirmed_transcript_hash));
    edit(*genesis);
    auto r = alice_.ws->call(frame);
    if (r && r->has_commit()) {
      for (TestDevice* d : added) d->spare_key_packages.pop_front();
    }
    return r;
  }

  // A group of Alice, Bob and Carol whose first commit states the group's start (with a false
  // confirmed transcript hash if asked).
  void make_verified_group(bool false_transcript = false) {
    ASSERT_NO_FATAL_FAILURE(create_conversation());
    auto accepted = first_commit({&bob_, &carol_}, [&](v1::GroupGenesis& g) {
      if (false_transcript) (*g.mutable_confirmed_transcript_hash())[0] ^= 1;
    });
    ASSERT_TRUE(accepted && accepted->has_commit())
        << (accepted ? accepted->error().message() : "timeout");
    alice_state_ = std::move(first_->pending);
    ASSERT_NO_FATAL_FAILURE(join(bob_, conv_, str(*first_->welcome)));
    ASSERT_NO_FATAL_FAILURE(join(carol_, conv_, str(*first_->welcome)));
  }

  uint64_t relay_epoch() { return relay_epoch_as(carol_); }
  uint64_t relay_epoch_as(TestDevice& d) {
    v1::ClientFrame f;
    f.mutable_get_conversation()->set_conversation_id(conv_);
    auto r = d.ws->call(f);
    EXPECT_TRUE(r && r->has_conversation()) << (r ? r->error().message() : "timeout");
    return r && r->has_conversation() ? r->conversation().epoch() : UINT64_MAX;
  }

  // Bob's commit on `epoch` (not adopted: the caller decides).
  std::string bob_commit(uint64_t epoch) {
    auto c = bob_.mls->commit(conv_, {});
    bob_.mls->discard(conv_);
    EXPECT_EQ(bob_.mls->epoch(conv_), epoch);
    return c.message;
  }

  // An honest commit by Carol is accepted and every member processes it; then Bob's message
  // reaches Carol: the group goes on.
  void group_goes_on(uint64_t epoch) {
    auto c = carol_.mls->commit(conv_, {});
    auto r = carol_.ws->call(commit_frame(conv_, epoch, c.message, {}, {}, {}));
    ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
    ASSERT_EQ(r->commit().epoch(), epoch + 1);
    carol_.mls->adopt(conv_);
    ASSERT_TRUE(bob_.mls->process(conv_, c.message));
    auto processed = alice_state_->process(bytes(c.message));
    ASSERT_TRUE(processed.ok()) << processed.error().message;
    alice_state_ = std::move(processed->state);
    EXPECT_EQ(alice_state_->epoch_authenticator(), bytes(bob_.mls->epoch_authenticator(conv_)));
    uint64_t seq = 0;
    ASSERT_NO_FATAL_FAILURE(
        send_ok(bob_, conv_, epoch + 1, bob_.mls->encrypt(conv_, "still here"), &seq));
    for (;;) {
      auto d = carol_.ws->next_delivery();
      ASSERT_TRUE(d) << "Bob's message never reached Carol";
      if (d->seq() != seq) continue;  // Earlier entries (a restart delivers them again).
      EXPECT_EQ(carol_.mls->decrypt(conv_, d->payload()), "still here");
      break;
    }
  }

  void expect_refused(const std::string& commit, uint64_t epoch, v1::ErrorCode code) {
    auto r = bob_.ws->call(commit_frame(conv_, epoch, commit, {}, {}, {}));
    EXPECT_EQ(error_of(r), code) << (r && r->has_error() ? r->error().message() : "accepted");
    EXPECT_EQ(relay_epoch(), epoch);
  }

  TestDevice alice_, bob_, carol_;
  std::string conv_;
  std::optional<mls::State> alice_state_;   // Alice's MLS side (State has no empty value).
  std::optional<mls::CommitOutput> first_;  // Alice's latest first commit.
};

TEST_F(RelaySignatureTest, CommitsTheSenderDidNotSignAreRefusedAndTheGroupGoesOn) {
  ASSERT_NO_FATAL_FAILURE(make_verified_group());
  const std::string honest = bob_commit(1);
  expect_refused(tampered(honest, [](mls::PublicMessage& pm) { pm.auth.signature[7] ^= 1; }), 1,
                 v1::FORBIDDEN);
  expect_refused(
      resigned(honest, mls::SignaturePrivateKey::generate(), alice_state_->group_context()), 1,
      v1::FORBIDDEN);
  // Alice signs Bob's commit: a real member's key, but not the sender leaf's.
  auto alice_key = mls::SignaturePrivateKey::from_seed(mls::BytesView(alice_.key.sk, 32)).value();
  expect_refused(resigned(honest, alice_key, alice_state_->group_context()), 1, v1::FORBIDDEN);
  // Content changed after signing: a public key of the UpdatePath.
  expect_refused(tampered(honest,
                          [](mls::PublicMessage& pm) {
                            auto& path = *std::get<mls::Commit>(pm.content.content).path;
                            path.nodes.front().encryption_key[3] ^= 1;
                          }),
                 1, v1::FORBIDDEN);
  // Signed over another epoch's GroupContext (a replay into the wrong context).
  mls::GroupContext other = alice_state_->group_context();
  other.confirmed_transcript_hash[0] ^= 1;
  auto bob_key = mls::SignaturePrivateKey::from_seed(mls::BytesView(bob_.key.sk, 32)).value();
  expect_refused(resigned(honest, bob_key, other), 1, v1::FORBIDDEN);
  // The same content signed by Bob over the right context is his commit again: accepted.
  ASSERT_NO_FATAL_FAILURE(group_goes_on(1));
}

TEST_F(RelaySignatureTest, ProposalsTheSenderDidNotSignAreRefused) {
  ASSERT_NO_FATAL_FAILURE(make_verified_group());
  const uint32_t carol_leaf = carol_.mls->leaf(conv_);
  const std::string leave = carol_.mls->propose_remove(conv_, carol_leaf);
  auto propose = [&](const std::string& payload) {
    v1::ClientFrame f = send_frame(conv_, 1, payload);
    f.mutable_send()->set_kind(v1::PROPOSAL);
    return carol_.ws->call(f);
  };
  auto r = propose(tampered(leave, [](mls::PublicMessage& pm) {
    pm.content.authenticated_data = bytes("changed after signing");
  }));
  EXPECT_EQ(error_of(r), v1::FORBIDDEN) << (r && r->has_error() ? r->error().message() : "");
  r = propose(resigned(leave, mls::SignaturePrivateKey::generate(), alice_state_->group_context()));
  EXPECT_EQ(error_of(r), v1::FORBIDDEN) << (r && r->has_error() ? r->error().message() : "");
  r = propose(tampered(leave, [](mls::PublicMessage& pm) { pm.auth.signature[1] ^= 1; }));
  EXPECT_EQ(error_of(r), v1::FORBIDDEN) << (r && r->has_error() ? r->error().message() : "");
  // The genuine proposal is accepted, and a commit that refers to it goes through (a commit that
  // referred to a refused one could not: the relay never remembered it).
  r = propose(leave);
  ASSERT_TRUE(r && r->has_send()) << (r ? r->error().message() : "timeout");
  ASSERT_TRUE(bob_.mls->process(conv_, leave));
  auto c = bob_.mls->commit(conv_, {}, {});
  auto committed = bob_.ws->call(commit_frame(conv_, 1, c.message, {}, {carol_.device_id}, {}));
  ASSERT_TRUE(committed && committed->has_commit())
      << (committed ? committed->error().message() : "timeout");
  EXPECT_EQ(committed->commit().epoch(), 2u);
}

TEST_F(RelaySignatureTest, TheViewSurvivesARestart) {
  ASSERT_NO_FATAL_FAILURE(make_verified_group());
  ASSERT_NO_FATAL_FAILURE(group_goes_on(1));
  server_->kill9();  // The view is written with each commit it follows, in the same batch.
  ASSERT_NO_FATAL_FAILURE(restart_server());
  for (TestDevice* d : {&alice_, &bob_, &carol_}) ASSERT_NO_FATAL_FAILURE(reconnect(d));
  const std::string honest = bob_commit(2);
  expect_refused(tampered(honest, [](mls::PublicMessage& pm) { pm.auth.signature[0] ^= 1; }), 2,
                 v1::FORBIDDEN);
  ASSERT_NO_FATAL_FAILURE(group_goes_on(2));
}

// The relay takes the genesis only as the start of this very group, with the first commit.
TEST_F(RelaySignatureTest, TheGenesisMustBeThisGroupsStart) {
  ASSERT_NO_FATAL_FAILURE(create_conversation());
  auto alice_key = mls::SignaturePrivateKey::from_seed(mls::BytesView(alice_.key.sk, 32)).value();
  auto other =
      mls::State::create(bytes("another group"), mls::Credential(bytes(alice_.handle)), alice_key,
                         mls::CreateOptions{{}, policy::leaf_extension_types(), {}})
          .value();
  auto r = first_commit({&bob_, &carol_}, [&](v1::GroupGenesis& g) {
    g.set_group_context(str(mls::encode(other.group_context())));
  });
  EXPECT_EQ(error_of(r), v1::INVALID_ARGUMENT) << (r && r->has_error() ? r->error().message() : "");
  // This group's context with another tree (the same creator, another epoch-0 leaf).
  auto again = mls::State::create(bytes(conv_), mls::Credential(bytes(alice_.handle)), alice_key,
                                  mls::CreateOptions{{}, policy::leaf_extension_types(), {}});
  r = first_commit({&bob_, &carol_}, [&](v1::GroupGenesis& g) {
    g.set_ratchet_tree(str(again->tree().encode_bytes()));
  });
  EXPECT_EQ(error_of(r), v1::INVALID_ARGUMENT) << (r && r->has_error() ? r->error().message() : "");
  r = first_commit({&bob_, &carol_}, [](v1::GroupGenesis& g) { g.set_ratchet_tree("\x01"); });
  EXPECT_EQ(error_of(r), v1::INVALID_ARGUMENT) << (r && r->has_error() ? r->error().message() : "");
  EXPECT_EQ(relay_epoch_as(alice_), 0u);
  // The true start is accepted; a later commit cannot state one again.
  r = first_commit({&bob_, &carol_}, [](v1::GroupGenesis&) {});
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  alice_state_ = std::move(first_->pending);
  ASSERT_NO_FATAL_FAILURE(join(bob_, conv_, str(*first_->welcome)));
  ASSERT_NO_FATAL_FAILURE(join(carol_, conv_, str(*first_->welcome)));
  auto c = carol_.mls->commit(conv_, {});
  auto frame = commit_frame(conv_, 1, c.message, {}, {}, {});
  frame.mutable_commit()->mutable_genesis()->set_group_context("x");
  r = carol_.ws->call(frame);
  EXPECT_EQ(error_of(r), v1::INVALID_ARGUMENT) << (r && r->has_error() ? r->error().message() : "");
  carol_.mls->discard(conv_);
  ASSERT_NO_FATAL_FAILURE(group_goes_on(1));
}

// A group's first commit must state the group's start: without it the relay could not check the
// signature of any later handshake message. The refusal changes nothing: the same commit with its
// genesis then starts the group, whose later commits are signature-checked.
TEST_F(RelaySignatureTest, AFirstCommitWithoutTheGroupsStartIsRefused) {
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(create_group(alice_, &conv));
  BuiltCommit first;
  ASSERT_NO_FATAL_FAILURE(build_commit(alice_, conv, 0, {&bob_, &carol_}, {}, &first));
  ASSERT_TRUE(first.frame.commit().has_genesis());
  v1::ClientFrame without = first.frame;
  without.mutable_commit()->clear_genesis();
  auto r = alice_.ws->call(without);
  ASSERT_TRUE(r && r->has_error()) << (r ? "accepted" : "timeout");
  EXPECT_EQ(r->error().code(), v1::INVALID_ARGUMENT);
  EXPECT_EQ(r->error().message(), "a group's first commit must state the group's start (genesis)");
  conv_ = conv;
  EXPECT_EQ(relay_epoch_as(alice_), 0u);
  r = alice_.ws->call(first.frame);
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  EXPECT_EQ(r->commit().epoch(), 1u);
  accepted(alice_, conv, first);
  for (TestDevice* d : {&bob_, &carol_}) {
    auto w = d->ws->next_delivery();
    ASSERT_TRUE(w && w->kind() == v1::WELCOME) << d->handle << " got no Welcome";
    ASSERT_NO_FATAL_FAILURE(join(*d, conv, w->payload()));
  }
  // The relay follows this group: a commit its sender did not sign is refused.
  expect_refused(tampered(bob_commit(1), [](mls::PublicMessage& pm) { pm.auth.signature[0] ^= 1; }),
                 1, v1::FORBIDDEN);
  uint64_t seq = 0;
  ASSERT_NO_FATAL_FAILURE(send_ok(bob_, conv, 1, bob_.mls->encrypt(conv, "bonjour"), &seq));
  auto d = carol_.ws->next_delivery();
  ASSERT_TRUE(d && d->seq() == seq) << "Bob's message never reached Carol";
  EXPECT_EQ(carol_.mls->decrypt(conv, d->payload()), "bonjour");
}

// The creator's epoch-0 leaf is checked like every leaf a member puts in the tree: a first commit
// without an UpdatePath (a direct conversation's Add) keeps it, so it must name the creator.
TEST_F(RelaySignatureTest, TheCreatorsFirstLeafMustBeItsOwn) {
  ASSERT_NO_FATAL_FAILURE(create_conversation(/*direct=*/true, /*name=*/bob_.handle));
  auto r = first_commit(
      {&bob_}, [](v1::GroupGenesis&) {}, /*direct=*/true);
  EXPECT_EQ(error_of(r), v1::FORBIDDEN) << (r && r->has_error() ? r->error().message() : "");
  EXPECT_EQ(relay_epoch_as(alice_), 0u);
  ASSERT_NO_FATAL_FAILURE(create_conversation(/*direct=*/true));
  r = first_commit(
      {&bob_}, [](v1::GroupGenesis&) {}, /*direct=*/true);
  EXPECT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
}

// A creator that misstates the group's start breaks only its own group: the relay then refuses
// the group's honest commits (their signatures cover a context the relay does not have).
TEST_F(RelaySignatureTest, AFalseGenesisBreaksOnlyTheLiarsGroup) {
  ASSERT_NO_FATAL_FAILURE(make_verified_group(/*false_transcript=*/true));
  auto c = carol_.mls->commit(conv_, {});
  auto r = carol_.ws->call(commit_frame(conv_, 1, c.message, {}, {}, {}));
  EXPECT_EQ(error_of(r), v1::FORBIDDEN) << (r && r->has_error() ? r->error().message() : "");
  EXPECT_EQ(relay_epoch(), 1u);
}

}  // namespace
}  // namespace cercle::testing
