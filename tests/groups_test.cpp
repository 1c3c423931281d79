// Groupes de parole with the real server and SDK clients: who may join (professionals only by
// invitation, whatever the join rule; expired, revoked or used invitations fail; banned accounts
// never come back), who may change the group (facilitators), moderation (mute, delete for everyone,
// reports to facilitators only and to the admins), retention, and what every member sees (roles,
// professionals marked). Deleted and expired messages are checked gone from the data folder's
// files.
#include <gtest/gtest.h>

#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "client/sdk/client.h"
#include "client/sdk/local.pb.h"
#include "client/sdk/local_store.h"
#include "proto/cercle.pb.h"
#include "testing/server_process.h"
#include "testing/ws_client.h"

namespace cercle::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;
using client::Event;
using client::Role;

class GroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ =
        ServerProcess::start(data(), {"--registration", "open", "--test-clock", "true"}, &error);
    ASSERT_TRUE(server_) << error;
  }

  std::string data() const { return dir_.path() + "/data"; }

  client::Options options(const std::string& name) {
    client::Options o;
    o.server_url = "ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws";
    o.data_dir = dir_.path() + "/clients/" + name;
    o.passphrase = "phrase de passe de " + name;
    o.timeout = 10s;
    return o;
  }

  // Opens, connects and registers `name`; a professional's type is set before its first sign-in,
  // so that its key packages say so from the start.
  Client& user(const std::string& name, bool professional = false) {
    if (professional) {
      auto c = Client::open(options(name));
      EXPECT_TRUE(c.ok() && (*c)->connect().ok() && (*c)->register_account(name).ok());
      c->reset();
      set_type(name, "professional");
    }
    auto c = Client::open(options(name));
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    auto connected = (*c)->connect();
    EXPECT_TRUE(connected.ok()) << connected.error().message;
    if (!(*c)->registered()) {
      EXPECT_TRUE((*c)->register_account(name).ok());
    }
    users_[name] = std::move(*c);
    return *users_[name];
  }

  void set_type(const std::string& handle, const std::string& type) {
    int status = -1;
    run_admin(data(), {"account", "set-type", handle, type}, &status);
    ASSERT_EQ(status, 0);
  }

  // Polls every user until `done` holds (10 s at most); keeps what they saw.
  bool until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (done()) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      for (auto& [name, c] : users_) {
        auto events = c->poll(20ms);
        if (!events.ok()) continue;
        auto& seen = seen_[name];
        seen.insert(seen.end(), events->begin(), events->end());
      }
    }
  }

  bool has_event(const std::string& name, Event::Kind kind) {
    for (const auto& e : seen_[name]) {
      if (e.kind == kind) return true;
    }
    return false;
  }

  bool member_of(const std::string& name, const std::string& conv) {
    auto m = users_[name]->members(conv);
    return m.ok() && std::any_of(m->begin(), m->end(), [&](const auto& x) { return x.self; });
  }

  bool sees(const std::string& name, const std::string& conv, const std::string& text) {
    auto h = users_[name]->history(conv);
    return h.ok() &&
           std::any_of(h->begin(), h->end(), [&](const auto& m) { return m.text == text; });
  }

  bool same_epoch(const std::string& conv, const std::vector<std::string>& names) {
    auto first = users_[names[0]]->epoch_authenticator(conv);
    if (!first.ok()) return false;
    for (const auto& n : names) {
      auto a = users_[n]->epoch_authenticator(conv);
      if (!a.ok() || *a != *first) return false;
    }
    return true;
  }

  // A group made by `facilitator` with `members` in it, every member caught up.
  std::string group(const std::string& facilitator, const std::vector<std::string>& members) {
    auto conv = users_[facilitator]->create_group();
    EXPECT_TRUE(conv.ok()) << conv.error().message;
    for (const auto& m : members) {
      auto added = users_[facilitator]->add_member(*conv, m);
      EXPECT_TRUE(added.ok()) << m << ": " << added.error().message;
    }
    std::vector<std::string> all = members;
    all.push_back(facilitator);
    EXPECT_TRUE(until([&] { return same_epoch(*conv, all); }));
    return *conv;
  }

  static int server_code(const client::Status& s) { return s.ok() ? 0 : s.error().server_code; }

  static std::string raw_conv(const std::string& hex) {
    std::string conv(16, '\0');
    sodium_hex2bin(reinterpret_cast<unsigned char*>(conv.data()), conv.size(), hex.data(),
                   hex.size(), nullptr, nullptr, nullptr);
    return conv;
  }

  // A raw connection authenticated as `name`'s device, whose key is read from its local store (its
  // client is closed first: the store is locked while open).
  std::unique_ptr<WsClient> raw_device(const std::string& name) {
    users_.erase(name);
    auto store = client::LocalStore::open(options(name).data_dir, options(name).passphrase);
    EXPECT_TRUE(store.ok());
    if (!store.ok()) return nullptr;
    auto raw = (*store)->get("identity");
    client::local::Identity identity;
    EXPECT_TRUE(raw.ok() && *raw && identity.ParseFromString(**raw));
    DeviceKey key;
    std::memcpy(key.sk, identity.device_secret_key().data(), 64);
    std::memcpy(key.pk, identity.device_secret_key().data() + 32, 32);
    auto ws = WsClient::connect(server_->port());
    const bool ok = ws && ws->hello() && ws->authenticate(key);
    EXPECT_TRUE(ok);
    return ok ? std::move(ws) : nullptr;
  }

  // The ciphertext the relay stored for entry `seq`, read as `name`'s device.
  std::string stored_payload(const std::string& name, const std::string& conv_hex, uint64_t seq) {
    auto ws = raw_device(name);
    if (!ws) return {};
    v1::ClientFrame f;
    f.mutable_fetch_log()->set_conversation_id(raw_conv(conv_hex));
    f.mutable_fetch_log()->set_after_seq(seq - 1);
    f.mutable_fetch_log()->set_limit(1);
    auto r = ws->call(f);
    EXPECT_TRUE(r && r->has_log() && r->log().entries_size() == 1);
    const std::string payload = r->log().entries(0).payload();
    user(name);  // Back online.
    return payload;
  }

  // Whether any file of the data folder holds `bytes`.
  bool on_disk(const std::string& bytes) {
    for (const auto& f : std::filesystem::recursive_directory_iterator(data())) {
      if (!f.is_regular_file()) continue;
      std::ifstream in(f.path(), std::ios::binary);
      const std::string content((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
      if (content.find(bytes) != std::string::npos) return true;
    }
    return false;
  }

  // Waits until `bytes` left every file (a background compaction removes them).
  bool gone_from_disk(const std::string& bytes) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (on_disk(bytes)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(100ms);
    }
    return true;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::map<std::string, std::unique_ptr<Client>> users_;
  std::map<std::string, std::vector<Event>> seen_;
};

TEST_F(GroupsTest, AProfessionalJoinsOnlyByInvitationAndEveryoneSeesThemMarked) {
  user("camille");
  user("sam");
  user("lou");
  user("dr_martin", /*professional=*/true);
  const std::string conv = group("camille", {"sam", "lou"});

  // Without an invitation the relay refuses the professional, even from a facilitator.
  auto direct = users_["camille"]->add_member(conv, "dr_martin");
  EXPECT_EQ(server_code(direct), v1::FORBIDDEN) << (direct.ok() ? "" : direct.error().message);

  // With one (accompanying sam), once the professional accepted the charter, camille's client adds
  // them; the whole group saw the invitation first.
  auto invitation = users_["camille"]->invite(conv, "dr_martin", "sam");
  ASSERT_TRUE(invitation.ok()) << invitation.error().message;
  EXPECT_TRUE(invitation->professional);
  ASSERT_TRUE(until([&] {
    return has_event("lou", Event::Kind::kInvited) &&
           has_event("dr_martin", Event::Kind::kInvitation);
  }));
  auto mine = users_["dr_martin"]->invitations();
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].accompanying, "sam");
  ASSERT_TRUE(users_["dr_martin"]->accept_invitation((*mine)[0]).ok());
  ASSERT_TRUE(until([&] {
    return member_of("dr_martin", conv) && same_epoch(conv, {"camille", "sam", "lou", "dr_martin"});
  }));

  for (const std::string name : {"camille", "sam", "lou", "dr_martin"}) {
    auto members = users_[name]->members(conv);
    ASSERT_TRUE(members.ok());
    bool marked = false;
    for (const auto& m : *members) {
      if (m.handle != "dr_martin") {
        EXPECT_FALSE(m.professional) << name << " sees " << m.handle;
        continue;
      }
      marked = m.professional && m.role == Role::kInvitedProfessional && m.accompanying == "sam";
    }
    EXPECT_TRUE(marked) << name;
  }
  ASSERT_TRUE(users_["dr_martin"]->send_text(conv, "Bonjour, je suis là pour Sam.").ok());
  ASSERT_TRUE(until([&] { return sees("lou", conv, "Bonjour, je suis là pour Sam."); }));
  for (const auto& m : *users_["lou"]->history(conv)) {
    if (m.sender == "dr_martin") {
      EXPECT_TRUE(m.professional);
    }
  }
}

