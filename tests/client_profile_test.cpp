// A groupe de parole's name and description (issue 13): only its members read them. A facilitator
// signs the profile with its leaf key and sends it encrypted (0x00 || AppContent); whoever adds
// someone hands it on; every client keeps only a facilitator's, and only a newer version. The
// relay never learns it: its data folder and its log are scanned byte by byte.
#include <gtest/gtest.h>

#include <sodium.h>

#include "cercle/mls/state.h"
#include "proto/policy.pb.h"
#include "testing/client_view.h"
#include "tests/groups_fixture.h"

namespace cercle::testing {
namespace {

using client::GroupProfile;

const std::string kName = "Les Hirondelles du mardi QX7";
const std::string kDescription = "Un groupe de parole sur le deuil, ZW9 : on s'écoute, sans juger.";
const std::string kNewName = "Hirondelles d'automne KP4";
const std::string kNewDescription = "Le mardi soir, après le travail, VB2.";

mls::Bytes bytes(const std::string& s) { return mls::Bytes(s.begin(), s.end()); }
std::string str(const mls::Bytes& b) { return std::string(b.begin(), b.end()); }

// A member's device taken over: its MLS state and device key, read from its own local store, and
// a raw connection, so that it can send what an honest client never sends.
struct RawMember {
  std::unique_ptr<WsClient> ws;
  std::optional<mls::State> state;
  std::string secret_key;  // libsodium Ed25519 (64 bytes).
  std::string profile;     // The encoded SignedGroupProfile its client held.
};

class ClientProfileTest : public GroupsTest {
 protected:
  // What `name`'s client holds about `conv`, read from its store (the client is closed first).
  RawMember take_over(const std::string& name, const std::string& conv, bool connect = true) {
    users_.erase(name);
    RawMember m;
    {
      auto store = client::LocalStore::open(options(name).data_dir, options(name).passphrase);
      EXPECT_TRUE(store.ok());
      if (!store.ok()) return m;
      client::local::Identity identity;
      client::local::Conversation record;
      auto raw_identity = (*store)->get("identity");
      auto raw_conv = (*store)->get("conv/" + conv);
      EXPECT_TRUE(raw_identity.ok() && *raw_identity && identity.ParseFromString(**raw_identity));
      EXPECT_TRUE(raw_conv.ok() && *raw_conv && record.ParseFromString(**raw_conv));
      m.secret_key = identity.device_secret_key();
      m.profile = record.profile();
      auto state = mls::State::deserialize(bytes(record.mls_state()));
      EXPECT_TRUE(state.ok());
      if (state.ok()) m.state = std::move(*state);
    }
    if (connect) m.ws = raw_device(name);
    return m;
  }

  // Sends `plaintext` to the group as `m`'s application message.
  void send_raw(RawMember& m, const std::string& conv, const std::string& plaintext) {
    ASSERT_TRUE(m.ws && m.state);
    auto sealed = m.state->encrypt(bytes(plaintext));
    ASSERT_TRUE(sealed.ok());
    m.state = std::move(sealed->second);
    auto r = m.ws->call(send_frame(raw_conv(conv), m.state->epoch(), str(sealed->first)));
    ASSERT_TRUE(r && r->has_send()) << (r ? r->error().message() : "timeout");
  }

  // A profile signed with `m`'s own key, in the name of `signer`.
  static std::string forged(const RawMember& m, const std::string& conv, const std::string& signer,
                            uint64_t version) {
    v1::GroupProfile p;
    p.set_conversation_id(raw_conv(conv));
    p.set_name("Le groupe de Mallory");
    p.set_version(version);
    v1::SignedGroupProfile s;
    s.set_profile(p.SerializeAsString());
    s.set_signer(signer);
    const std::string t = std::string("cercle-profile-v1") + '\0' + s.profile();
    std::string signature(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                         reinterpret_cast<const unsigned char*>(m.secret_key.data()));
    s.set_signature(signature);
    return s.SerializeAsString();
  }

