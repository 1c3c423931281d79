// Reports to a group's own facilitators through the SDK (issue 13 item 2), with the real server: a
// report is sealed to the facilitator device's report key (its leaves' extension 0xF0A2) and
// signed inside by the reporter's leaf key; a report that the member it names did not sign (what a
// relay could seal in a member's name) or whose content was altered is never shown, and the relay
// forgets it all the same; one from a member the facilitator's device does not know yet waits for
// the log; a facilitator device from before report keys still opens its reports.
#include <gtest/gtest.h>

#include <sodium.h>

#include <algorithm>
#include <string>

#include "proto/policy.pb.h"
#include "tests/groups_fixture.h"

namespace cercle::testing {
namespace {

const std::string kLabel = std::string("cercle-report-v1") + '\0';

class ClientReportTest : public GroupsTest {
 protected:
  // `name`'s identity as its local store keeps it; its client is closed (the store is locked while
  // open): user(name) brings it back.
  client::local::Identity identity_of(const std::string& name) {
    users_.erase(name);
    auto store = client::LocalStore::open(options(name).data_dir, options(name).passphrase);
    EXPECT_TRUE(store.ok());
    client::local::Identity identity;
    if (!store.ok()) return identity;
    auto raw = (*store)->get("identity");
    EXPECT_TRUE(raw.ok() && *raw && identity.ParseFromString(**raw));
    return identity;
  }

  // What a reporter seals (the format the web client shares): SignedReportContent{content, the
  // Ed25519 signature of `signer_sk` over "cercle-report-v1" || 0x00 || content}.
  static std::string signed_report(const client::local::ReportContent& content,
                                   const std::string& signer_sk) {
    v1::SignedReportContent s;
    s.set_content(content.SerializeAsString());
    const std::string t = kLabel + s.content();
    std::string sig(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                         reinterpret_cast<const unsigned char*>(signer_sk.data()));
    s.set_signature(sig);
    return s.SerializeAsString();
  }

  static std::string report_public_key(const client::local::Identity& id) {
    std::string pk(crypto_box_PUBLICKEYBYTES, '\0');
    crypto_scalarmult_base(reinterpret_cast<unsigned char*>(pk.data()),
                           reinterpret_cast<const unsigned char*>(id.report_secret_key().data()));
    return pk;
  }

  static std::string seal(const std::string& plain, const std::string& x25519_pk) {
    std::string sealed(plain.size() + crypto_box_SEALBYTES, '\0');
    crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data()),
                    reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                    reinterpret_cast<const unsigned char*>(x25519_pk.data()));
    return sealed;
  }

  // Sends `sealed` to `to`'s device as a report from the raw connection `from`.
  static void send_report(WsClient& from, const std::string& conv_hex, uint64_t to_device,
                          const std::string& sealed) {
    v1::ClientFrame f;
    auto* req = f.mutable_report_to_facilitators();
    req->set_conversation_id(raw_conv(conv_hex));
    auto* one = req->add_reports();
    one->set_device_id(to_device);
    one->set_sealed(sealed);
    auto r = from.call(f);
    ASSERT_TRUE(r && !r->has_error()) << (r ? r->error().message() : "timeout");
  }

  int count(const std::string& name, Event::Kind kind, const std::string& text) {
    return static_cast<int>(
        std::count_if(seen_[name].begin(), seen_[name].end(), [&](const Event& e) {
          return e.kind == kind &&
                 (kind == Event::Kind::kReport ? e.report.text == text : e.detail == text);
        }));
  }

  client::local::ReportContent content(const std::string& conv, uint64_t seq,
                                       const std::string& text, const std::string& reporter) {
    client::local::ReportContent c;
    c.set_conversation_id(raw_conv(conv));
    c.set_seq(seq);
    c.set_text(text);
    c.set_reason("propos blessants");
    c.set_reporter(reporter);
    return c;
  }
};