TEST_F(GroupsTest, AnOpenGroupAdmitsPeersWhoAskButNeverAProfessional) {
  user("camille");
  user("sam");
  user("noa");
  user("dr_martin", /*professional=*/true);
  const std::string conv = group("camille", {"sam"});
  client::GroupRules rules = *users_["camille"]->rules(conv);
  rules.open_to_peers = true;
  rules.charter = "Bienveillance, confidentialité, pas de conseils médicaux.";
  ASSERT_TRUE(users_["camille"]->set_rules(conv, rules).ok());

  auto open = users_["noa"]->open_groups();
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].charter, rules.charter);
  ASSERT_TRUE(users_["noa"]->request_join(conv).ok());
  ASSERT_TRUE(until([&] {
    return member_of("noa", conv) && same_epoch(conv, {"camille", "sam", "noa"});
  }));

  // A professional sees no open group, may not ask, and a member adding one is refused.
  EXPECT_TRUE(users_["dr_martin"]->open_groups()->empty());
  EXPECT_EQ(server_code(users_["dr_martin"]->request_join(conv)), v1::FORBIDDEN);
  EXPECT_EQ(server_code(users_["sam"]->add_member(conv, "dr_martin")), v1::FORBIDDEN);
  EXPECT_EQ(server_code(users_["camille"]->add_member(conv, "dr_martin")), v1::FORBIDDEN);
  EXPECT_FALSE(until([&] { return member_of("dr_martin", conv); }, 500ms));
}