  static std::string app_content(const std::string& signed_profile) {
    v1::AppContent c;
    if (!c.mutable_profile()->ParseFromString(signed_profile)) return {};
    return std::string(1, '\0') + c.SerializeAsString();
  }

  // Stops the relay and starts it again on the same data folder (clients must connect again).
  void restart(std::vector<std::string> args) {
    users_.clear();
    ASSERT_EQ(server_->terminate(), 0);
    for (const auto& a : {"--registration", "open", "--test-clock", "true"}) args.push_back(a);
    std::string error;
    server_ = ServerProcess::start(data(), args, &error);
    ASSERT_TRUE(server_) << error;
  }

  std::optional<GroupProfile> profile_of(const std::string& name, const std::string& conv) {
    auto p = users_[name]->group_profile(conv);
    if (!p.ok()) return std::nullopt;
    return *p;
  }

  bool named(const std::string& name, const std::string& conv, const std::string& group_name) {
    const auto p = profile_of(name, conv);
    return p && p->name == group_name;
  }

  bool warned(const std::string& name, const std::string& detail) {
    for (const auto& e : seen_[name]) {
      if (e.kind == Event::Kind::kWarning && e.detail == detail) return true;
    }
    return false;
  }
};

TEST_F(ClientProfileTest, AGroupsNameAndDescriptionAppearNowhereInTheRelaysData) {
  restart({"--log-level", "debug"});  // The relay says all it would say.
  user("alice");
  user("bob");
  user("carol");
  auto conv = users_["alice"]->create_group(kName, kDescription);
  ASSERT_TRUE(conv.ok()) << conv.error().message;
  ASSERT_TRUE(users_["alice"]->add_member(*conv, "bob").ok());
  ASSERT_TRUE(until([&] { return named("bob", *conv, kName); }));
  ASSERT_TRUE(users_["alice"]->set_group_profile(*conv, kNewName, kNewDescription).ok());
  ASSERT_TRUE(users_["alice"]->add_member(*conv, "carol").ok());
  ASSERT_TRUE(
      until([&] { return named("bob", *conv, kNewName) && named("carol", *conv, kNewName); }));
  EXPECT_EQ(profile_of("carol", *conv)->description, kNewDescription);
  EXPECT_EQ(profile_of("carol", *conv)->version, 2u);

  // Stopped and started again: whatever the relay keeps is on disk, in its files. Its log (one
  // file for both runs) is read after.
  restart({"--log-level", "debug"});
  const std::string log = server_->log();
  for (const auto& secret : {kName, kDescription, kNewName, kNewDescription}) {
    EXPECT_FALSE(on_disk(secret)) << secret;
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
  }
  // The scan finds what is there: a handle the relay knows, and the log's record of the run.
  EXPECT_TRUE(on_disk("carol"));
  EXPECT_NE(log.find("event=account.registered"), std::string::npos) << log;
  EXPECT_NE(log.find("event=server.stopped"), std::string::npos) << log;
}

TEST_F(ClientProfileTest, ANewcomerReadsTheNameFromTheAdder) {
  user("alice");
  user("bob");
  user("carol");
  auto conv = users_["alice"]->create_group(kName, kDescription);
  ASSERT_TRUE(conv.ok()) << conv.error().message;
  auto rules = users_["alice"]->rules(*conv);
  ASSERT_TRUE(rules.ok());
  rules->open_to_peers = true;
  ASSERT_TRUE(users_["alice"]->set_rules(*conv, *rules).ok());
  ASSERT_TRUE(users_["alice"]->add_member(*conv, "bob").ok());
  ASSERT_TRUE(until([&] { return named("bob", *conv, kName); }));
  // The facilitator is away: bob, a plain member, admits the peer who asked, and hands them the
  // profile alice signed.
  users_.erase("alice");
  ASSERT_TRUE(users_["carol"]->request_join(*conv).ok());
  ASSERT_TRUE(until([&] { return has_event("bob", Event::Kind::kJoinRequest); }));
  auto added = users_["bob"]->add_member(*conv, "carol");
  ASSERT_TRUE(added.ok()) << added.error().message;
  ASSERT_TRUE(until([&] { return named("carol", *conv, kName); }));
  const auto p = profile_of("carol", *conv);
  EXPECT_EQ(p->description, kDescription);
  EXPECT_EQ(p->signer, "alice");
  EXPECT_EQ(p->version, 1u);
  EXPECT_TRUE(has_event("carol", Event::Kind::kGroupProfile));
  const auto listed = users_["carol"]->conversations();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, kName);
  // Kept on the device: the client opened again knows it without any message.
  users_.erase("carol");
  user("carol");
  EXPECT_TRUE(named("carol", *conv, kName));
  // alice back: her client admits the next peer who asks on its own (act_on_requests), and hands
  // the profile on the same way.
  user("alice");
  user("dave");
  ASSERT_TRUE(users_["dave"]->request_join(*conv).ok());
  ASSERT_TRUE(until([&] { return member_of("dave", *conv) && named("dave", *conv, kName); }));
}

TEST_F(ClientProfileTest, AProfileFromAPlainMemberIsIgnored) {
  user("alice");
  user("bob");
  user("mallory");
  auto conv = users_["alice"]->create_group(kName, kDescription);
  ASSERT_TRUE(conv.ok()) << conv.error().message;
  ASSERT_TRUE(users_["alice"]->add_member(*conv, "bob").ok());
  ASSERT_TRUE(users_["alice"]->add_member(*conv, "mallory").ok());
  ASSERT_TRUE(until([&] { return named("bob", *conv, kName) && named("mallory", *conv, kName); }));
  seen_.clear();
  // mallory, a plain member, names the group herself; then signs in alice's name with her key.
  RawMember m = take_over("mallory", *conv);
  ASSERT_NO_FATAL_FAILURE(send_raw(m, *conv, app_content(forged(m, *conv, "mallory", 99))));
  ASSERT_NO_FATAL_FAILURE(send_raw(m, *conv, app_content(forged(m, *conv, "alice", 99))));
  ASSERT_NO_FATAL_FAILURE(send_raw(m, *conv, "et voilà"));
  for (const std::string name : {"alice", "bob"}) {
    ASSERT_TRUE(until([&] { return sees(name, *conv, "et voilà"); })) << name;
    EXPECT_TRUE(warned(name, "a group name not set by one of its facilitators was ignored"));
    EXPECT_TRUE(warned(name, "a group name whose signature does not hold was ignored"));
    const auto p = profile_of(name, *conv);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, kName) << name;
    EXPECT_EQ(p->version, 1u) << name;
    EXPECT_FALSE(has_event(name, Event::Kind::kGroupProfile)) << name;
  }
}

