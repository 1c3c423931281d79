// A tampered server is caught by every honest client.
//
// The group rules (only facilitators add people; a professional joins only with a facilitator's
// invitation carried in the commit) are enforced by the relay, but the product promises more: even
// a compromised server cannot make honest members accept someone the group did not admit
// (docs/ARCHITECTURE.md, threat model). Each client checks every commit against the rules before
// applying it. These tests prove that promise end to end with SDK clients and the real server.
//
// The compromised server is a test double, TamperingRelay (testing/tamper_proxy.h): the
// clients connect to it and it forwards everything to the real cercle-server. When the attacker
// sends a commit that breaks the rules, the real server refuses it (FORBIDDEN), but the double also
// delivers it to every other member as an accepted COMMIT entry, and from then on renumbers each
// victim's log so that it stays consistent (no gap, no duplicate), as a server that really had
// accepted the commit would show it. Each honest member must refuse the commit with a warning, stay
// on its epoch with the same group state (epoch authenticator, members), and keep working with the
// others through the real server afterwards.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "client/sdk/client.h"
#include "proto/cercle.pb.h"
#include "testing/client_view.h"
#include "testing/server_process.h"
#include "testing/tamper_proxy.h"
#include "tests/sdk_round_trip.h"

namespace cercle::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;
using client::Event;
using client::Role;

constexpr std::string_view kRefusal =
    "a change to the group was refused because it breaks the group's rules";

// Receives `n` messages of `conv`; any other change to the group on the way is a failure (the
// refusal was the one warning the tampering deserved).
std::vector<std::string> receive(Client& c, const std::string& conv, size_t n) {
  std::vector<std::string> texts;
  std::vector<Event> events;
  const auto enough = [&] {
    for (const auto& e : events) {
      if (e.conversation != conv) continue;
      if (e.kind == Event::Kind::kMessage) texts.push_back(e.message.text);
      if (e.kind == Event::Kind::kWarning || e.kind == Event::Kind::kMembersChanged) {
        ADD_FAILURE() << c.handle() << ": unexpected event, " << e.detail;
      }
    }
    events.clear();
    return texts.size() >= n;
  };
  poll_until(c, enough, &events);
  return texts;
}

class RelayTamperedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = ServerProcess::start(data_dir(), {"--registration", "open"}, &error);
    ASSERT_TRUE(server_) << error;
    relay_ = TamperingRelay::start(server_->port(), &error);
    ASSERT_TRUE(relay_) << error;
  }

  std::string data_dir() const { return dir_.path() + "/data"; }

  // A registered client that talks to the server only through the tampering relay.
  std::unique_ptr<Client> client(const std::string& name) {
    client::Options o;
    o.server_url = "ws://127.0.0.1:" + std::to_string(relay_->port()) + "/ws";
    o.data_dir = dir_.path() + "/clients/" + name;
    o.passphrase = "phrase de passe de " + name;
    o.timeout = kClientWait;
    auto c = Client::open(o);
    EXPECT_TRUE(c.ok()) << c.error().message;
    if (!c.ok()) return nullptr;
    auto connected = (*c)->connect();
    EXPECT_TRUE(connected.ok()) << connected.error().message;
    auto registered = (*c)->register_account(name);
    EXPECT_TRUE(registered.ok()) << registered.error().message;
    return std::move(*c);
  }

  // A professional: the instance's admin sets the type (accounts register as peers), and the
  // client's next sign-in reads it and publishes key packages that declare it (the server dropped
  // the ones that said "peer").
  std::unique_ptr<Client> professional(const std::string& name) {
    auto c = client(name);
    if (!c) return nullptr;
    int status = -1;
    const std::string out =
        run_admin(data_dir(), {"account", "set-type", name, "professional"}, &status);
    EXPECT_EQ(status, 0) << out;
    c->disconnect();
    auto connected = c->connect();
    EXPECT_TRUE(connected.ok()) << connected.error().message;
    return c;
  }

  // Brings every client to `conv`'s epoch as `reference` (whose client made every change so far)
  // has it, and checks they agree on the group.
  static void settle(Client& reference, const std::string& conv,
                     const std::vector<Client*>& others) {
    const uint64_t epoch = *reference.epoch(conv);
    // The reference's own changes queued events (members changed) that are not the attack's.
    auto own = reference.poll(0ms);
    ASSERT_TRUE(own.ok()) << own.error().message;
    for (const auto& e : *own) ASSERT_NE(e.kind, Event::Kind::kWarning) << e.detail;
    for (Client* c : others) {
      const auto reached = [&] {
        auto e = c->epoch(conv);
        return e.ok() && *e >= epoch;
      };
      ASSERT_TRUE(poll_until(*c, reached)) << c->handle() << " did not reach epoch " << epoch;
      ASSERT_EQ(view_of(*c, conv), view_of(reference, conv)) << c->handle();
    }
  }

  // Whom the double delivered the forged commit to, sorted.
  std::vector<std::string> victims() const {
    std::vector<std::string> out;
    for (const auto& i : relay_->injections()) out.push_back(i.victim);
    std::sort(out.begin(), out.end());
    return out;
  }

  // `c` refuses the injected commit: a warning that names the broken rule (`reason`), no other
  // change, and the group exactly as `before`, without `outsider`.
  static void expect_refused(Client& c, const std::string& conv, const GroupView& before,
                             std::string_view reason, const std::string& outsider) {
    std::vector<Event> events;
    // Until the client took a stand on the commit: refused it (a warning) or applied it.
    const auto decided = [&] {
      return std::any_of(events.begin(), events.end(), [&](const Event& e) {
        return e.conversation == conv &&
               (e.kind == Event::Kind::kWarning || e.kind == Event::Kind::kMembersChanged);
      });
    };
    ASSERT_TRUE(poll_until(c, decided, &events))
        << c.handle() << " did nothing with the forged commit";
    int refusals = 0;
    for (const auto& e : events) {
      if (e.conversation != conv) continue;
      EXPECT_NE(e.kind, Event::Kind::kMembersChanged) << c.handle() << " applied the forged commit";
      if (e.kind != Event::Kind::kWarning) continue;
      EXPECT_TRUE(e.detail.starts_with(kRefusal)) << c.handle() << ": " << e.detail;
      EXPECT_NE(e.detail.find(reason), std::string::npos) << c.handle() << ": " << e.detail;
      ++refusals;
    }
    EXPECT_EQ(refusals, 1) << c.handle();
    EXPECT_EQ(view_of(c, conv), before) << c.handle();
    const auto& members = view_of(c, conv).members;
    EXPECT_EQ(std::count(members.begin(), members.end(), outsider), 0) << c.handle();
  }

  // The invitee of a forged add refuses its Welcome: a warning saying `why`, never kJoined, no
  // group state.
  void expect_welcome_refused(Client& invitee, const std::string& conv, std::string_view why) {
    std::vector<Event> events;
    const auto refused = [&] {
      return std::any_of(events.begin(), events.end(), [&](const Event& e) {
        return e.kind == Event::Kind::kWarning && e.detail.find(why) != std::string::npos;
      });
    };
    ASSERT_TRUE(poll_until(invitee, refused, &events)) << [&] {
      std::string all;
      for (const auto& e : events)
        all += std::to_string(static_cast<int>(e.kind)) + ":" + e.detail + "; ";
      return all;
    }();
    for (const auto& e : events)
      EXPECT_NE(e.kind, Event::Kind::kJoined)
          << invitee.handle() << " joined from a forged Welcome";
    EXPECT_FALSE(invitee.epoch(conv).ok());
  }

  // After a refused forgery the honest members go on through the real server: `bob` writes while
  // `carol` is offline (she catches up from her cursor), `alice` answers, and every member still
  // sees the group as `before`. `others` are the remaining members, who receive both messages.
  void expect_group_carries_on(const std::string& conv, const GroupView& before, Client& alice,
                               Client& bob, Client& carol, std::vector<Client*> others) {
    carol.disconnect();
    ASSERT_TRUE(bob.send_text(conv, "Toujours là ?").ok());
    auto reconnected = carol.connect();
    ASSERT_TRUE(reconnected.ok()) << reconnected.error().message;
    std::vector<Client*> readers = {&alice, &carol};
    readers.insert(readers.end(), others.begin(), others.end());
    for (Client* c : readers) {
      EXPECT_EQ(receive(*c, conv, 1), std::vector<std::string>{"Toujours là ?"}) << c->handle();
    }
    ASSERT_TRUE(alice.send_text(conv, "Oui, le groupe n'a pas changé.").ok());
    readers = {&bob, &carol};
    readers.insert(readers.end(), others.begin(), others.end());
    for (Client* c : readers) {
      EXPECT_EQ(receive(*c, conv, 1), std::vector<std::string>{"Oui, le groupe n'a pas changé."})
          << c->handle();
    }
    readers.push_back(&alice);
    for (Client* c : readers) EXPECT_EQ(view_of(*c, conv), before) << c->handle();
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<TamperingRelay> relay_;
};

