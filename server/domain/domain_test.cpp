#include "server/domain/domain_fixture.h"

namespace cercle::domain {
namespace {

TEST_F(DomainTest, RegisterThenAuthenticateAndLookUp) {
  Device d;
  auto reg = register_device(d, "Éloïse");
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  EXPECT_EQ(reg->handle, "Éloïse");
  EXPECT_EQ(reg->type, AccountType::kPeer);

  const std::string t = transcript("another");
  auto auth = domain_->identity().authenticate(d.public_key(), d.sign(t), t);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->device_id, reg->device_id);

  auto found = domain_->identity().lookup("ÉLOÏSE");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, reg->account_id);
  ASSERT_EQ(found->devices.size(), 1u);
}

TEST_F(DomainTest, ForgedSignaturesAndUnknownKeysFailAlike) {
  Device d, other;
  ASSERT_TRUE(register_device(d, "alice").ok());
  const std::string t = transcript("c1");
  auto forged = domain_->identity().authenticate(d.public_key(), other.sign(t), t);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, Errc::kAuthFailed);
  auto unknown = domain_->identity().authenticate(other.public_key(), other.sign(t), t);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::kAuthFailed);
  auto wrong_transcript =
      domain_->identity().authenticate(d.public_key(), d.sign(t), transcript("c2"));
  EXPECT_FALSE(wrong_transcript.ok());
}

TEST_F(DomainTest, HandlesAreUniqueAcrossLookAlikes) {
  Device a, b, c;
  ASSERT_TRUE(register_device(a, "alice").ok());
  auto taken = register_device(b, "ALICE");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, Errc::kHandleTaken);
  auto same_key = register_device(a, "alice2");
  ASSERT_FALSE(same_key.ok());
  EXPECT_EQ(same_key.error().code, Errc::kDeviceKeyTaken);
  EXPECT_TRUE(register_device(c, "alicia").ok());
}

TEST_F(DomainTest, InviteCodesAreSingleUseAndExpire) {
  config_.registration = RegistrationPolicy::kInviteCode;
  restart();
  Device a, b, c, d;
  auto none = register_device(a, "alice");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::kRegistrationCodeRequired);

  auto code = await<RegistrationCode>(
      [&](auto cb) { domain_->identity().create_registration_code(0, 3'600'000, cb); });
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(code->code.size(), 19u);  // XXXX-XXXX-XXXX-XXXX
  // Forged registrations do not burn the code.
  const std::string t = transcript("x");
  auto forged = await<AuthInfo>([&](auto cb) {
    const auto link = first_link(b, "mallory");
    domain_->identity().register_account("mallory", b.public_key(), a.sign(t), t, {code->code, ""},
                                         &link, cb);
  });
  EXPECT_EQ(forged.error().code, Errc::kAuthFailed);

  std::string typed = code->code;  // Typed by hand: lower case, no dashes.
  std::erase(typed, '-');
  for (char& ch : typed) ch = static_cast<char>(std::tolower(ch));
  ASSERT_TRUE(register_device(a, "alice", typed).ok());
  auto reused = register_device(b, "bob", code->code);
  EXPECT_EQ(reused.error().code, Errc::kRegistrationCodeInvalid);

  auto short_lived = await<RegistrationCode>(
      [&](auto cb) { domain_->identity().create_registration_code(0, 1000, cb); });
  clock_.advance_ms(1001);
  EXPECT_EQ(register_device(c, "carol", short_lived->code).error().code,
            Errc::kRegistrationCodeInvalid);

  // Only admins create codes over the wire.
  auto not_admin = await<RegistrationCode>(
      [&](auto cb) { domain_->identity().create_registration_code(a.info.device_id, 0, cb); });
  EXPECT_EQ(not_admin.error().code, Errc::kForbidden);
  ASSERT_TRUE(await<Ok>([&](auto cb) { domain_->identity().set_admin("alice", true, cb); }).ok());
  auto by_admin = await<RegistrationCode>(
      [&](auto cb) { domain_->identity().create_registration_code(a.info.device_id, 0, cb); });
  ASSERT_TRUE(by_admin.ok());
  restart();  // The used code stays used after a restart.
  EXPECT_EQ(register_device(d, "dave", code->code).error().code, Errc::kRegistrationCodeInvalid);
  EXPECT_TRUE(register_device(d, "dave", by_admin->code).ok());
}