TEST_F(ClientProfileTest, AnOlderProfileVersionIsIgnored) {
  user("alice");
  user("bob");
  user("mallory");
  auto conv = users_["alice"]->create_group(kName, kDescription);
  ASSERT_TRUE(conv.ok()) << conv.error().message;
  ASSERT_TRUE(users_["alice"]->add_member(*conv, "bob").ok());
  ASSERT_TRUE(users_["alice"]->add_member(*conv, "mallory").ok());
  ASSERT_TRUE(until([&] { return named("bob", *conv, kName) && named("mallory", *conv, kName); }));
  const std::string first = take_over("mallory", *conv, false).profile;  // alice's version 1.
  ASSERT_FALSE(first.empty());
  user("mallory");
  ASSERT_TRUE(users_["alice"]->set_group_profile(*conv, kNewName, kNewDescription).ok());
  ASSERT_TRUE(
      until([&] { return named("bob", *conv, kNewName) && named("mallory", *conv, kNewName); }));
  seen_.clear();
  // mallory replays alice's first profile: a facilitator's, validly signed, but older.
  RawMember m = take_over("mallory", *conv);
  ASSERT_NO_FATAL_FAILURE(send_raw(m, *conv, app_content(first)));
  ASSERT_NO_FATAL_FAILURE(send_raw(m, *conv, "et maintenant ?"));
  for (const std::string name : {"alice", "bob"}) {
    ASSERT_TRUE(until([&] { return sees(name, *conv, "et maintenant ?"); })) << name;
    const auto p = profile_of(name, *conv);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, kNewName) << name;
    EXPECT_EQ(p->description, kNewDescription) << name;
    EXPECT_EQ(p->version, 2u) << name;
    EXPECT_FALSE(has_event(name, Event::Kind::kGroupProfile)) << name;
  }
}

