// Séances through the C++ SDK (issue 13): a facilitator opens one, members confirm the charter,
// raise a hand, get the floor; the relay refuses what the séance rules forbid, with its exact
// words. Every client applies each signed event with its own keys and keeps the state across a
// restart; an event a lying relay altered is ignored with a warning and changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cercle/policy/seance.h"
#include "proto/policy.pb.h"
#include "testing/tamper_proxy.h"
#include "tests/groups_fixture.h"

namespace cercle::testing {
namespace {

using client::Seance;
namespace seance = policy::seance;

const std::string kCharter = "On s'écoute, on ne juge pas, ce qui se dit ici reste ici.";

class ClientSeanceTest : public GroupsTest {
 protected:
  // alice facilitates; bob and carol are members. Séance rules: write only in a séance, turns.
  std::string seance_group() {
    const std::string conv = group("alice", {"bob", "carol"});
    auto rules = users_["alice"]->rules(conv);
    EXPECT_TRUE(rules.ok());
    if (!rules.ok()) return conv;
    rules->charter = kCharter;
    rules->seances = client::GroupRules::Seances{true, true, false, 0};
    EXPECT_TRUE(users_["alice"]->set_rules(conv, *rules).ok());
    EXPECT_TRUE(until([&] {
      for (const auto& n : {"bob", "carol"}) {
        auto r = users_[n]->rules(conv);
        if (!r.ok() || !r->seances || !r->seances->turn_taking) return false;
      }
      return true;
    }));
    return conv;
  }

  Seance seance_of(const std::string& name, const std::string& conv) {
    auto s = users_[name]->seance(conv);
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : Seance{};
  }

  // `name`'s message is refused by the relay for `gate`, in the relay's own words.
  void refused(const std::string& name, const std::string& conv, seance::Gate gate) {
    auto sent = users_[name]->send_text(conv, "un message de " + name);
    ASSERT_FALSE(sent.ok()) << name << " could write";
    EXPECT_EQ(sent.error().server_code, v1::FORBIDDEN);
    EXPECT_EQ(sent.error().message, seance::describe(gate));
  }

