// Contact links against the real server: a peer helper publishes /c/<token>; a visitor resolves it
// before having an account, registers through it without a code on an invite-code instance, and
// opens a direct conversation with the helper.
#include <gtest/gtest.h>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

class RelayContactLinksTest : public RelayFixture {
 protected:
  void SetUp() override {
    int status = -1;
    code_ = run_admin(data_dir(), {"code", "create"}, &status);
    ASSERT_EQ(status, 0);
    code_.pop_back();  // Newline.
    ASSERT_NO_FATAL_FAILURE(start_server({"--registration", "invite-code"}));
    ASSERT_NO_FATAL_FAILURE(register_device("Aidant-Paul", &helper_, code_));
  }

  std::optional<v1::Response> create_link(uint32_t hours = 0, std::string label = "site") {
    v1::ClientFrame f;
    f.mutable_create_contact_link()->set_label(std::move(label));
    f.mutable_create_contact_link()->set_expires_in_hours(hours);
    return helper_.ws->call(f);
  }

  static v1::ClientFrame resolve(const std::string& token) {
    v1::ClientFrame f;
    f.mutable_resolve_contact_link()->set_token(token);
    return f;
  }

  std::optional<v1::Response> register_through(WsClient& c, const DeviceKey& key,
                                               const std::string& handle,
                                               const std::string& token) {
    v1::ClientFrame f;
    auto* reg = f.mutable_register_();
    reg->set_handle(handle);
    reg->set_device_public_key(key.public_key());
    reg->set_signature(key.sign(c.transcript()));
    reg->set_contact_token(token);
    *reg->mutable_link() = device_first_link(handle, key.public_key(), secret_bytes(key.sk));
    return c.call(f);
  }

  // The helper publishes a last-resort key package so that a visitor can add it while it is
  // offline; `kp` gets it.
  void publish_key_package(std::string* kp) {
    *kp = helper_.mls->key_package();
    v1::ClientFrame upload;
    upload.mutable_upload_key_packages()->add_key_packages()->set_data(*kp);
    upload.mutable_upload_key_packages()->mutable_key_packages(0)->set_last_resort(true);
    auto uploaded = helper_.ws->call(upload);
    ASSERT_TRUE(uploaded && uploaded->has_upload_key_packages())
        << (uploaded ? uploaded->error().message() : "timeout");
  }

  // `visitor` opens the direct conversation with the helper and adds the helper's device with the
  // key package it fetched, which must be `helper_kp`; the helper joins from its Welcome.
  void open_direct_with_helper(TestDevice& visitor, const std::string& helper_kp,
                               std::string* conv_id) {
    v1::ClientFrame fetch;
    fetch.mutable_fetch_key_packages()->set_handle("aidant-paul");
    auto kps = visitor.ws->call(fetch);
    ASSERT_TRUE(kps && kps->has_fetch_key_packages());
    ASSERT_EQ(kps->fetch_key_packages().key_packages_size(), 1);
    const std::string fetched = kps->fetch_key_packages().key_packages(0).data();
    EXPECT_EQ(fetched, helper_kp);
    v1::ClientFrame direct;
    direct.mutable_create_conversation()->set_kind(v1::DIRECT);
    direct.mutable_create_conversation()->set_peer_handle("Aidant-Paul");
    auto conv = visitor.ws->call(direct);
    ASSERT_TRUE(conv && conv->has_conversation());
    *conv_id = conv->conversation().conversation_id();
    visitor.mls->create(*conv_id);
    BuiltCommit adding;
    ASSERT_NO_FATAL_FAILURE(build_commit(visitor, *conv_id, 0, {&helper_}, {}, &adding, {fetched}));
    auto commit = visitor.ws->call(adding.frame);
    ASSERT_TRUE(commit && commit->has_commit()) << (commit ? commit->error().message() : "timeout");
    accepted(visitor, *conv_id, adding);
    auto welcome = helper_.ws->next_delivery();
    ASSERT_TRUE(welcome);
    EXPECT_EQ(welcome->kind(), v1::WELCOME);
    EXPECT_EQ(welcome->conversation_id(), *conv_id);
    ASSERT_NO_FATAL_FAILURE(join(helper_, *conv_id, welcome->payload()));
  }

  // Registers `handle` with a new code from the command line.
  void register_through_code(const std::string& handle, TestDevice* d) {
    int status = -1;
    std::string code = run_admin(data_dir(), {"code", "create"}, &status);
    ASSERT_EQ(status, 0);
    code.pop_back();  // Newline.
    ASSERT_NO_FATAL_FAILURE(register_device(handle, d, code));
  }

  std::string code_;
  TestDevice helper_;
};

