// Rate limits against the real server: registrations and authentication attempts per address,
// messages, key-package fetches, new conversations and contact-link changes per account; each
// answers RATE_LIMITED with the time to wait, and recovers after it. Ended contact links are
// forgotten past the newest few of each account. The open groups and invitations a client lists
// come from indexes that follow every change.
#include <gtest/gtest.h>

#include <sodium.h>

#include <chrono>
#include <set>
#include <thread>

#include "proto/policy.pb.h"
#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

class RelayRateLimitsTest : public RelayFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_server(
        {"--config",
         write_config(
             "[rate_limits]\n"
             "registrations_per_ip_per_hour = 3600\nregistrations_per_ip_per_hour_burst = 2\n"
             "auth_attempts_per_ip_per_minute = 60\nauth_attempts_per_ip_per_minute_burst = 3\n"
             "messages_per_account_per_second = 2\nmessages_per_account_per_second_burst = 2\n"
             "key_package_fetches_per_account_per_minute = 60\n"
             "key_package_fetches_per_account_per_minute_burst = 2\n"
             "conversations_per_account_per_hour = 3600\n"
             "conversations_per_account_per_hour_burst = 2\n"
             "contact_link_changes_per_account_per_hour = 3600\n"
             "contact_link_changes_per_account_per_hour_burst = 3\n")}));
  }
};

TEST_F(RelayRateLimitsTest, RegistrationsPerAddressAreLimitedAndRecover) {
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  auto c = connect();
  ASSERT_TRUE(c->hello());
  DeviceKey key;
  auto limited = c->register_device(key, "carol");
  ASSERT_EQ(error_of(limited), v1::RATE_LIMITED);
  const uint64_t wait = limited->error().retry_after_ms();
  EXPECT_GT(wait, 0u);
  EXPECT_LE(wait, 1000u);  // One registration a second here.
  std::this_thread::sleep_for(std::chrono::milliseconds(wait + 50));
  auto ok = c->register_device(key, "carol");  // The challenge was not used by the refusal.
  ASSERT_TRUE(ok && ok->has_auth()) << (ok ? ok->error().message() : "timeout");
}

TEST_F(RelayRateLimitsTest, AuthenticationAttemptsPerAddressAreLimitedAndRecover) {
  TestDevice a;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  DeviceKey stranger;
  int limited_at = -1;
  uint64_t wait = 0;
  for (int i = 0; i < 5 && limited_at < 0; ++i) {
    auto c = connect();
    ASSERT_TRUE(c->hello());
    auto r = c->authenticate(stranger);
    if (error_of(r) == v1::RATE_LIMITED) {
      limited_at = i;
      wait = r->error().retry_after_ms();
    } else {
      EXPECT_EQ(error_of(r), v1::AUTH_FAILED);
    }
  }
  EXPECT_EQ(limited_at, 3);  // The burst of 3 attempts, then the limit.
  EXPECT_GT(wait, 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(wait + 50));
  auto c = connect();
  ASSERT_TRUE(c->hello_and_authenticate(a.key)) << c->last_error();
}

TEST_F(RelayRateLimitsTest, MessagesPerAccountAreLimitedAndRecover) {
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));  // One commit: one message.
  ASSERT_TRUE(a.ws->call(send_frame(conv, 1, message(a, conv, "one")))->has_send());
  auto limited = a.ws->call(send_frame(conv, 1, message(a, conv, "two")));
  ASSERT_EQ(error_of(limited), v1::RATE_LIMITED);
  const uint64_t wait = limited->error().retry_after_ms();
  EXPECT_GT(wait, 0u);
  EXPECT_LE(wait, 500u);
  // Another account is not slowed down by alice.
  ASSERT_TRUE(b.ws->call(send_frame(conv, 1, message(b, conv, "from bob")))->has_send());
  std::this_thread::sleep_for(std::chrono::milliseconds(wait + 50));
  ASSERT_TRUE(a.ws->call(send_frame(conv, 1, message(a, conv, "two again")))->has_send());
}

// Checks a refusal: RATE_LIMITED, with a wait of at most `max_ms`; returns the wait.
uint64_t expect_limited(const std::optional<v1::Response>& r, uint64_t max_ms) {
  EXPECT_EQ(error_of(r), v1::RATE_LIMITED);
  if (error_of(r) != v1::RATE_LIMITED) return 0;
  const uint64_t wait = r->error().retry_after_ms();
  EXPECT_GT(wait, 0u);
  EXPECT_LE(wait, max_ms);
  return wait;
}

v1::ClientFrame fetch_frame(const std::string& handle) {
  v1::ClientFrame f;
  f.mutable_fetch_key_packages()->set_handle(handle);
  return f;
}