TEST_F(GroupsTest, ExpiredRevokedAndUsedInvitationsFail) {
  user("camille");
  user("sam");
  user("dr_martin", /*professional=*/true);
  user("dr_leroy", /*professional=*/true);
  const std::string conv = group("camille", {"sam"});

  // Revoked before it is accepted: accepting fails, and nobody is added.
  auto revoked = users_["camille"]->invite(conv, "dr_martin");
  ASSERT_TRUE(revoked.ok());
  ASSERT_TRUE(users_["camille"]->revoke_invitation(conv, revoked->id).ok());
  EXPECT_EQ(server_code(users_["dr_martin"]->accept_invitation(*revoked)), v1::INVALID_ARGUMENT);
  ASSERT_TRUE(until([&] { return has_event("sam", Event::Kind::kInvitationRevoked); }));
  EXPECT_TRUE(users_["dr_martin"]->invitations()->empty());

  // Expired: valid one hour, and the server's clock moves two hours on.
  auto expiring = users_["camille"]->invite(conv, "dr_leroy", "", std::chrono::hours(1));
  ASSERT_TRUE(expiring.ok());
  int status = -1;
  run_admin(data(), {"clock", "advance", "2"}, &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(server_code(users_["dr_leroy"]->accept_invitation(*expiring)), v1::INVALID_ARGUMENT);
  EXPECT_FALSE(until([&] { return member_of("dr_leroy", conv); }, 500ms));

  // Used: dr_martin joins with a new invitation, is removed, and cannot come back with it.
  auto fresh = users_["camille"]->invite(conv, "dr_martin");
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(until([&] { return has_event("dr_martin", Event::Kind::kInvitation); }));
  ASSERT_TRUE(users_["dr_martin"]->accept_invitation(*fresh).ok());
  ASSERT_TRUE(until([&] { return member_of("dr_martin", conv); }));
  ASSERT_TRUE(users_["camille"]->remove_member(conv, "dr_martin").ok());
  ASSERT_TRUE(until([&] { return has_event("dr_martin", Event::Kind::kLeft); }));
  EXPECT_EQ(server_code(users_["dr_martin"]->accept_invitation(*fresh)), v1::INVALID_ARGUMENT);
  EXPECT_EQ(server_code(users_["camille"]->add_member(conv, "dr_martin")), v1::FORBIDDEN);
}

TEST_F(GroupsTest, WithAnObjectionDelayAProfessionalWaitsAndAnObjectionKeepsThemOut) {
  user("camille");
  user("sam");
  user("dr_martin", /*professional=*/true);
  user("dr_leroy", /*professional=*/true);
  const std::string conv = group("camille", {"sam"});
  client::GroupRules rules = *users_["camille"]->rules(conv);
  rules.objection_hours = 24;
  ASSERT_TRUE(users_["camille"]->set_rules(conv, rules).ok());
  ASSERT_TRUE(until([&] { return same_epoch(conv, {"camille", "sam"}); }));

  auto martin = users_["camille"]->invite(conv, "dr_martin");
  auto leroy = users_["camille"]->invite(conv, "dr_leroy");
  ASSERT_TRUE(martin.ok() && leroy.ok());
  ASSERT_TRUE(users_["dr_martin"]->accept_invitation(*martin).ok());
  ASSERT_TRUE(users_["dr_leroy"]->accept_invitation(*leroy).ok());
  // Accepted, but the members have a day to object: nobody comes in yet.
  EXPECT_EQ(server_code(users_["camille"]->add_member(conv, "dr_martin")), v1::FORBIDDEN);
  ASSERT_TRUE(until([&] { return has_event("sam", Event::Kind::kInvitationAccepted); }));
  ASSERT_TRUE(users_["sam"]->object_to_invitation(conv, leroy->id).ok());
  int status = -1;
  run_admin(data(), {"clock", "advance", "25"}, &status);
  ASSERT_EQ(status, 0);
  // A day later: the professional nobody objected to joins; the other stays out.
  ASSERT_TRUE(users_["camille"]->add_member(conv, "dr_martin").ok());
  ASSERT_TRUE(until([&] { return member_of("dr_martin", conv); }));
  auto objected = users_["camille"]->add_member(conv, "dr_leroy");
  EXPECT_EQ(server_code(objected), v1::FORBIDDEN);
  EXPECT_NE(objected.error().message.find("objected"), std::string::npos)
      << objected.error().message;
  EXPECT_FALSE(until([&] { return member_of("dr_leroy", conv); }, 500ms));
}

TEST_F(GroupsTest, OnlyFacilitatorsChangeTheGroupAndBannedMembersNeverReturn) {
  user("camille");
  user("sam");
  user("lou");
  user("noa");
  const std::string conv = group("camille", {"sam", "lou"});

  EXPECT_EQ(server_code(users_["sam"]->add_member(conv, "noa")), v1::FORBIDDEN);
  EXPECT_EQ(server_code(users_["sam"]->remove_member(conv, "lou")), v1::FORBIDDEN);
  EXPECT_EQ(server_code(users_["sam"]->set_role(conv, "sam", Role::kFacilitator)), v1::FORBIDDEN);
  client::GroupRules rules = *users_["sam"]->rules(conv);
  rules.open_to_peers = true;
  EXPECT_EQ(server_code(users_["sam"]->set_rules(conv, rules)), v1::FORBIDDEN);
  auto invitation = users_["sam"]->invite(conv, "noa");
  ASSERT_FALSE(invitation.ok());
  EXPECT_EQ(invitation.error().server_code, v1::FORBIDDEN);
  EXPECT_TRUE(same_epoch(conv, {"camille", "sam", "lou"}));

  // Anyone may leave.
  ASSERT_TRUE(users_["lou"]->leave(conv).ok());
  ASSERT_TRUE(until([&] { return has_event("lou", Event::Kind::kLeft); }));

  // A banned member is removed and cannot come back: not added, not invited, not by asking.
  ASSERT_TRUE(users_["camille"]->ban(conv, "sam").ok());
  ASSERT_TRUE(until([&] { return has_event("sam", Event::Kind::kLeft); }));
  EXPECT_EQ(server_code(users_["camille"]->add_member(conv, "sam")), v1::FORBIDDEN);
  auto invited = users_["camille"]->invite(conv, "sam");
  ASSERT_FALSE(invited.ok());
  EXPECT_EQ(invited.error().server_code, v1::FORBIDDEN);
  rules = *users_["camille"]->rules(conv);
  rules.open_to_peers = true;
  ASSERT_TRUE(users_["camille"]->set_rules(conv, rules).ok());
  EXPECT_EQ(server_code(users_["sam"]->request_join(conv)), v1::FORBIDDEN);
}

TEST_F(GroupsTest, AMutedMembersMessagesAreRefusedUntilUnmuted) {
  user("camille");
  user("sam");
  const std::string conv = group("camille", {"sam"});
  ASSERT_TRUE(users_["camille"]->mute(conv, "sam", true).ok());
  ASSERT_TRUE(until([&] { return same_epoch(conv, {"camille", "sam"}); }));
  auto refused = users_["sam"]->send_text(conv, "je parle quand même");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().server_code, v1::FORBIDDEN);
  ASSERT_TRUE(users_["camille"]->mute(conv, "sam", false).ok());
  ASSERT_TRUE(until([&] { return same_epoch(conv, {"camille", "sam"}); }));
  ASSERT_TRUE(users_["sam"]->send_text(conv, "merci").ok());
  EXPECT_TRUE(until([&] { return sees("camille", conv, "merci"); }));
  EXPECT_FALSE(sees("camille", conv, "je parle quand même"));
}