TEST_F(RelayContactLinksTest, AVisitorReachesTheHelperThroughALinkWithoutACode) {
  auto link = create_link();
  ASSERT_TRUE(link && link->has_contact_link()) << (link ? link->error().message() : "timeout");
  const std::string token = link->contact_link().token();
  EXPECT_EQ(token.size(), 22u);
  std::string helper_kp;
  ASSERT_NO_FATAL_FAILURE(publish_key_package(&helper_kp));

  auto visitor = connect();
  ASSERT_TRUE(visitor->hello());
  EXPECT_TRUE(visitor->hello_result().contact_link_registration());
  // Before having an account, the page can say whom the link leads to.
  auto who = visitor->call(resolve(token));
  ASSERT_TRUE(who && who->has_contact_link()) << (who ? who->error().message() : "timeout");
  EXPECT_EQ(who->contact_link().owner().handle(), "Aidant-Paul");
  EXPECT_TRUE(who->contact_link().label().empty());
  // Other requests still need an account.
  EXPECT_EQ(error_of(visitor->call(create_group_frame())), v1::NOT_AUTHENTICATED);

  TestDevice camille;
  auto reg = register_through(*visitor, camille.key, "Camille", token);
  ASSERT_TRUE(reg && reg->has_auth()) << (reg ? reg->error().message() : "timeout");
  camille.ws = std::move(visitor);
  authenticated(&camille, reg->auth());
  std::string conv_id;
  ASSERT_NO_FATAL_FAILURE(open_direct_with_helper(camille, helper_kp, &conv_id));

  // The first message, end to end encrypted: the relay carries it as it is.
  const std::string bonjour = camille.mls->encrypt(conv_id, "bonjour");
  auto sent = camille.ws->call(send_frame(conv_id, 1, bonjour));
  ASSERT_TRUE(sent && sent->has_send());
  auto got = helper_.ws->next_delivery();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->payload(), bonjour);
  EXPECT_EQ(helper_.mls->decrypt(conv_id, got->payload()), "bonjour");

  // The helper sees how many accounts came through the link.
  v1::ClientFrame list;
  list.mutable_list_contact_links();
  auto links = helper_.ws->call(list);
  ASSERT_TRUE(links && links->has_contact_links());
  ASSERT_EQ(links->contact_links().links_size(), 1);
  EXPECT_EQ(links->contact_links().links(0).registrations(), 1u);
  EXPECT_EQ(links->contact_links().links(0).label(), "site");
}