TEST_F(RelayTamperedTest, AMemberWhoIsNotFacilitatorCannotAddAPeerThroughATamperedServer) {
  auto alice = client("alice"), bob = client("bob"), carol = client("carol");
  auto mallory = client("mallory"), eve = client("eve");
  ASSERT_TRUE(alice && bob && carol && mallory && eve);
  auto conv = alice->create_group();  // Alice facilitates.
  ASSERT_TRUE(conv.ok()) << conv.error().message;
  for (const char* name : {"bob", "carol", "mallory"}) {
    auto added = alice->add_member(*conv, name);
    ASSERT_TRUE(added.ok()) << name << ": " << added.error().message;
  }
  ASSERT_NO_FATAL_FAILURE(settle(*alice, *conv, {bob.get(), carol.get(), mallory.get()}));
  const GroupView before = view_of(*alice, *conv);

  // Mallory, a member, adds Eve: the real server refuses, the double shows it to everyone else.
  relay_->arm("mallory", raw_id(*conv));
  auto attack = mallory->add_member(*conv, "eve");
  ASSERT_FALSE(attack.ok());
  EXPECT_EQ(attack.error().server_code, v1::FORBIDDEN) << attack.error().message;
  ASSERT_EQ(victims(), (std::vector<std::string>{"alice", "bob", "carol", "eve (welcome)"}));
  for (Client* c : {alice.get(), bob.get(), carol.get()}) {
    ASSERT_NO_FATAL_FAILURE(expect_refused(*c, *conv, before, "facilitator", "eve"));
  }
  // Eve got the Welcome too: her client sees that a member who may not add people made it, and does
  // not sit down in a copy of the group with Mallory.
  ASSERT_NO_FATAL_FAILURE(expect_welcome_refused(*eve, *conv, "joining a group was refused"));
  // The honest members carry on through the real server. Carol reconnects in between: she catches
  // up from the cursor she acknowledged past the forged entry.
  ASSERT_NO_FATAL_FAILURE(
      expect_group_carries_on(*conv, before, *alice, *bob, *carol, {mallory.get()}));
  // Nor did Eve join from her side.
  ASSERT_TRUE(events_before_round_trip(*eve).ok());
  EXPECT_FALSE(eve->epoch(*conv).ok());
}

TEST_F(RelayTamperedTest,
       AFacilitatorCannotAddAProfessionalWithoutInvitationThroughATamperedServer) {
  auto alice = client("alice"), bob = client("bob"), carol = client("carol"), dave = client("dave");
  auto paula = professional("paula");
  ASSERT_TRUE(alice && bob && carol && dave && paula);
  auto conv = alice->create_group();
  ASSERT_TRUE(conv.ok()) << conv.error().message;
  for (const char* name : {"bob", "carol", "dave"}) {
    auto added = alice->add_member(*conv, name);
    ASSERT_TRUE(added.ok()) << name << ": " << added.error().message;
  }
  auto promoted = alice->set_role(*conv, "dave", Role::kFacilitator);
  ASSERT_TRUE(promoted.ok()) << promoted.error().message;
  ASSERT_NO_FATAL_FAILURE(settle(*alice, *conv, {bob.get(), carol.get(), dave.get()}));
  const auto rules = dave->rules(*conv);
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(std::count(rules->facilitators.begin(), rules->facilitators.end(), "dave"), 1);
  const GroupView before = view_of(*alice, *conv);

  // Dave facilitates, but Paula is a professional nobody invited: Dave's client finds no
  // invitation and commits without one; the real server refuses, the double shows it to everyone.
  relay_->arm("dave", raw_id(*conv));
  auto attack = dave->add_member(*conv, "paula");
  ASSERT_FALSE(attack.ok());
  EXPECT_EQ(attack.error().server_code, v1::FORBIDDEN) << attack.error().message;
  ASSERT_EQ(victims(), (std::vector<std::string>{"alice", "bob", "carol", "paula (welcome)"}));
  // Paula's own client will not seat her either: she accepted no invitation to this group.
  ASSERT_NO_FATAL_FAILURE(expect_welcome_refused(*paula, *conv, "did not accept an invitation"));
  for (Client* c : {alice.get(), bob.get(), carol.get()}) {
    ASSERT_NO_FATAL_FAILURE(expect_refused(*c, *conv, before, "invitation", "paula"));
  }

  ASSERT_TRUE(alice->send_text(*conv, "Pas de professionnel sans invitation.").ok());
  for (Client* c : {bob.get(), carol.get(), dave.get()}) {
    EXPECT_EQ(receive(*c, *conv, 1),
              std::vector<std::string>{"Pas de professionnel sans invitation."})
        << c->handle();
  }
  ASSERT_TRUE(carol->send_text(*conv, "D'accord.").ok());
  for (Client* c : {alice.get(), bob.get(), dave.get()}) {
    EXPECT_EQ(receive(*c, *conv, 1), std::vector<std::string>{"D'accord."}) << c->handle();
  }
  for (Client* c : {alice.get(), bob.get(), carol.get(), dave.get()}) {
    EXPECT_EQ(view_of(*c, *conv), before) << c->handle();
  }
  ASSERT_TRUE(events_before_round_trip(*paula).ok());
  EXPECT_FALSE(paula->epoch(*conv).ok());
}

}  // namespace
}  // namespace cercle::testing