TEST_F(GroupsTest, ADeletedMessageDisappearsForEveryoneAndFromTheDisk) {
  user("camille");
  user("sam");
  user("lou");
  const std::string conv = group("camille", {"sam", "lou"});
  auto seq = users_["sam"]->send_text(conv, "un message à retirer");
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(users_["sam"]->send_text(conv, "un message qui reste").ok());
  ASSERT_TRUE(until([&] {
    return sees("lou", conv, "un message qui reste") &&
           sees("camille", conv, "un message qui reste");
  }));
  const std::string ciphertext = stored_payload("lou", conv, *seq);
  ASSERT_GT(ciphertext.size(), 32u);
  ASSERT_TRUE(on_disk(ciphertext));

  EXPECT_EQ(server_code(users_["lou"]->delete_message(conv, *seq)),
            v1::FORBIDDEN);  // Not a facilitator.
  ASSERT_TRUE(users_["camille"]->delete_message(conv, *seq).ok());
  ASSERT_TRUE(until([&] {
    return !sees("lou", conv, "un message à retirer") &&
           !sees("sam", conv, "un message à retirer") &&
           !sees("camille", conv, "un message à retirer");
  }));
  EXPECT_TRUE(sees("lou", conv, "un message qui reste"));
  EXPECT_TRUE(gone_from_disk(ciphertext));
}