TEST_F(DomainTest, KeyPackagesAreHandedOutOnceExceptLastResort) {
  Device alice, bob;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(bob, "bob").ok());
  const std::string kp1 = bob.mls->key_package(), kp2 = bob.mls->key_package();
  const std::string last = bob.mls->key_package();
  auto up = upload(bob, {{kp1, false}, {kp2, false}, {last, true}});
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ(*up, 2u);

  EXPECT_EQ(upload(bob, {{kp1, false}}).error().code, Errc::kDuplicateKeyPackage);
  auto over = upload(bob, {{bob.mls->key_package(), false},
                           {bob.mls->key_package(), false},
                           {bob.mls->key_package(), false}});
  EXPECT_EQ(over.error().code, Errc::kKeyPackageLimit);

  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) {
    auto f = await<FetchedKeyPackages>(
        [&](auto cb) { domain_->key_packages().fetch(alice.info.device_id, "bob", cb); });
    ASSERT_TRUE(f.ok());
    ASSERT_EQ(f->packages.size(), 1u);
    got.push_back(f->packages[0].data);
    if (i == 1) restart();  // Taken packages stay taken across a restart.
  }
  EXPECT_EQ(got, (std::vector<std::string>{kp1, kp2, last, last}));
  EXPECT_EQ(domain_->key_packages().count(bob.info.device_id).stored, 0u);
  // A package handed out cannot come back, even after a restart.
  EXPECT_EQ(upload(bob, {{kp1, false}}).error().code, Errc::kDuplicateKeyPackage);
}

TEST_F(DomainTest, KeyPackagesMustBeRealAndBoundToTheirDevice) {
  Device alice, bob;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(bob, "bob").ok());
  auto garbage = upload(bob, {{"not a key package", false}});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, Errc::kInvalidArgument);

  // The credential must be the account's handle.
  testing::MlsMember impostor("alice", bob.sk);
  auto wrong_name = upload(bob, {{impostor.key_package(), false}});
  ASSERT_FALSE(wrong_name.ok());
  EXPECT_NE(wrong_name.error().message.find("handle"), std::string::npos);

  // A signature key one device uses cannot be claimed by another: a device's packages are signed
  // with the MLS key its chain link names, and no link may name a key another device has.
  ASSERT_TRUE(upload(bob, {{bob.mls->key_package(), false}}).ok());
  Device carol;
  ASSERT_TRUE(register_device(carol, "carol").ok());
  testing::MlsMember carol_with_bobs_key("carol", bob.sk);
  auto stolen = upload(carol, {{carol_with_bobs_key.key_package(), false}});
  ASSERT_FALSE(stolen.ok());
  EXPECT_EQ(stolen.error().code, Errc::kForbidden);
  EXPECT_NE(stolen.error().message.find("not this device's MLS key"), std::string::npos);
  Device dave;
  const std::string dave_secret = testing::secret_bytes(dave.sk, sizeof dave.sk);
  const auto claims_bobs_key = testing::device_add_link({}, "dave", dave_secret, dave.public_key(),
                                                        dave_secret, bob.public_key());
  const std::string t = transcript("d");
  auto taken = await<AuthInfo>([&](auto cb) {
    domain_->identity().register_account("dave", dave.public_key(), dave.sign(t), t, {"", ""},
                                         &claims_bobs_key, cb);
  });
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, Errc::kDeviceKeyTaken);
}