TEST_F(RelayRateLimitsTest, KeyPackageFetchesPerAccountAreLimitedAndRecover) {
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(a, 1));
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(b, 5));
  v1::ClientFrame count;
  count.mutable_count_key_packages();
  const uint32_t stock = b.ws->call(count)->count_key_packages().stored();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(a.ws->call(fetch_frame("bob"))->has_fetch_key_packages());
  const uint64_t wait = expect_limited(a.ws->call(fetch_frame("bob")), 1000);
  // The refused fetch took nothing from bob, and bob is not slowed down by alice.
  EXPECT_EQ(b.ws->call(count)->count_key_packages().stored(), stock - 2);
  ASSERT_TRUE(b.ws->call(fetch_frame("alice"))->has_fetch_key_packages());
  std::this_thread::sleep_for(std::chrono::milliseconds(wait + 50));
  ASSERT_TRUE(a.ws->call(fetch_frame("bob"))->has_fetch_key_packages());
  EXPECT_EQ(b.ws->call(count)->count_key_packages().stored(), stock - 3);
}

TEST_F(RelayRateLimitsTest, NewConversationsPerAccountAreLimitedAndRecover) {
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(a.ws->call(create_group_frame())->has_conversation());
  const uint64_t wait = expect_limited(a.ws->call(create_group_frame()), 1000);
  ASSERT_TRUE(b.ws->call(create_group_frame())->has_conversation());
  v1::ClientFrame list;
  list.mutable_list_conversations();
  EXPECT_EQ(a.ws->call(list)->conversations().conversations_size(), 2);  // None made when refused.
  std::this_thread::sleep_for(std::chrono::milliseconds(wait + 50));
  ASSERT_TRUE(a.ws->call(create_group_frame())->has_conversation());
}

v1::ClientFrame create_link_frame(uint32_t hours = 0) {
  v1::ClientFrame f;
  f.mutable_create_contact_link()->set_label("site");
  f.mutable_create_contact_link()->set_expires_in_hours(hours);
  return f;
}

v1::ClientFrame revoke_link_frame(const std::string& token) {
  v1::ClientFrame f;
  f.mutable_revoke_contact_link()->set_token(token);
  return f;
}

TEST_F(RelayRateLimitsTest, ContactLinkChangesPerAccountAreLimitedAndRecover) {
  TestDevice a;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  auto first = a.ws->call(create_link_frame());
  ASSERT_TRUE(first && first->has_contact_link());
  ASSERT_TRUE(a.ws->call(revoke_link_frame(first->contact_link().token()))->has_done());
  auto second = a.ws->call(create_link_frame());
  ASSERT_TRUE(second && second->has_contact_link());
  // Revoking counts as a change too.
  const uint64_t wait =
      expect_limited(a.ws->call(revoke_link_frame(second->contact_link().token())), 1000);
  v1::ClientFrame resolve;
  resolve.mutable_resolve_contact_link()->set_token(second->contact_link().token());
  EXPECT_TRUE(a.ws->call(resolve)->has_contact_link());  // Still works: the refusal did nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(wait + 50));
  ASSERT_TRUE(a.ws->call(revoke_link_frame(second->contact_link().token()))->has_done());
}

// Ended contact links (revoked or expired) are forgotten beyond the newest five of each account,
// at once for revocations, when the clock passes an expiry (retention run), and on restart; their
// records leave the data folder too.
class EndedContactLinksTest : public RelayFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_server({"--test-clock", "true"})); }

  std::string stats() { return run_admin(data_dir(), {"--json", "stats"}); }

  // The data folder holds `n` contact-link records (cercle-admin's count).
  void expect_records(int n) {
    const std::string counts = stats();
    EXPECT_NE(counts.find("\"contact_links\":" + std::to_string(n)), std::string::npos) << counts;
  }

  // `d` creates a link (expiring in `hours`, 0 for never), and revokes it when `revoke`; its
  // token is appended to `tokens`.
  static void new_link(TestDevice& d, uint32_t hours, bool revoke,
                       std::vector<std::string>* tokens) {
    auto link = d.ws->call(create_link_frame(hours));
    ASSERT_TRUE(link && link->has_contact_link());
    tokens->push_back(link->contact_link().token());
    if (revoke) ASSERT_TRUE(d.ws->call(revoke_link_frame(tokens->back()))->has_done());
  }

  int listed(TestDevice& d, int* revoked, std::set<std::string>* tokens = nullptr) {
    v1::ClientFrame f;
    f.mutable_list_contact_links();
    auto r = d.ws->call(f);
    EXPECT_TRUE(r && r->has_contact_links());
    *revoked = 0;
    for (const auto& l : r->contact_links().links()) {
      *revoked += l.revoked();
      if (tokens) tokens->insert(l.token());
    }
    return r->contact_links().links_size();
  }
};