  std::vector<std::string> seance_words(const std::string& name) {
    std::vector<std::string> out;
    for (const auto& e : seen_[name]) {
      if (e.kind == Event::Kind::kSeance) out.push_back(e.detail);
    }
    return out;
  }
};

TEST_F(ClientSeanceTest, AWholeSeanceBetweenSdkClients) {
  user("alice");
  user("bob");
  user("carol");
  const std::string conv = seance_group();
  ASSERT_NO_FATAL_FAILURE(refused("bob", conv, seance::Gate::kOutsideSeance));
  ASSERT_TRUE(users_["alice"]->open_seance(conv, 60).ok());
  ASSERT_TRUE(until([&] { return seance_of("bob", conv).open && seance_of("carol", conv).open; }));
  ASSERT_NO_FATAL_FAILURE(refused("bob", conv, seance::Gate::kCharterUnconfirmed));
  ASSERT_TRUE(users_["bob"]->confirm_charter(conv).ok());
  ASSERT_TRUE(users_["carol"]->confirm_charter(conv).ok());
  ASSERT_TRUE(users_["bob"]->raise_hand(conv).ok());
  ASSERT_TRUE(
      until([&] { return seance_of("alice", conv).hands == std::vector<std::string>{"bob"}; }));
  ASSERT_TRUE(users_["alice"]->give_floor(conv, "bob").ok());
  ASSERT_TRUE(until([&] { return seance_of("carol", conv).floor == "bob"; }));
  EXPECT_TRUE(seance_of("carol", conv).hands.empty());  // Given the floor: the hand goes down.
  ASSERT_NO_FATAL_FAILURE(refused("carol", conv, seance::Gate::kFloorElsewhere));
  ASSERT_TRUE(users_["bob"]->send_text(conv, "Merci de m'écouter.").ok());
  ASSERT_TRUE(users_["alice"]->send_text(conv, "Merci Bob.").ok());  // Facilitators always write.
  ASSERT_TRUE(until([&] { return sees("carol", conv, "Merci de m'écouter."); }));

  // carol's state survives her client's restart: the next event names the one she holds as its
  // previous, and she applies it.
  const Seance before = seance_of("carol", conv);
  users_.erase("carol");
  user("carol");
  const Seance after = seance_of("carol", conv);
  EXPECT_TRUE(after.open);
  EXPECT_EQ(after.floor, "bob");
  EXPECT_EQ(after.confirmed, before.confirmed);
  EXPECT_EQ(after.confirmed, (std::vector<std::string>{"bob", "carol"}));
  EXPECT_EQ(after.since_ms, before.since_ms);
  ASSERT_TRUE(users_["alice"]->take_floor_back(conv).ok());
  ASSERT_TRUE(until([&] { return seance_of("carol", conv).floor.empty(); }));
  ASSERT_TRUE(users_["carol"]->send_text(conv, "À mon tour.").ok());
  ASSERT_TRUE(users_["alice"]->close_seance(conv).ok());
  ASSERT_TRUE(
      until([&] { return !seance_of("bob", conv).open && !seance_of("carol", conv).open; }));
  EXPECT_TRUE(seance_of("bob", conv).confirmed.empty());
  ASSERT_NO_FATAL_FAILURE(refused("bob", conv, seance::Gate::kOutsideSeance));
  settled("bob");
  EXPECT_EQ(seance_words("bob"),
            (std::vector<std::string>{"opened", "charter_confirmed", "charter_confirmed",
                                      "hand_raised", "floor_given", "floor_back", "closed"}));
}

// The relay alters a séance event it delivers to carol (the floor given to bob becomes hers): her
// client checks alice's signature with alice's leaf key from its own tree, warns and keeps the
// séance as it was; bob, served honestly, sees the floor given.
TEST_F(ClientSeanceTest, AForgedSeanceEventIsIgnoredWithAWarning) {
  std::string error;
  auto relay = TamperingRelay::start(server_->port(), &error);
  ASSERT_TRUE(relay) << error;
  user("alice");
  user("bob");
  {
    auto o = options("carol");
    o.server_url = "ws://127.0.0.1:" + std::to_string(relay->port()) + "/ws";
    auto c = Client::open(o);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->connect().ok());
    ASSERT_TRUE((*c)->register_account("carol").ok());
    users_["carol"] = std::move(*c);
  }
  const std::string conv = seance_group();
  ASSERT_TRUE(users_["alice"]->open_seance(conv).ok());
  ASSERT_TRUE(users_["carol"]->confirm_charter(conv).ok());
  const Seance before = seance_of("carol", conv);
  ASSERT_TRUE(before.open);
  relay->set_delivery_rewrite([](v1::Delivery& d) {
    v1::GroupEvent e;
    v1::SeanceEvent event;
    if (d.kind() != v1::EVENT || !e.ParseFromString(d.payload()) || !e.has_seance() ||
        !event.ParseFromString(e.seance().event()) || !event.has_floor_given()) {
      return;
    }
    event.set_floor_given("carol");
    e.mutable_seance()->set_event(event.SerializeAsString());
    d.set_payload(e.SerializeAsString());
  });
  ASSERT_TRUE(users_["alice"]->give_floor(conv, "bob").ok());
  ASSERT_TRUE(until([&] { return seance_of("bob", conv).floor == "bob"; }));
  settled("carol");
  const std::string warning =
      "a séance event was ignored: " + seance::describe(v1::SEANCE_REFUSAL_SIGNATURE);
  EXPECT_TRUE(std::any_of(seen_["carol"].begin(), seen_["carol"].end(), [&](const Event& e) {
    return e.kind == Event::Kind::kWarning && e.detail == warning;
  }));
  for (const auto& e : seen_["carol"]) {
    EXPECT_FALSE(e.kind == Event::Kind::kSeance && e.detail == "floor_given");
  }
  const Seance after = seance_of("carol", conv);
  EXPECT_EQ(after.open, before.open);
  EXPECT_EQ(after.floor, "");
  EXPECT_EQ(after.hands, before.hands);
  EXPECT_EQ(after.confirmed, before.confirmed);
  users_.clear();  // Before the relay they talk through.
}

// The séances a facilitator plans travel in the signed group profile: members read them, a plain
// member cannot plan, and renaming the group keeps them.
TEST_F(ClientSeanceTest, ThePlannedSeancesReachTheMembers) {
  user("alice");
  user("bob");
  auto conv = users_["alice"]->create_group("Le mardi soir");
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(users_["alice"]->add_member(*conv, "bob").ok());
  const std::vector<client::SeanceSlot> slots{{1'800'000'000'000, 90, true},
                                              {1'800'600'000'000, 60, false}};
  ASSERT_TRUE(users_["alice"]->set_seance_schedule(*conv, slots, "Europe/Paris").ok());
  const auto planned = [&](const std::string& name) {
    auto p = users_[name]->group_profile(*conv);
    return p.ok() && p->schedule.size() == 2 && p->schedule[0].weekly &&
           p->schedule[0].start_ms == 1'800'000'000'000 && p->schedule[1].duration_minutes == 60 &&
           p->time_zone == "Europe/Paris";
  };
  ASSERT_TRUE(until([&] { return planned("bob"); }));
  auto refused = users_["bob"]->set_seance_schedule(*conv, {}, "Europe/Paris");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, client::Errc::kRefused);
  ASSERT_TRUE(users_["alice"]->set_group_profile(*conv, "Le mardi").ok());
  ASSERT_TRUE(until([&] {
    auto p = users_["bob"]->group_profile(*conv);
    return p.ok() && p->name == "Le mardi";
  }));
  EXPECT_TRUE(planned("bob"));
}

