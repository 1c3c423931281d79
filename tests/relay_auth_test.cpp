// Registration, challenge-response authentication, replay and forgery, against the real server.
#include <gtest/gtest.h>

#include <fstream>

#include "testing/server_process.h"
#include "testing/ws_client.h"

namespace cercle::testing {
namespace {

class RelayAuthTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args) {
    std::string error;
    server_ = ServerProcess::start(dir_.path() + "/data", args, &error);
    ASSERT_TRUE(server_) << error;
  }
  std::unique_ptr<WsClient> connect() {
    auto c = WsClient::connect(server_->port());
    EXPECT_TRUE(c);
    return c;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(RelayAuthTest, HelloAnnouncesVersionLimitsAndAChallenge) {
  start({"--registration", "open"});
  auto c = connect();
  auto r = c->hello();
  ASSERT_TRUE(r && r->has_hello());
  EXPECT_EQ(r->hello().protocol_version(), v1::PROTOCOL_VERSION_1);
  EXPECT_EQ(r->hello().instance_id().size(), 16u);
  EXPECT_EQ(r->hello().registration(), v1::OPEN);
  EXPECT_EQ(r->hello().limits().max_frame_bytes(), 256u * 1024);
  EXPECT_EQ(r->hello().challenge().size(), 32u);
  // Each connection gets its own challenge.
  auto other = connect();
  auto r2 = other->hello();
  ASSERT_TRUE(r2 && r2->has_hello());
  EXPECT_NE(r2->hello().challenge(), r->hello().challenge());
}

TEST_F(RelayAuthTest, HelloCarriesTheConfiguredAssociationAndNothingWithoutOne) {
  const std::string config = dir_.path() + "/cercle.toml";
  std::ofstream(config) << "[association]\nname = \"Entraide Rhône\"\n"
                           "page = \"https://entraide.example/aide\"\n"
                           "answer_times = \"Sous 48 h.\"\n"
                           "[[association.contacts]]\nname = \"Permanence\"\n"
                           "details = \"18 h - 22 h\"\nphone = \"+33 4 00 00 00 00\"\n"
                           "sms = \"3114\"\nurl = \"https://entraide.example/p\"\n";
  start({"--registration", "open", "--config", config});
  auto r = connect()->hello();
  ASSERT_TRUE(r && r->has_hello());
  ASSERT_TRUE(r->hello().has_association());
  const auto& a = r->hello().association();
  EXPECT_EQ(a.name(), "Entraide Rhône");
  EXPECT_EQ(a.page(), "https://entraide.example/aide");
  EXPECT_EQ(a.answer_times(), "Sous 48 h.");
  ASSERT_EQ(a.contacts_size(), 1);
  EXPECT_EQ(a.contacts(0).name(), "Permanence");
  EXPECT_EQ(a.contacts(0).details(), "18 h - 22 h");
  EXPECT_EQ(a.contacts(0).phone(), "+33 4 00 00 00 00");
  EXPECT_EQ(a.contacts(0).sms(), "3114");
  EXPECT_EQ(a.contacts(0).url(), "https://entraide.example/p");

  // A config that names none sends none (clients then show only the national numbers).
  server_.reset();
  start({"--registration", "open"});
  auto plain = connect()->hello();
  ASSERT_TRUE(plain && plain->has_hello());
  EXPECT_FALSE(plain->hello().has_association());

  // A bad [association] stops start-up, naming the key.
  server_.reset();
  std::ofstream(config) << "[association]\nname = \"A\"\npage = \"http://entraide.example\"\n";
  std::string error;
  EXPECT_FALSE(ServerProcess::start(dir_.path() + "/data",
                                    {"--registration", "open", "--config", config}, &error));
  EXPECT_NE(error.find("association.page"), std::string::npos) << error;
}

TEST_F(RelayAuthTest, OpenRegistrationThenAuthenticationOnANewConnection) {
  start({"--registration", "open"});
  DeviceKey key;
  auto c = connect();
  auto reg = c->hello_and_register(key, "Éloïse");
  ASSERT_TRUE(reg) << c->last_error() << "\n" << server_->log();
  EXPECT_EQ(reg->handle(), "Éloïse");
  EXPECT_EQ(reg->type(), v1::PEER);
  EXPECT_FALSE(reg->admin());

  auto c2 = connect();
  auto auth = c2->hello_and_authenticate(key);
  ASSERT_TRUE(auth) << c2->last_error();
  EXPECT_EQ(auth->device_id(), reg->device_id());
  EXPECT_EQ(auth->account_id(), reg->account_id());
}

TEST_F(RelayAuthTest, InviteCodeRegistrationNeedsAFreshCode) {
  std::string data = dir_.path() + "/data";
  int status = -1;
  std::string code = run_admin(data, {"code", "create"}, &status);
  ASSERT_EQ(status, 0);
  while (!code.empty() && code.back() == '\n') code.pop_back();
  ASSERT_EQ(code.size(), 19u) << code;
  start({});

  DeviceKey a, b, c;
  auto c1 = connect();
  ASSERT_TRUE(c1->hello());
  EXPECT_EQ(c1->hello_result().registration(), v1::INVITE_CODE);
  EXPECT_EQ(error_of(c1->register_device(a, "alice")), v1::REGISTRATION_CODE_REQUIRED);
  c1->new_challenge();
  EXPECT_EQ(error_of(c1->register_device(a, "alice", "0000-0000-0000-0000")),
            v1::REGISTRATION_CODE_INVALID);
  c1->new_challenge();
  auto ok = c1->register_device(a, "alice", code);
  ASSERT_TRUE(ok && ok->has_auth()) << (ok ? ok->error().message() : "timeout");

  auto c2 = connect();
  EXPECT_FALSE(c2->hello_and_register(b, "bob", code));  // Single use.
}

TEST_F(RelayAuthTest, ForgedSignatureAndUnknownKeyFail) {
  start({"--registration", "open"});
  DeviceKey key, mallory;
  ASSERT_TRUE(connect()->hello_and_register(key, "alice"));

  auto c = connect();
  ASSERT_TRUE(c->hello());
  v1::ClientFrame f;
  f.mutable_authenticate()->set_device_public_key(key.public_key());
  f.mutable_authenticate()->set_signature(mallory.sign(c->transcript()));
  EXPECT_EQ(error_of(c->call(f)), v1::AUTH_FAILED);

  auto c2 = connect();
  ASSERT_TRUE(c2->hello());
  EXPECT_EQ(error_of(c2->authenticate(mallory)), v1::AUTH_FAILED);
  // Still unauthenticated: requests are refused.
  EXPECT_EQ(error_of(c2->call(create_group_frame())), v1::NOT_AUTHENTICATED);
}

TEST_F(RelayAuthTest, ChallengesAreSingleUseAndBoundToTheirConnection) {
  start({"--registration", "open"});
  DeviceKey key;
  ASSERT_TRUE(connect()->hello_and_register(key, "alice"));

  // A signature captured on one connection does not open another.
  auto victim = connect();
  ASSERT_TRUE(victim->hello());
  v1::ClientFrame captured;
  captured.mutable_authenticate()->set_device_public_key(key.public_key());
  captured.mutable_authenticate()->set_signature(key.sign(victim->transcript()));
  auto attacker = connect();
  ASSERT_TRUE(attacker->hello());
  EXPECT_EQ(error_of(attacker->call(captured)), v1::AUTH_FAILED);

  // A failed attempt used up the attacker's challenge: replaying is refused as such.
  EXPECT_EQ(error_of(attacker->call(captured)), v1::CHALLENGE_USED);

  // On its own connection the signature works once; replaying it is refused.
  auto ok = victim->call(captured);
  ASSERT_TRUE(ok && ok->has_auth());
  EXPECT_EQ(error_of(victim->call(captured)), v1::ALREADY_AUTHENTICATED);

  auto fresh = connect();
  ASSERT_TRUE(fresh->hello());
  auto first = fresh->authenticate(key);
  ASSERT_TRUE(first && first->has_auth());
}

TEST_F(RelayAuthTest, HandlesFollowTheRulesAndLookAlikesCollide) {
  start({"--registration", "open"});
  DeviceKey a, b, c;
  ASSERT_TRUE(connect()->hello_and_register(a, "alice"));
  auto c2 = connect();
  ASSERT_TRUE(c2->hello());
  EXPECT_EQ(error_of(c2->register_device(b, "ALICE")), v1::HANDLE_TAKEN);
  c2->new_challenge();
  auto bad = c2->register_device(b, "a b");
  EXPECT_EQ(error_of(bad), v1::INVALID_HANDLE);
  EXPECT_NE(bad->error().message().find("spaces"), std::string::npos);
  c2->new_challenge();
  EXPECT_EQ(error_of(c2->register_device(a, "alicia")), v1::DEVICE_KEY_TAKEN);
}

TEST_F(RelayAuthTest, AdminFlagFromTheCommandLineAllowsCreatingCodesAndSettingTypes) {
  std::string data = dir_.path() + "/data";
  start({"--registration", "open"});
  DeviceKey admin_key, pro_key;
  ASSERT_TRUE(connect()->hello_and_register(admin_key, "admin"));
  ASSERT_TRUE(connect()->hello_and_register(pro_key, "docteur"));
  ASSERT_EQ(server_->terminate(), 0);
  int status = -1;
  run_admin(data, {"account", "set-admin", "admin", "on"}, &status);
  ASSERT_EQ(status, 0);
  start({"--registration", "open"});

  auto pro = connect();
  ASSERT_TRUE(pro->hello_and_authenticate(pro_key));
  v1::ClientFrame set_type;
  set_type.mutable_set_account_type()->set_handle("docteur");
  set_type.mutable_set_account_type()->set_type(v1::PROFESSIONAL);
  EXPECT_EQ(error_of(pro->call(set_type)), v1::FORBIDDEN);  // Not an admin.

  auto admin = connect();
  auto auth = admin->hello_and_authenticate(admin_key);
  ASSERT_TRUE(auth && auth->admin());
  auto r = admin->call(set_type);
  ASSERT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
  v1::ClientFrame make_code;
  make_code.mutable_create_registration_code()->set_ttl_hours(1);
  auto code = admin->call(make_code);
  ASSERT_TRUE(code && code->has_registration_code());
  EXPECT_EQ(code->registration_code().code().size(), 19u);

  v1::ClientFrame lookup;
  lookup.mutable_lookup_account()->set_handle("Docteur");
  auto found = pro->call(lookup);
  ASSERT_TRUE(found && found->has_account());
  EXPECT_EQ(found->account().type(), v1::PROFESSIONAL);  // Visible to everyone who sees it.
}

}  // namespace
}  // namespace cercle::testing