TEST_F(DomainTest, ContactLinksLetVisitorsRegisterWithoutACodeUntilRevoked) {
  config_.registration = RegistrationPolicy::kInviteCode;
  config_.contact_link_registrations_per_hour = 2;
  config_.max_contact_links = 2;
  restart();
  auto code = await<RegistrationCode>(
      [&](auto cb) { domain_->identity().create_registration_code(0, 0, cb); });
  Device helper, v1, v2, v3, v4;
  ASSERT_TRUE(register_device(helper, "aidant", code->code).ok());
  auto link = await<ContactLinkView>([&](auto cb) {
    domain_->contact_links().create(helper.info.device_id, "site", 3'600'000, cb);
  });
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->token.size(), 22u);

  auto resolved = domain_->contact_links().resolve(link->token);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->owner->handle, "aidant");
  EXPECT_TRUE(resolved->label.empty());  // The owner's note is not for visitors.

  ASSERT_TRUE(register_through_link(v1, "visiteur1", link->token).ok());
  ASSERT_TRUE(register_through_link(v2, "visiteur2", link->token).ok());
  auto limited = register_through_link(v3, "visiteur3", link->token);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code, Errc::kRateLimited);
  EXPECT_GT(limited.error().retry_after_ms, 0u);
  clock_.advance_ms(3'600'000);  // The link was made to last one hour.
  EXPECT_EQ(register_through_link(v3, "visiteur3", link->token).error().code,
            Errc::kRegistrationCodeInvalid);

  auto second = await<ContactLinkView>(
      [&](auto cb) { domain_->contact_links().create(helper.info.device_id, "", 0, cb); });
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(register_through_link(v3, "visiteur3", second->token).ok());
  EXPECT_EQ(domain_->contact_links().list(helper.info.device_id).size(), 2u);
  // Only the owner revokes.
  EXPECT_EQ(await<Ok>([&](auto cb) {
              domain_->contact_links().revoke(v1.info.device_id, second->token, cb);
            })
                .error()
                .code,
            Errc::kNotFound);
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->contact_links().revoke(helper.info.device_id, second->token, cb);
              }).ok());
  restart();  // Revocation and counts are durable.
  EXPECT_EQ(register_through_link(v4, "visiteur4", second->token).error().code,
            Errc::kRegistrationCodeInvalid);
  EXPECT_EQ(domain_->contact_links().resolve(second->token).error().code, Errc::kNotFound);
  auto links = domain_->contact_links().list(helper.info.device_id);
  ASSERT_EQ(links.size(), 2u);
  EXPECT_TRUE(links[0].revoked);
  EXPECT_EQ(links[0].registrations, 1u);
}

// Deletion is two-phase (account_deletion.cpp): the account stays as records while its device is a
// member of a group, and start-up accepts it so; once removed, only its handle's hash is kept.
TEST_F(DomainTest, ADeletedAccountIsKeptWhileInAGroupThenOnlyItsHandleRemains) {
  Device a, b, again;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  const ConvId conv = create_group(a).id;
  ASSERT_TRUE(commit(a, conv, 0, {&b}).ok());
  auto remove = [&](DeviceId actor, std::string handle) {
    return await<std::vector<DeviceId>>(
        [&](auto cb) { domain_->delete_account(actor, handle, cb); });
  };
  EXPECT_EQ(remove(b.info.device_id, "alice").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(remove(0, "nobody").error().code, Errc::kNotFound);
  auto deleted = remove(b.info.device_id, "Bob");
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(*deleted, std::vector<DeviceId>{b.info.device_id});
  EXPECT_EQ(domain_->accounts_deleted(), 1u);

  for (bool restarted : {false, true}) {
    if (restarted) restart();  // Loads the phase-1 account.
    const std::string t = transcript("after");
    EXPECT_EQ(domain_->identity().authenticate(b.public_key(), b.sign(t), t).error().code,
              Errc::kAuthFailed);
    EXPECT_EQ(domain_->identity().lookup("bob").error().code, Errc::kNotFound);
    EXPECT_EQ(register_device(again, "bob").error().code, Errc::kHandleTaken);
    EXPECT_EQ(domain_->purge_deleted_accounts(), 0u);  // Still a member.
    EXPECT_NE(domain_->identity().device(b.info.device_id), nullptr);
  }
  ASSERT_TRUE(commit(a, conv, 1, {}, {&b}).ok());  // The group goes on, and removes bob's leaf.
  EXPECT_EQ(domain_->purge_deleted_accounts(), 1u);
  restart();
  EXPECT_EQ(domain_->identity().accounts().accounts().size(), 1u);
  EXPECT_EQ(domain_->identity().accounts().devices().size(), 1u);
  EXPECT_EQ(register_device(again, "BOB").error().code, Errc::kHandleTaken);
  EXPECT_EQ(domain_->stats().accounts, 1u);
}

}  // namespace
}  // namespace cercle::domain