// lou's client seals her report to camille's report key (not her device key) and signs it with
// her leaf key, in the exact bytes the web client reads; camille's client shows it.
TEST_F(ClientReportTest, AReportIsSealedToTheReportKeyAndSignedByTheReporter) {
  user("camille");
  user("sam");
  user("lou");
  const std::string conv = group("camille", {"sam", "lou"});
  auto seq = users_["sam"]->send_text(conv, "un message déplacé");
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(until([&] { return sees("lou", conv, "un message déplacé"); }));
  const auto lou = identity_of("lou");
  user("lou");
  const auto camille = identity_of("camille");
  ASSERT_EQ(camille.report_secret_key().size(), 32u);
  ASSERT_TRUE(users_["lou"]->report(conv, *seq, "propos blessants").ok());

  auto raw = raw_device("camille");  // Gets what waits for the device: the sealed report.
  ASSERT_TRUE(raw);
  auto event = raw->next_event();
  for (int i = 0; i < 5 && event && !event->has_report_received(); ++i) event = raw->next_event();
  ASSERT_TRUE(event && event->has_report_received());
  const std::string& sealed = event->report_received().sealed();
  EXPECT_EQ(event->report_received().reporter(), "lou");
  ASSERT_GT(sealed.size(), crypto_box_SEALBYTES);
  std::string plain(sealed.size() - crypto_box_SEALBYTES, '\0');
  const std::string pk = report_public_key(camille);
  ASSERT_EQ(crypto_box_seal_open(
                reinterpret_cast<unsigned char*>(plain.data()),
                reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
                reinterpret_cast<const unsigned char*>(pk.data()),
                reinterpret_cast<const unsigned char*>(camille.report_secret_key().data())),
            0);
  v1::SignedReportContent s;
  client::local::ReportContent c;
  ASSERT_TRUE(s.ParseFromString(plain) && c.ParseFromString(s.content()));
  EXPECT_EQ(c.conversation_id(), raw_conv(conv));
  EXPECT_EQ(c.seq(), *seq);
  EXPECT_EQ(c.text(), "un message déplacé");
  EXPECT_EQ(c.reason(), "propos blessants");
  EXPECT_EQ(c.reporter(), "lou");
  const std::string t = kLabel + s.content();
  ASSERT_EQ(s.signature().size(), crypto_sign_BYTES);
  EXPECT_EQ(crypto_sign_verify_detached(
                reinterpret_cast<const unsigned char*>(s.signature().data()),
                reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                reinterpret_cast<const unsigned char*>(lou.device_secret_key().data()) + 32),
            0);
  raw.reset();
  user("camille");  // Not acknowledged by the raw device: her client gets it again and shows it.
  EXPECT_TRUE(
      until([&] { return count("camille", Event::Kind::kReport, "un message déplacé") == 1; }));
}