// An open group's public listing (what the association and every peer read, unlike the profile):
// only a facilitator publishes it, only for a group open to peers; the members are shown what was
// made public, checked against the facilitator's leaf key, and its withdrawal.
TEST_F(ClientProfileTest, AFacilitatorPublishesAndWithdrawsTheListing) {
  user("alice");
  user("bob");
  user("carol");
  const std::string conv = group("alice", {"bob"});
  const std::string kPublic = "Groupe du mardi";
  EXPECT_EQ(server_code(users_["alice"]->publish_group(conv, kPublic)), v1::INVALID_ARGUMENT);
  auto rules = users_["alice"]->rules(conv);
  ASSERT_TRUE(rules.ok());
  rules->open_to_peers = true;
  ASSERT_TRUE(users_["alice"]->set_rules(conv, *rules).ok());
  ASSERT_TRUE(until([&] { return same_epoch(conv, {"alice", "bob"}); }));
  EXPECT_EQ(server_code(users_["bob"]->publish_group(conv, "Le groupe de Bob")), v1::FORBIDDEN);
  ASSERT_TRUE(users_["alice"]->publish_group(conv, kPublic, "Ouvert aux pairs, le mardi").ok());
  const auto listed = [&]() -> client::OpenGroup {
    auto groups = users_["carol"]->open_groups();
    EXPECT_TRUE(groups.ok());
    for (const auto& g : groups.ok() ? *groups : std::vector<client::OpenGroup>{}) {
      if (g.conversation == conv) return g;
    }
    return {};
  };
  EXPECT_EQ(listed().public_name, kPublic);
  EXPECT_EQ(listed().public_description, "Ouvert aux pairs, le mardi");
  const auto shown = [&](const std::string& detail) {
    for (const auto& e : seen_["bob"]) {
      if (e.kind == Event::Kind::kListingPublished && e.detail == detail && e.by == "alice")
        return true;
    }
    return false;
  };
  ASSERT_TRUE(until([&] { return shown(kPublic); }));
  ASSERT_TRUE(users_["alice"]->withdraw_listing(conv).ok());
  EXPECT_EQ(listed().conversation, conv);  // Still open to peers, without a name.
  EXPECT_EQ(listed().public_name, "");
  ASSERT_TRUE(until([&] { return shown(""); }));
}

// Typed content is marked by a first byte 0x00: a text may not start with it, and the group's
// messages stay text.
TEST_F(ClientProfileTest, TextStartingWithU0000IsRefusedAndWordsAreChecked) {
  user("alice");
  auto conv = users_["alice"]->create_group();
  ASSERT_TRUE(conv.ok());
  auto sent = users_["alice"]->send_text(*conv, std::string(1, '\0') + "x");
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, client::Errc::kInvalidArgument);
  EXPECT_EQ(users_["alice"]->group_profile(*conv).error().code, client::Errc::kNotFound);
  EXPECT_EQ(users_["alice"]->set_group_profile(*conv, std::string(81, 'a')).error().code,
            client::Errc::kInvalidArgument);
  EXPECT_EQ(users_["alice"]->set_group_profile(*conv, "").error().code,
            client::Errc::kInvalidArgument);
  EXPECT_EQ(users_["alice"]->set_group_profile(*conv, "Nom", std::string(1001, 'a')).error().code,
            client::Errc::kInvalidArgument);
  ASSERT_TRUE(users_["alice"]->set_group_profile(*conv, std::string(80, 'a')).ok());
  auto h = users_["alice"]->history(*conv);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->empty());  // The profile is no message.
}

}  // namespace
}  // namespace cercle::testing