TEST_F(GroupsTest, MessagesPastTheRetentionPeriodAreGoneFromTheDisk) {
  user("camille");
  user("sam");
  const std::string conv = group("camille", {"sam"});
  client::GroupRules rules = *users_["camille"]->rules(conv);
  rules.retention_days = 30;
  ASSERT_TRUE(users_["camille"]->set_rules(conv, rules).ok());
  auto seq = users_["sam"]->send_text(conv, "un vieux message");
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(until([&] { return sees("camille", conv, "un vieux message"); }));
  const std::string ciphertext = stored_payload("camille", conv, *seq);
  ASSERT_TRUE(on_disk(ciphertext));

  int status = -1;
  run_admin(data(), {"clock", "advance", std::to_string(31 * 24)}, &status);
  ASSERT_EQ(status, 0);
  EXPECT_TRUE(gone_from_disk(ciphertext));
  // The members' devices let it go too, once they see the server's time move on.
  ASSERT_TRUE(users_["camille"]->send_text(conv, "un message d'aujourd'hui").ok());
  EXPECT_TRUE(until([&] {
    return sees("sam", conv, "un message d'aujourd'hui") && !sees("sam", conv, "un vieux message");
  }));
  // A device catching up now is told the old entries are erased, and follows on.
  users_["sam"].reset();
  user("sam");
  ASSERT_TRUE(users_["camille"]->send_text(conv, "encore un").ok());
  EXPECT_TRUE(until([&] { return sees("sam", conv, "encore un"); }));
}

