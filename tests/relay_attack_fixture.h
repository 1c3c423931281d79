// RelayAttackTest: the fixture of the malicious-member tests against the real relay
// (relay_attack_test.cpp: proposal types and handshake paths; relay_leaf_attack_test.cpp: the
// fields of Update and UpdatePath leaves). A group of alice (facilitator), bob and carol, built
// with the project's own MLS library (testing/mls_member.h); helpers send what a test forged and
// check afterwards that the relay's group did not move and goes on. One thread, like the tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <utility>

#include "cercle/mls/codec.h"
#include "cercle/mls/crypto.h"
#include "cercle/mls/inspect.h"
#include "cercle/mls/key_package.h"
#include "cercle/policy/extensions.h"
#include "testing/relay_fixture.h"

namespace cercle::testing {

using Edit = std::function<void(mls::LeafNode&)>;

inline mls::Bytes bytes(std::string_view s) { return mls::Bytes(s.begin(), s.end()); }

inline mls::Extension account_type(uint8_t type) {
  return mls::Extension{policy::kAccountTypeExtensionType, mls::Bytes{type}};
}

// Capabilities that let a leaf carry the account-type extension.
inline void declare_account_type(mls::LeafNode& l) {
  l.capabilities.extensions.push_back(mls::Uint16{policy::kAccountTypeExtensionType});
}

inline std::string ref_of(const std::string& proposal) {
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
        mls::Extension{policy::kRolesExtensionType, bytes(*alice_.mls->policy(conv_))}};
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

inline const mls::Proposal kPsk{mls::PskProposal{
    mls::PreSharedKeyId{mls::kPskExternal, bytes("psk"), 0, {}, 0, mls::Bytes(32, 7)}}};
inline const mls::Proposal kReInit{mls::ReInitProposal{bytes("another group"), 1, 3, {}}};
inline const mls::Proposal kExternalInit{mls::ExternalInitProposal{mls::Bytes(32, 1)}};

}  // namespace cercle::testing
