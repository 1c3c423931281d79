// ContactLinks: an account keeps only its newest ended links, and the ones it forgets leave the
// disk too, whichever change noticed that they ended: a revocation, a new link, a refused new link,
// or the periodic sweep.
#include <set>

#include "server/domain/domain_fixture.h"

namespace cercle::domain {
namespace {

class ContactLinksTest : public DomainTest {
 protected:
  void SetUp() override {
    DomainTest::SetUp();
    config_.max_contact_links = 3;
    restart();
    ASSERT_TRUE(register_device(helper_, "aidant").ok());
  }

  // Makes a link (expiring in `hours`, 0: never); one second apart, so that they are ordered.
  std::string create(int64_t hours) {
    clock_.advance_ms(1000);
    auto link = await<ContactLinkView>([&](auto cb) {
      domain_->contact_links().create(helper_.info.device_id, "", hours * kHourMs, cb);
    });
    EXPECT_TRUE(link.ok()) << (link.ok() ? "" : link.error().message);
    return link.ok() ? link->token : "";
  }

  Status revoke(const std::string& token) {
    return await<Ok>(
        [&](auto cb) { domain_->contact_links().revoke(helper_.info.device_id, token, cb); });
  }

  // The tokens of every contact-link record in the store.
  std::set<std::string> on_disk() {
    std::set<std::string> tokens;
    EXPECT_TRUE(
        store_
            ->scan_contact_links([&](std::string_view token, const storage::ContactLinkRecord&) {
              tokens.emplace(token);
            })
            .ok());
    return tokens;
  }

  // The tokens the helper lists (after a restart: what was loaded from the disk).
  std::set<std::string> listed() {
    std::set<std::string> tokens;
    for (const auto& l : domain_->contact_links().list(helper_.info.device_id)) {
      tokens.insert(l.token);
    }
    return tokens;
  }

  static constexpr int64_t kHourMs = 3'600'000;
  Device helper_;
};

TEST_F(ContactLinksTest, ForgottenEndedLinksAreDeletedFromTheDisk) {
  std::vector<std::string> t;
  for (int i = 0; i < 6; ++i) {
    t.push_back(create(0));
    ASSERT_TRUE(revoke(t.back()).ok());
  }
  // The sixth revocation forgot the oldest, and deleted its record in the same write.
  EXPECT_EQ(on_disk(), (std::set<std::string>{t[1], t[2], t[3], t[4], t[5]}));
  EXPECT_EQ(revoke(t[0]).error().code, Errc::kNotFound);

  // A new link notices one that expired, and deletes the oldest ended one with its own record.
  const std::string a = create(1);
  clock_.advance_ms(2 * kHourMs);
  const std::string b = create(0);
  EXPECT_EQ(on_disk(), (std::set<std::string>{t[2], t[3], t[4], t[5], a, b}));

  // Refused for the limit (a lower one after a restart), a new link still deletes what it forgot.
  const std::string c = create(0);
  const std::string d = create(1);
  config_.max_contact_links = 2;
  restart();
  clock_.advance_ms(2 * kHourMs);  // d ended: six ended links, b and c active.
  auto refused = await<ContactLinkView>(
      [&](auto cb) { domain_->contact_links().create(helper_.info.device_id, "", 0, cb); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kLimitReached);
  restart();  // Writes what nobody waited for.
  EXPECT_EQ(on_disk(), (std::set<std::string>{t[3], t[4], t[5], a, b, c, d}));

  // The sweep (start-up and periodic) deletes as it forgets.
  ASSERT_TRUE(revoke(c).ok());  // Forgets t[3] at once.
  const std::string e = create(1);
  clock_.advance_ms(2 * kHourMs);
  EXPECT_EQ(domain_->contact_links().forget_ended(), 1u);
  restart();
  const std::set<std::string> kept{t[5], a, c, d, e, b};
  EXPECT_EQ(on_disk(), kept);
  EXPECT_EQ(listed(), kept);
}

TEST_F(ContactLinksTest, AProfessionalHasNoLinksAndMakesNone) {
  const std::string kept = create(0);
  const std::string revoked = create(0);
  ASSERT_TRUE(revoke(revoked).ok());
  ASSERT_TRUE(domain_->contact_links().resolve(kept).ok());
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->identity().set_account_type(0, "aidant", AccountType::kProfessional, cb);
              }).ok());

  // The change that made it a professional ended its working link, on disk too.
  for (bool after_restart : {false, true}) {
    if (after_restart) restart();
    EXPECT_EQ(domain_->contact_links().resolve(kept).error().code, Errc::kNotFound);
    EXPECT_EQ(domain_->contact_links().check_registration(kept).error().code,
              Errc::kRegistrationCodeInvalid);
    const auto links = domain_->contact_links().list(helper_.info.device_id);
    ASSERT_EQ(links.size(), 2u);
    EXPECT_TRUE(links[0].revoked && links[1].revoked);
  }
  auto refused = await<ContactLinkView>(
      [&](auto cb) { domain_->contact_links().create(helper_.info.device_id, "", 0, cb); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kForbidden);
  EXPECT_EQ(on_disk().size(), 2u);
}

TEST_F(ContactLinksTest, ThePresentationIsKeptWithTheLinkAndBounded) {
  const std::string words = "Bonjour, je suis Paul. J'ai traversé une dépression, je vous écoute.";
  auto link = await<ContactLinkView>([&](auto cb) {
    domain_->contact_links().create(helper_.info.device_id, "site", 0, words, cb);
  });
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->presentation, words);
  restart();
  auto resolved = domain_->contact_links().resolve(link->token);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->presentation, words);
  EXPECT_EQ(domain_->contact_links().list(helper_.info.device_id).at(0).presentation, words);

  auto at_limit = await<ContactLinkView>([&](auto cb) {
    domain_->contact_links().create(helper_.info.device_id, "", 0, std::string(500, 'x'), cb);
  });
  EXPECT_TRUE(at_limit.ok());
  auto over = await<ContactLinkView>([&](auto cb) {
    domain_->contact_links().create(helper_.info.device_id, "", 0, std::string(501, 'x'), cb);
  });
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(on_disk().size(), 2u);
}

}  // namespace
}  // namespace cercle::domain
