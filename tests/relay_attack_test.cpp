// A malicious member against the real relay, playing with the project's own MLS library
// (testing/mls_member.h): every proposal type alone, by value and by reference, from a plain
// member and from a facilitator; every field of an Update or UpdatePath leaf; every handshake kind
// through every path. Each refusal is asserted by its exact code; afterwards the relay's group is
// as it was (epoch, members) and goes on: an honest commit reaches every member as the next thing
// they get (so nothing refused was delivered) and a message makes a round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <utility>

#include "cercle/mls/codec.h"
#include "cercle/mls/crypto.h"
#include "cercle/mls/inspect.h"
#include "cercle/mls/key_package.h"
#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

using Edit = std::function<void(mls::LeafNode&)>;

mls::Bytes bytes(std::string_view s) { return mls::Bytes(s.begin(), s.end()); }

mls::Extension account_type(uint8_t type) {
  return mls::Extension{mls::kAccountTypeExtensionType, mls::Bytes{type}};
}

// Capabilities that let a leaf carry the account-type extension.
void declare_account_type(mls::LeafNode& l) {
  l.capabilities.extensions.push_back(mls::Uint16{mls::kAccountTypeExtensionType});
}

std::string ref_of(const std::string& proposal) {
  const mls::Bytes ref = mls::inspect::proposal_summary(bytes(proposal))->proposal_ref;
  return std::string(ref.begin(), ref.end());
}