TEST_F(EndedContactLinksTest, OnlyTheNewestEndedLinksOfAnAccountAreKept) {
  TestDevice helper, other;
  ASSERT_NO_FATAL_FAILURE(register_device("helper", &helper));
  ASSERT_NO_FATAL_FAILURE(register_device("other", &other));
  std::vector<std::string> others, tokens;
  ASSERT_NO_FATAL_FAILURE(new_link(other, 0, true, &others));
  for (int i = 0; i < 8; ++i) ASSERT_NO_FATAL_FAILURE(new_link(helper, 0, true, &tokens)) << i;
  int revoked = 0;
  EXPECT_EQ(listed(helper, &revoked), 5);
  EXPECT_EQ(revoked, 5);
  // The oldest revoked ones are gone, even for their owner.
  EXPECT_EQ(error_of(helper.ws->call(revoke_link_frame(tokens.front()))), v1::NOT_FOUND);
  EXPECT_TRUE(helper.ws->call(revoke_link_frame(tokens.back()))->has_done());
  // Another account's ended link is its own business.
  EXPECT_EQ(listed(other, &revoked), 1);
  expect_records(6);

  // Two links that expire in an hour: once past it, they are ended too.
  for (int i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(new_link(helper, 1, false, &tokens));
  expect_records(8);
  int status = -1;
  run_admin(data_dir(), {"clock", "advance", "2"}, &status);
  ASSERT_EQ(status, 0);
  expect_records(6);
  std::set<std::string> kept;
  EXPECT_EQ(listed(helper, &revoked, &kept), 5);
  EXPECT_EQ(revoked, 3);  // The two expired ones are among the newest.
  EXPECT_EQ(kept, std::set<std::string>(tokens.begin() + 5, tokens.end()));

  // A change acknowledged after the sweep's deletions is on disk after them (batches are written
  // in order): other revokes its link again. Then the server is killed, and cercle-admin counts
  // the records of its data folder (opening it offline forgets nothing): the 5 forgotten links of
  // the helper left the disk.
  ASSERT_TRUE(other.ws->call(revoke_link_frame(others.front()))->has_done());
  helper.ws.reset();
  other.ws.reset();
  server_->kill9();
  expect_records(6);

  // Restarted (the test clock back to now: the two expiring links work again), the helper lists
  // what was kept, and the forgotten links are unknown.
  ASSERT_NO_FATAL_FAILURE(restart_server());
  helper.ws = connect();
  ASSERT_TRUE(helper.ws->hello_and_authenticate(helper.key)) << helper.ws->last_error();
  std::set<std::string> after;
  EXPECT_EQ(listed(helper, &revoked, &after), 5);
  EXPECT_EQ(revoked, 3);
  EXPECT_EQ(after, kept);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(error_of(helper.ws->call(revoke_link_frame(tokens[i]))), v1::NOT_FOUND) << i;
  }
}

// ListOpenGroups and ListInvitations read indexes (not every conversation): the groups open to
// peers, kept up to date by the commits that open and close them, and the invitations by invitee;
// both rebuilt after a restart.
class ListingIndexesTest : public RelayFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_server()); }

  // `d` (a facilitator) commits the group's rules with `rule` and `charter`.
  static void commit_rules(TestDevice& d, const std::string& conv, uint64_t epoch,
                           v1::JoinRule rule, const std::string& charter) {
    const auto current = d.mls->policy(conv);
    ASSERT_TRUE(current);
    v1::GroupPolicy policy;
    ASSERT_TRUE(policy.ParseFromString(*current));
    policy.set_join_rule(rule);
    policy.set_charter(charter);
    auto c = d.mls->commit(conv, {}, {}, policy.SerializeAsString());
    auto r = d.ws->call(commit_frame(conv, epoch, c.message));
    ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
    d.mls->adopt(conv);
  }

  // `by` (a facilitator of `conv`) invites `invitee` (a peer); returns the nonce.
  static std::string invite(TestDevice& by, const std::string& conv, const std::string& invitee) {
    v1::GroupPolicy policy;
    EXPECT_TRUE(policy.ParseFromString(by.mls->policy(conv).value_or("")));
    v1::Invitation i;
    i.set_conversation_id(conv);
    i.set_inviter(by.handle);
    i.set_invitee(invitee);
    i.set_invitee_type(v1::INVITEE_PEER);
    i.set_charter(policy.charter());
    i.set_expires_at_ms(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(1))
            .count());
    std::string nonce(16, '\0');
    randombytes_buf(nonce.data(), nonce.size());
    i.set_nonce(nonce);
    v1::SignedInvitation s;
    s.set_invitation(i.SerializeAsString());
    const std::string transcript = std::string("cercle-invitation-v1", 20) + '\0' + s.invitation();
    std::string signature(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(transcript.data()),
                         transcript.size(), by.key.sk);
    s.set_signature(signature);
    v1::ClientFrame f;
    f.mutable_create_invitation()->set_signed_invitation(s.SerializeAsString());
    auto r = by.ws->call(f);
    EXPECT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
    return nonce;
  }

  // The nonces of the invitations listed for `d`.
  static std::set<std::string> invitations(TestDevice& d) {
    v1::ClientFrame f;
    f.mutable_list_invitations();
    auto r = d.ws->call(f);
    EXPECT_TRUE(r && r->has_invitations());
    std::set<std::string> out;
    if (!r) return out;
    for (const auto& bytes : r->invitations().signed_invitations()) {
      v1::SignedInvitation s;
      v1::Invitation i;
      EXPECT_TRUE(s.ParseFromString(bytes) && i.ParseFromString(s.invitation()));
      out.insert(i.nonce());
    }
    return out;
  }

  static std::vector<v1::OpenGroup> open_groups(TestDevice& d) {
    v1::ClientFrame f;
    f.mutable_list_open_groups();
    auto r = d.ws->call(f);
    EXPECT_TRUE(r && r->has_open_groups());
    if (!r) return {};
    return {r->open_groups().groups().begin(), r->open_groups().groups().end()};
  }
};