TEST_F(GroupsTest, AReportReachesTheFacilitatorsAndNobodyElse) {
  user("camille");
  user("alex");
  user("sam");
  user("lou");
  const std::string conv = group("camille", {"alex", "sam", "lou"});
  ASSERT_TRUE(users_["camille"]->set_role(conv, "alex", Role::kFacilitator).ok());
  auto seq = users_["sam"]->send_text(conv, "un message déplacé");
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(until([&] {
    return sees("lou", conv, "un message déplacé") &&
           same_epoch(conv, {"camille", "alex", "sam", "lou"});
  }));
  const std::string reason = "propos blessants envers un membre";
  ASSERT_TRUE(users_["lou"]->report(conv, *seq, reason).ok());
  auto got_report = [&](const std::string& name) {
    for (const auto& e : seen_[name]) {
      if (e.kind == Event::Kind::kReport && e.report.seq == *seq && e.report.reason == reason &&
          e.report.text == "un message déplacé" && e.report.reporter == "lou") {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(until([&] { return got_report("camille") && got_report("alex"); }));
  EXPECT_FALSE(until(
      [&] {
        return has_event("sam", Event::Kind::kReport) || has_event("lou", Event::Kind::kReport);
      },
      1s));
  // The relay kept only sealed bytes: the reason is nowhere in its files.
  EXPECT_FALSE(on_disk(reason));

  // To the admins, the reporter reveals that one message; the admins' answer comes back.
  auto id = users_["lou"]->report_to_admins(conv, *seq, "harcèlement");
  ASSERT_TRUE(id.ok()) << id.error().message;
  int status = -1;
  const std::string listed = run_admin(data(), {"report", "list"}, &status);
  ASSERT_EQ(status, 0);
  EXPECT_NE(listed.find("un message déplacé"), std::string::npos);
  run_admin(data(), {"report", "answer", std::to_string(*id), "Nous avons suspendu le compte."},
            &status);
  ASSERT_EQ(status, 0);
  EXPECT_TRUE(until([&] { return has_event("lou", Event::Kind::kAdminAnswer); }));
}

TEST_F(GroupsTest, AnInstanceAdminHasNoPowerInsideAGroup) {
  user("camille");
  user("sam");
  user("admin_asso");
  int status = -1;
  run_admin(data(), {"account", "set-admin", "admin_asso", "on"}, &status);
  ASSERT_EQ(status, 0);
  const std::string conv = group("camille", {"sam"});
  EXPECT_EQ(server_code(users_["admin_asso"]->request_join(conv)), v1::FORBIDDEN);
  auto seq = users_["sam"]->send_text(conv, "entre nous");
  ASSERT_TRUE(seq.ok());
  // Its device, speaking the protocol directly, can neither read nor change the group.
  auto ws = raw_device("admin_asso");
  ASSERT_TRUE(ws);
  const std::string id = raw_conv(conv);
  v1::ClientFrame get, fetch, erase, invite;
  get.mutable_get_conversation()->set_conversation_id(id);
  fetch.mutable_fetch_log()->set_conversation_id(id);
  erase.mutable_delete_entry()->set_conversation_id(id);
  erase.mutable_delete_entry()->set_seq(*seq);
  for (const auto& f : {get, fetch, erase}) {
    auto r = ws->call(f);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error().code(), v1::FORBIDDEN) << f.DebugString();
  }
  EXPECT_FALSE(ws->next_delivery(300ms)) << "the admin's device was sent an entry of the group";
  EXPECT_TRUE(until([&] { return sees("camille", conv, "entre nous"); }));
}

}  // namespace
}  // namespace cercle::testing