class RelayAttackTest : public RelayFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(
        start_server({"--sync", "false", "--config",
                      write_config("[rate_limits]\nmessages_per_account_per_second = 1000\n"
                                   "messages_per_account_per_second_burst = 1000\n")}));
    ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice_));
    ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob_));
    ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol_));
    ASSERT_NO_FATAL_FAILURE(register_device("dave", &dave_));
    ASSERT_NO_FATAL_FAILURE(upload_key_packages(dave_, 4));
    ASSERT_NO_FATAL_FAILURE(create_group(alice_, &conv_));
    // Real roles: alice alone facilitates; bob is a plain member, and the attacker.
    ASSERT_NO_FATAL_FAILURE(upload_key_packages(bob_));
    ASSERT_NO_FATAL_FAILURE(upload_key_packages(carol_));
    BuiltCommit first;
    first.mls = alice_.mls->commit(
        conv_, {bob_.spare_key_packages.front(), carol_.spare_key_packages.front()}, {},
        facilitating_policy(std::nullopt, alice_.handle, {}));
    first.frame = commit_frame(conv_, 0, first.mls, {bob_.device_id, carol_.device_id});
    bob_.spare_key_packages.clear();
    carol_.spare_key_packages.clear();
    auto r = alice_.ws->call(first.frame);
    ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
    accepted(alice_, conv_, first);
    for (TestDevice* d : {&bob_, &carol_}) {
      auto w = d->ws->next_delivery();
      ASSERT_TRUE(w && w->kind() == v1::WELCOME);
      ASSERT_NO_FATAL_FAILURE(join(*d, conv_, w->payload()));
    }
    epoch_ = 1;
  }

  // `by` sends `message` as a PROPOSAL (or `kind`): its refusal, or ERROR_CODE_UNSPECIFIED if
  // the relay took it (its sequence number is then expected among the members' deliveries).
  v1::ErrorCode send(TestDevice& by, const std::string& message,
                     v1::DeliveryKind kind = v1::PROPOSAL) {
    v1::ClientFrame f = send_frame(conv_, epoch_, message);
    f.mutable_send()->set_kind(kind);
    auto r = by.ws->call(f);
    by.mls->discard(conv_);
    if (r && r->has_send()) expected_.push_back({&by, r->send().seq()});
    return error_of(r);
  }
  v1::ErrorCode commit(TestDevice& by, const std::string& message, std::vector<uint64_t> add = {},
                       std::vector<uint64_t> remove = {}, std::string welcome = {}) {
    auto r = by.ws->call(commit_frame(conv_, epoch_, message, std::move(add), std::move(remove),
                                      std::move(welcome)));
    by.mls->discard(conv_);
    EXPECT_FALSE(r && r->has_commit()) << "the relay took an attack commit";
    return error_of(r);
  }
  v1::ErrorCode commit_with(TestDevice& by, const mls::CommitOptions& o) {
    return commit(by, by.mls->commit_with(conv_, o).message);
  }
  // `by`'s honest empty commit with `edit` applied to it (then signed again by `by`).
  std::string edited_commit(TestDevice& by, const std::function<void(mls::Commit&)>& edit) {
    mls::CommitOptions o;
    o.include_pending_proposals = false;
    const std::string honest = by.mls->commit_with(conv_, o).message;
    by.mls->discard(conv_);
    return by.mls->resign(conv_, honest,
                          [&](mls::FramedContent& c) { edit(std::get<mls::Commit>(c.content)); });
  }
  // Bob's Update whose leaf `edit` changed, then signed by `key` (else bob's).
  std::string update(const Edit& edit, const mls::SignaturePrivateKey* key = nullptr) {
    mls::LeafNode leaf = bob_.mls->update_leaf(conv_);
    edit(leaf);
    bob_.mls->sign_leaf(conv_, leaf, key);
    return bob_.mls->propose(conv_, mls::Proposal{mls::UpdateProposal{leaf}});
  }
  mls::Proposal add_dave() {
    const std::string kp = dave_.spare_key_packages.front();
    dave_.spare_key_packages.pop_front();
    return mls::Proposal{mls::AddProposal{*mls::parse_key_package(bytes(kp))}};
  }
  mls::Proposal rules(bool foreign_extension = false) {
    std::vector<mls::Extension> exts{
        mls::Extension{mls::kRolesExtensionType, bytes(*alice_.mls->policy(conv_))}};
    if (foreign_extension) exts.push_back(mls::Extension{mls::kExtExternalSenders, {0}});
    return mls::Proposal{mls::GroupContextExtensionsProposal{exts}};
  }

  // The relay's group did not move, and goes on: alice's honest commit is the next thing bob and
  // carol get (after what the relay took, `expected_`), every member follows it, and a message
  // goes round.
  void expect_goes_on() {
    v1::ClientFrame get;
    get.mutable_get_conversation()->set_conversation_id(conv_);
    auto info = carol_.ws->call(get);
    ASSERT_TRUE(info && info->has_conversation());
    EXPECT_EQ(info->conversation().epoch(), epoch_);
    std::vector<uint64_t> members;
    for (const auto& m : info->conversation().members()) members.push_back(m.device_id());
    std::sort(members.begin(), members.end());
    std::vector<uint64_t> want{alice_.device_id, bob_.device_id, carol_.device_id};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(members, want);

    BuiltCommit c;
    c.mls = alice_.mls->commit_with(conv_, [] {
      mls::CommitOptions o;
      o.include_pending_proposals = false;
      return o;
    }());
    c.frame = commit_frame(conv_, epoch_, c.mls.message);
    auto r = alice_.ws->call(c.frame);
    ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
    for (TestDevice* d : {&alice_, &bob_, &carol_}) {
      for (const auto& [sender, seq] : expected_) {
        if (sender == d) continue;
        auto got = d->ws->next_delivery();
        ASSERT_TRUE(got) << d->handle;
        EXPECT_EQ(got->seq(), seq) << d->handle;
      }
      if (d == &alice_) continue;
      auto got = d->ws->next_delivery();
      ASSERT_TRUE(got) << d->handle << " never got the honest commit";
      EXPECT_EQ(got->kind(), v1::COMMIT) << d->handle << " got something the relay refused";
      EXPECT_EQ(got->seq(), r->commit().seq());
    }
    expected_.clear();
    accepted(alice_, conv_, c);
    epoch_ += 1;
    ASSERT_NO_FATAL_FAILURE(
        send_ok(carol_, conv_, epoch_, carol_.mls->encrypt(conv_, "toujours là")));
    for (TestDevice* d : {&alice_, &bob_}) {
      auto got = d->ws->next_delivery();
      ASSERT_TRUE(got);
      EXPECT_EQ(d->mls->decrypt(conv_, got->payload()), "toujours là") << d->handle;
    }
  }

  TestDevice alice_, bob_, carol_, dave_;
  std::string conv_;
  uint64_t epoch_ = 0;
  std::vector<std::pair<TestDevice*, uint64_t>> expected_;  // Taken by the relay: (sender, seq).
};

const mls::Proposal kPsk{mls::PskProposal{
    mls::PreSharedKeyId{mls::kPskExternal, bytes("psk"), 0, {}, 0, mls::Bytes(32, 7)}}};
const mls::Proposal kReInit{mls::ReInitProposal{bytes("another group"), 1, 3, {}}};
const mls::Proposal kExternalInit{mls::ExternalInitProposal{mls::Bytes(32, 1)}};

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