// A group whose séances are erased after closing (here at once): each member's device deletes its
// copies of the séance's messages; what came before and after stays.
TEST_F(ClientSeanceTest, AClosedSeancesMessagesLeaveTheMembersDevices) {
  user("alice");
  user("bob");
  const std::string conv = group("alice", {"bob"});
  auto rules = users_["alice"]->rules(conv);
  ASSERT_TRUE(rules.ok());
  rules->seances = client::GroupRules::Seances{false, false, true, 0};
  ASSERT_TRUE(users_["alice"]->set_rules(conv, *rules).ok());
  ASSERT_TRUE(until([&] {
    auto r = users_["bob"]->rules(conv);
    return r.ok() && r->seances && r->seances->erase_after;
  }));
  ASSERT_TRUE(users_["bob"]->send_text(conv, "Avant la séance.").ok());
  ASSERT_TRUE(users_["alice"]->open_seance(conv).ok());
  ASSERT_TRUE(users_["bob"]->send_text(conv, "Ce qui se dit ici reste ici.").ok());
  ASSERT_TRUE(users_["alice"]->send_text(conv, "Merci Bob.").ok());
  ASSERT_TRUE(until([&] { return sees("bob", conv, "Merci Bob."); }));
  ASSERT_TRUE(users_["alice"]->close_seance(conv).ok());
  ASSERT_TRUE(users_["bob"]->send_text(conv, "Après la séance.").ok());
  ASSERT_TRUE(until([&] {
    return !sees("bob", conv, "Merci Bob.") && !sees("alice", conv, "Ce qui se dit ici reste ici.");
  }));
  for (const auto& n : {"alice", "bob"}) {
    EXPECT_FALSE(sees(n, conv, "Ce qui se dit ici reste ici.")) << n;
    EXPECT_FALSE(sees(n, conv, "Merci Bob.")) << n;
  }
  ASSERT_TRUE(until([&] { return sees("alice", conv, "Après la séance."); }));
  EXPECT_TRUE(sees("alice", conv, "Avant la séance."));
  EXPECT_TRUE(sees("bob", conv, "Avant la séance."));
  EXPECT_TRUE(sees("bob", conv, "Après la séance."));
}

}  // namespace
}  // namespace cercle::testing