// sam's device sends camille what a lying relay could seal in sam's name: a report signed by
// another member's key (lou's), and one of sam's own reports with its content altered. Neither is
// shown; a report sam really signed, sent last, is. Both are acknowledged: after a restart only
// new reports come.
TEST_F(ClientReportTest, AReportNotSignedByTheMemberItNamesIsDropped) {
  user("camille");
  user("sam");
  user("lou");
  const std::string conv = group("camille", {"sam", "lou"});
  auto seq = users_["lou"]->send_text(conv, "un message");
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(until([&] { return sees("sam", conv, "un message"); }));
  const auto camille = identity_of("camille");
  user("camille");
  const auto lou = identity_of("lou");
  user("lou");
  const auto sam = identity_of("sam");
  auto raw = raw_device("sam");
  ASSERT_TRUE(raw);
  const std::string pk = report_public_key(camille);
  const uint64_t to = camille.device_id();

  send_report(*raw, conv, to,
              seal(signed_report(content(conv, *seq, "faux", "sam"), lou.device_secret_key()), pk));
  v1::SignedReportContent altered;
  ASSERT_TRUE(altered.ParseFromString(
      signed_report(content(conv, *seq, "vrai", "sam"), sam.device_secret_key())));
  altered.set_content(content(conv, *seq, "modifié", "sam").SerializeAsString());
  send_report(*raw, conv, to, seal(altered.SerializeAsString(), pk));
  send_report(
      *raw, conv, to,
      seal(signed_report(content(conv, *seq, "signé", "sam"), sam.device_secret_key()), pk));
  ASSERT_TRUE(until([&] { return count("camille", Event::Kind::kReport, "signé") == 1; }));
  const std::string dropped(client::kReportDropped);
  EXPECT_EQ(count("camille", Event::Kind::kWarning, dropped), 2);
  EXPECT_EQ(count("camille", Event::Kind::kReport, "faux"), 0);
  EXPECT_EQ(count("camille", Event::Kind::kReport, "modifié"), 0);
  EXPECT_EQ(count("camille", Event::Kind::kReport, "vrai"), 0);

  users_.erase("camille");
  user("camille");
  send_report(
      *raw, conv, to,
      seal(signed_report(content(conv, *seq, "encore", "sam"), sam.device_secret_key()), pk));
  ASSERT_TRUE(until([&] { return count("camille", Event::Kind::kReport, "encore") == 1; }));
  EXPECT_EQ(count("camille", Event::Kind::kWarning, dropped), 2);
  EXPECT_EQ(count("camille", Event::Kind::kReport, "signé"), 1);
}

// camille is offline while alex adds nina, behind a long stretch of messages, and nina reports one:
// the relay hands camille's device the report before the log that adds nina. Her client keeps it
// until its tree shows nina's leaf, then checks it and shows it.
TEST_F(ClientReportTest, AReportFromAMemberNotYetInTheTreeWaitsForTheLog) {
  user("camille");
  user("alex");
  user("sam");
  user("nina");
  const std::string conv = group("camille", {"alex", "sam"});
  ASSERT_TRUE(users_["camille"]->set_role(conv, "alex", Role::kFacilitator).ok());
  ASSERT_TRUE(until([&] { return same_epoch(conv, {"camille", "alex", "sam"}); }));
  users_.erase("camille");
  const std::string filler(150 * 1024, 'x');
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(users_["sam"]->send_text(conv, filler).ok()) << i;
  ASSERT_TRUE(users_["alex"]->add_member(conv, "nina").ok());
  auto seq = users_["sam"]->send_text(conv, "un message déplacé");
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(until([&] { return sees("nina", conv, "un message déplacé"); }));
  ASSERT_TRUE(users_["nina"]->report(conv, *seq, "propos blessants").ok());
  user("camille");
  EXPECT_TRUE(
      until([&] { return count("camille", Event::Kind::kReport, "un message déplacé") == 1; }));
  EXPECT_EQ(count("camille", Event::Kind::kWarning, std::string(client::kReportDropped)), 0);
}

// alex's store was made before report keys: the device publishes none, members seal its reports to
// the X25519 form of its device key, and it opens them.
TEST_F(ClientReportTest, AFacilitatorDeviceWithoutAReportKeyStillOpensReports) {
  user("alex");
  {
    auto id = identity_of("alex");
    id.clear_report_secret_key();
    auto store = client::LocalStore::open(options("alex").data_dir, options("alex").passphrase);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put("identity", id.SerializeAsString()).ok());
  }
  user("alex");
  user("sam");
  user("lou");
  const std::string conv = group("alex", {"sam", "lou"});
  auto seq = users_["sam"]->send_text(conv, "un message déplacé");
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(until([&] { return sees("lou", conv, "un message déplacé"); }));
  ASSERT_TRUE(users_["lou"]->report(conv, *seq, "propos blessants").ok());
  EXPECT_TRUE(
      until([&] { return count("alex", Event::Kind::kReport, "un message déplacé") == 1; }));
  EXPECT_TRUE(identity_of("alex").report_secret_key().empty());  // Not made behind its back.
}

}  // namespace
}  // namespace cercle::testing