TEST_F(ListingIndexesTest, OpenGroupsFollowTheCommitsThatOpenAndCloseAGroup) {
  TestDevice camille, noa;
  ASSERT_NO_FATAL_FAILURE(register_device("camille", &camille));
  ASSERT_NO_FATAL_FAILURE(register_device("noa", &noa));
  std::string conv, other;
  ASSERT_NO_FATAL_FAILURE(make_group({&camille}, &conv));
  ASSERT_NO_FATAL_FAILURE(make_group({&camille}, &other));
  EXPECT_TRUE(open_groups(noa).empty());  // Listed once before any group opens.
  ASSERT_NO_FATAL_FAILURE(commit_rules(camille, conv, 1, v1::OPEN_TO_PEERS, "Bienveillance"));
  auto open = open_groups(noa);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].conversation_id(), conv);
  EXPECT_EQ(open[0].charter(), "Bienveillance");
  EXPECT_EQ(open[0].members(), 1u);
  ASSERT_NO_FATAL_FAILURE(commit_rules(camille, conv, 2, v1::INVITE_ONLY, "Bienveillance"));
  EXPECT_TRUE(open_groups(noa).empty());
  ASSERT_NO_FATAL_FAILURE(commit_rules(camille, conv, 3, v1::OPEN_TO_PEERS, "Bienveillance"));
  ASSERT_NO_FATAL_FAILURE(commit_rules(camille, other, 1, v1::OPEN_TO_PEERS, "Écoute"));
  EXPECT_EQ(open_groups(noa).size(), 2u);

  camille.ws.reset();
  noa.ws.reset();
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  noa.ws = connect();
  ASSERT_TRUE(noa.ws->hello_and_authenticate(noa.key)) << noa.ws->last_error();
  EXPECT_EQ(open_groups(noa).size(), 2u);
}

TEST_F(ListingIndexesTest, InvitationsFollowCreationAndRevocation) {
  TestDevice camille, noa, sam;
  ASSERT_NO_FATAL_FAILURE(register_device("camille", &camille));
  ASSERT_NO_FATAL_FAILURE(register_device("noa", &noa));
  ASSERT_NO_FATAL_FAILURE(register_device("sam", &sam));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&camille}, &conv));
  EXPECT_TRUE(invitations(noa).empty());  // Listed once before any invitation exists.
  const std::string first = invite(camille, conv, "noa");
  const std::string for_sam = invite(camille, conv, "sam");
  EXPECT_EQ(invitations(noa), std::set<std::string>{first});
  EXPECT_EQ(invitations(sam), std::set<std::string>{for_sam});
  v1::ClientFrame revoke;
  revoke.mutable_revoke_invitation()->set_conversation_id(conv);
  revoke.mutable_revoke_invitation()->set_nonce(first);
  ASSERT_TRUE(camille.ws->call(revoke)->has_done());
  EXPECT_TRUE(invitations(noa).empty());
  const std::string second = invite(camille, conv, "noa");
  EXPECT_EQ(invitations(noa), std::set<std::string>{second});

  camille.ws.reset();
  noa.ws.reset();
  sam.ws.reset();
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  noa.ws = connect();
  ASSERT_TRUE(noa.ws->hello_and_authenticate(noa.key)) << noa.ws->last_error();
  EXPECT_EQ(invitations(noa), std::set<std::string>{second});
}

}  // namespace
}  // namespace cercle::testing