TEST_F(RelayContactLinksTest, RevokedOrUnknownLinksNeitherResolveNorRegister) {
  auto link = create_link();
  ASSERT_TRUE(link && link->has_contact_link());
  const std::string token = link->contact_link().token();
  v1::ClientFrame revoke;
  revoke.mutable_revoke_contact_link()->set_token(token);

  // Only the owner revokes.
  auto other = connect();
  DeviceKey other_key;
  ASSERT_TRUE(other->hello());
  ASSERT_TRUE(register_through(*other, other_key, "visiteur", token)->has_auth());
  EXPECT_EQ(error_of(other->call(revoke)), v1::NOT_FOUND);
  ASSERT_TRUE(helper_.ws->call(revoke)->has_done());

  auto visitor = connect();
  ASSERT_TRUE(visitor->hello());
  EXPECT_EQ(error_of(visitor->call(resolve(token))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(visitor->call(resolve("nonexistent-token-xxxxx"))), v1::NOT_FOUND);
  DeviceKey key;
  EXPECT_EQ(error_of(register_through(*visitor, key, "Dominique", token)),
            v1::REGISTRATION_CODE_INVALID);
  // Without a link or a code, an invite-code instance refuses.
  visitor->new_challenge();
  EXPECT_EQ(error_of(visitor->register_device(key, "Dominique")), v1::REGISTRATION_CODE_REQUIRED);
}

TEST_F(RelayContactLinksTest, RegistrationsThroughOneLinkAreRateLimited) {
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(
      start_server({"--registration", "invite-code", "--config",
                    write_config("[limits]\ncontact_link_registrations_per_hour = 2\n")}));
  helper_.ws = connect();
  ASSERT_TRUE(helper_.ws->hello_and_authenticate(helper_.key));
  auto link = create_link();
  ASSERT_TRUE(link && link->has_contact_link());
  for (int i = 0; i < 3; ++i) {
    auto c = connect();
    DeviceKey key;
    ASSERT_TRUE(c->hello());
    auto r =
        register_through(*c, key, "visiteur" + std::to_string(i), link->contact_link().token());
    if (i < 2) {
      EXPECT_TRUE(r && r->has_auth());
    } else {
      ASSERT_EQ(error_of(r), v1::RATE_LIMITED);
      EXPECT_GT(r->error().retry_after_ms(), 0u);
    }
  }
}

TEST_F(RelayContactLinksTest, AnInstanceCanTurnLinkRegistrationOff) {
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(
      start_server({"--registration", "invite-code", "--config",
                    write_config("[server]\ncontact_link_registration = false\n")}));
  helper_.ws = connect();
  ASSERT_TRUE(helper_.ws->hello_and_authenticate(helper_.key));
  auto link = create_link();
  ASSERT_TRUE(link && link->has_contact_link());
  auto visitor = connect();
  ASSERT_TRUE(visitor->hello());
  EXPECT_FALSE(visitor->hello_result().contact_link_registration());
  DeviceKey key;
  EXPECT_EQ(error_of(register_through(*visitor, key, "Dominique", link->contact_link().token())),
            v1::REGISTRATION_CODE_REQUIRED);
}

TEST_F(RelayContactLinksTest, ThePresentationIsShownToVisitorsAndBounded) {
  const std::string words = "Je suis pair-aidant depuis 2019. Je réponds le soir.";
  v1::ClientFrame f;
  f.mutable_create_contact_link()->set_label("site");
  f.mutable_create_contact_link()->set_presentation(words);
  auto link = helper_.ws->call(f);
  ASSERT_TRUE(link && link->has_contact_link()) << (link ? link->error().message() : "timeout");
  EXPECT_EQ(link->contact_link().presentation(), words);
  const std::string token = link->contact_link().token();

  f.mutable_create_contact_link()->set_presentation(std::string(501, 'x'));
  EXPECT_EQ(error_of(helper_.ws->call(f)), v1::INVALID_ARGUMENT);

  // Kept across a restart: the visitor's page and the owner's list both show it.
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&helper_));
  auto visitor = connect();
  ASSERT_TRUE(visitor->hello());
  auto who = visitor->call(resolve(token));
  ASSERT_TRUE(who && who->has_contact_link()) << (who ? who->error().message() : "timeout");
  EXPECT_EQ(who->contact_link().presentation(), words);
  v1::ClientFrame list;
  list.mutable_list_contact_links();
  auto links = helper_.ws->call(list);
  ASSERT_TRUE(links && links->has_contact_links());
  ASSERT_EQ(links->contact_links().links_size(), 1);  // The refused one was not made.
  EXPECT_EQ(links->contact_links().links(0).presentation(), words);
}

TEST_F(RelayContactLinksTest, AProfessionalCannotMakeAContactLink) {
  TestDevice doctor;
  ASSERT_NO_FATAL_FAILURE(register_through_code("dr_martin", &doctor));
  int status = -1;
  run_admin(data_dir(), {"account", "set-type", "dr_martin", "professional"}, &status);
  ASSERT_EQ(status, 0);
  v1::ClientFrame f;
  f.mutable_create_contact_link()->set_label("cabinet");
  EXPECT_EQ(error_of(doctor.ws->call(f)), v1::FORBIDDEN);
  v1::ClientFrame list;
  list.mutable_list_contact_links();
  auto links = doctor.ws->call(list);
  ASSERT_TRUE(links && links->has_contact_links());
  EXPECT_EQ(links->contact_links().links_size(), 0);
}

TEST_F(RelayContactLinksTest, AnAccountMadeProfessionalLosesItsLinks) {
  auto link = create_link();
  ASSERT_TRUE(link && link->has_contact_link());
  const std::string token = link->contact_link().token();
  auto visitor = connect();
  ASSERT_TRUE(visitor->hello());
  ASSERT_TRUE(visitor->call(resolve(token))->has_contact_link());

  int status = -1;
  run_admin(data_dir(), {"account", "set-type", "Aidant-Paul", "professional"}, &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(error_of(visitor->call(resolve(token))), v1::NOT_FOUND);
  DeviceKey key;
  EXPECT_EQ(error_of(register_through(*visitor, key, "Dominique", token)),
            v1::REGISTRATION_CODE_INVALID);
  v1::ClientFrame list;
  list.mutable_list_contact_links();
  auto links = helper_.ws->call(list);
  ASSERT_TRUE(links && links->has_contact_links());
  ASSERT_EQ(links->contact_links().links_size(), 1);
  EXPECT_TRUE(links->contact_links().links(0).revoked());

  // Made a peer again, the account may make new links; the ended one stays ended.
  run_admin(data_dir(), {"account", "set-type", "Aidant-Paul", "peer"}, &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(error_of(visitor->call(resolve(token))), v1::NOT_FOUND);
  EXPECT_TRUE(create_link()->has_contact_link());
}

}  // namespace
}  // namespace cercle::testing