TEST_F(RelayAttackTest, EveryFieldOfAnUpdateLeaf) {
  const auto other_key = mls::SignaturePrivateKey::generate();
  const mls::Bytes alice_key =
      alice_.mls->state(conv_).tree().leaf(alice_.mls->leaf(conv_))->signature_key;
  struct Case {
    const char* what;
    Edit edit;
    v1::ErrorCode code;
  };
  const std::vector<Case> cases = {
      {"another member's name", [](auto& l) { l.credential = mls::Credential(bytes("alice")); },
       v1::FORBIDDEN},
      {"an X.509 credential",
       [](auto& l) {
         l.credential.credential_type = mls::kCredentialX509;
         l.credential.certificates = {mls::Opaque{bytes("certificate")}};
         l.capabilities.credentials.push_back(mls::Uint16{mls::kCredentialX509});
       },
       v1::FORBIDDEN},
      {"the professional mark",
       [](auto& l) {
         declare_account_type(l);
         l.extensions = {account_type(2)};
       },
       v1::FORBIDDEN},
      {"a made-up account type",
       [](auto& l) {
         declare_account_type(l);
         l.extensions = {account_type(9)};
       },
       v1::FORBIDDEN},
      {"another member's signature key", [&](auto& l) { l.signature_key = alice_key; },
       v1::INVALID_ARGUMENT},  // Bob cannot sign for it.
      {"an encryption key of the wrong size", [](auto& l) { l.encryption_key.resize(16); },
       v1::INVALID_ARGUMENT},
      {"the key_package source, with a lifetime",
       [](auto& l) {
         l.source = mls::LeafNodeSource::kKeyPackage;
         l.lifetime = {0, ~uint64_t{0}};
       },
       v1::INVALID_ARGUMENT},
      {"the commit source", [](auto& l) { l.source = mls::LeafNodeSource::kCommit; },
       v1::INVALID_ARGUMENT},
      {"capabilities without the rules extension",
       [](auto& l) { l.capabilities.extensions.clear(); }, v1::INVALID_ARGUMENT},
      {"an extension twice",
       [](auto& l) {
         declare_account_type(l);
         l.extensions = {account_type(1), account_type(1)};
       },
       v1::INVALID_ARGUMENT},
      {"an extension not in its capabilities", [](auto& l) { l.extensions = {account_type(1)}; },
       v1::INVALID_ARGUMENT},
  };
  for (const auto& c : cases) EXPECT_EQ(send(bob_, update(c.edit)), c.code) << c.what;
  EXPECT_EQ(
      send(bob_, update([&](auto& l) { l.signature_key = other_key.public_key; }, &other_key)),
      v1::FORBIDDEN)
      << "a key the device never bound";
  mls::LeafNode misplaced = bob_.mls->update_leaf(conv_);
  misplaced.signature = mls::sign_with_label(bob_.mls->signer(), "LeafNodeTBS",
                                             misplaced.to_be_signed(bytes(conv_), 0));
  EXPECT_EQ(send(bob_, bob_.mls->propose(conv_, mls::Proposal{mls::UpdateProposal{misplaced}})),
            v1::INVALID_ARGUMENT)
      << "a signature for another leaf";
  // Bob's own leaf, marked as a peer or not (both read as a peer), is taken.
  const std::string own = bob_.mls->propose_update(conv_);
  ASSERT_EQ(send(bob_, own), v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(send(bob_, update([](auto& l) {
                   declare_account_type(l);
                   l.extensions = {account_type(1)};
                 })),
            v1::ERROR_CODE_UNSPECIFIED);
  ASSERT_NO_FATAL_FAILURE(expect_goes_on());
}

TEST_F(RelayAttackTest, EveryFieldOfAnUpdatePathLeaf) {
  const auto other_key = mls::SignaturePrivateKey::generate();
  auto path = [&](mls::LeafChange change) {
    mls::CommitOptions o;
    o.path_leaf = std::move(change);
    return commit_with(bob_, o);
  };
  mls::Capabilities marked = mls::default_capabilities({mls::kAccountTypeExtensionType});
  mls::Capabilities x509 = mls::default_capabilities();
  x509.credentials.push_back(mls::Uint16{mls::kCredentialX509});
  mls::Credential certificate;
  certificate.credential_type = mls::kCredentialX509;
  certificate.certificates = {mls::Opaque{bytes("certificate")}};
  mls::Capabilities no_rules = mls::default_capabilities();
  no_rules.extensions.clear();
  EXPECT_EQ(path({.credential = mls::Credential(bytes("alice"))}), v1::FORBIDDEN);
  EXPECT_EQ(path({.credential = certificate, .capabilities = x509}), v1::FORBIDDEN);
  EXPECT_EQ(path({.extensions = std::vector{account_type(2)}, .capabilities = marked}),
            v1::FORBIDDEN);
  EXPECT_EQ(path({.signer = other_key}), v1::FORBIDDEN);
  EXPECT_EQ(path({.capabilities = no_rules}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(
      path({.extensions = std::vector{account_type(1), account_type(1)}, .capabilities = marked}),
      v1::INVALID_ARGUMENT);
  // Fields the library never changes: edited, the leaf and the message signed again.
  auto edited = [&](const Edit& edit, bool sign = true) {
    return commit(bob_, edited_commit(bob_, [&](mls::Commit& c) {
                    edit(c.path->leaf_node);
                    if (sign) bob_.mls->sign_leaf(conv_, c.path->leaf_node);
                  }));
  };
  EXPECT_EQ(edited([](auto& l) {
              l.source = mls::LeafNodeSource::kKeyPackage;
              l.lifetime = {0, ~uint64_t{0}};
            }),
            v1::INVALID_ARGUMENT);
  EXPECT_EQ(edited([](auto& l) { l.source = mls::LeafNodeSource::kUpdate; }), v1::INVALID_ARGUMENT);
  EXPECT_EQ(edited([](auto& l) { l.encryption_key.resize(16); }), v1::INVALID_ARGUMENT);
  EXPECT_EQ(edited([](auto& l) { l.signature[0] ^= 1; }, false), v1::INVALID_ARGUMENT);
  EXPECT_EQ(commit(bob_, edited_commit(bob_,
                                       [](mls::Commit& c) {
                                         c.path->nodes.front().encryption_key =
                                             c.path->leaf_node.encryption_key;
                                       })),
            v1::INVALID_ARGUMENT)
      << "a path key used twice";
  EXPECT_EQ(commit(bob_, edited_commit(bob_, [](mls::Commit& c) { c.path.reset(); })),
            v1::INVALID_ARGUMENT)
      << "an empty commit needs a path";
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
TEST_F(RelayAttackTest, AProfessionalsLeafKeepsItsMarkAndADirectConversationGetsNoRules) {
  TestDevice pro;
  ASSERT_NO_FATAL_FAILURE(register_device("dr_martin", &pro));
  int status = -1;
  run_admin(data_dir(), {"account", "set-type", "dr_martin", "professional"}, &status);
  ASSERT_EQ(status, 0);
  ASSERT_NO_FATAL_FAILURE(reconnect(&pro));
  const std::string kp = pro.mls->key_package(/*professional=*/true);
  v1::ClientFrame upload;
  upload.mutable_upload_key_packages()->add_key_packages()->set_data(kp);
  ASSERT_TRUE(pro.ws->call(upload)->has_upload_key_packages());
  v1::ClientFrame direct;
  direct.mutable_create_conversation()->set_kind(v1::DIRECT);
  direct.mutable_create_conversation()->set_peer_handle("dr_martin");
  auto created = alice_.ws->call(direct);
  ASSERT_TRUE(created && created->has_conversation());
  const std::string d = created->conversation().conversation_id();
  alice_.mls->create(d);
  const auto first = alice_.mls->commit(d, {kp});
  auto r = alice_.ws->call(commit_frame(d, 0, first, {pro.device_id}));
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  alice_.mls->adopt(d);
  ASSERT_TRUE(pro.mls->join(d, first.welcome));
  auto call = [&](TestDevice& by, v1::ClientFrame f) {
    auto answer = by.ws->call(std::move(f));
    by.mls->discard(d);
    return error_of(answer);
  };
  auto proposal = [&](const std::string& message) {
    v1::ClientFrame f = send_frame(d, 1, message);
    f.mutable_send()->set_kind(v1::PROPOSAL);
    return call(pro, f);
  };
  mls::Capabilities marked = mls::default_capabilities({mls::kAccountTypeExtensionType});
  for (const auto& extensions : {std::vector<mls::Extension>{}, std::vector{account_type(1)}}) {
    EXPECT_EQ(proposal(pro.mls->propose_update(d, {.extensions = extensions})), v1::FORBIDDEN);
    mls::CommitOptions o;
    o.path_leaf = mls::LeafChange{.extensions = extensions, .capabilities = marked};
    EXPECT_EQ(call(pro, commit_frame(d, 1, pro.mls->commit_with(d, o).message)), v1::FORBIDDEN);
  }
  // Rules, alone or in a commit, from either side.
  const std::string rules_bytes = *facilitating_policy(std::nullopt, pro.handle, {});
  const mls::Proposal rules{mls::GroupContextExtensionsProposal{
      {mls::Extension{mls::kRolesExtensionType, bytes(rules_bytes)}}}};
  EXPECT_EQ(proposal(pro.mls->propose(d, rules)), v1::FORBIDDEN);
  EXPECT_EQ(call(alice_, commit_frame(d, 1, alice_.mls->commit(d, {}, {}, rules_bytes).message)),
            v1::FORBIDDEN);
  // The professional's own leaf, mark kept, goes through; alice follows the commit.
  BuiltCommit honest;
  honest.mls = pro.mls->commit(d, {});
  r = pro.ws->call(commit_frame(d, 1, honest.mls.message));
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  pro.mls->adopt(d);
  auto got = alice_.ws->next_delivery();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind(), v1::COMMIT) << "alice got something the relay refused";
  ASSERT_TRUE(alice_.mls->process(d, got->payload()));
  EXPECT_EQ(alice_.mls->epoch_authenticator(d), pro.mls->epoch_authenticator(d));
}

}  // namespace
}  // namespace cercle::testing
