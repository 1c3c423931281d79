// seance.h beyond the cases file: the signed bytes and the hash chain (what the web client must
// reproduce byte for byte), and a séance's state through one meeting.
#include "cercle/policy/seance.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "case_keys.h"

namespace cercle::policy::seance {
namespace {

constexpr char kCharter[] = "Ce qui se dit ici reste ici.";

class SeanceTest : public ::testing::Test {
 protected:
  SeanceTest() {
    facts_.conversation_id = "group-1";
    v1::GroupPolicy p = initial_policy("anna");
    p.set_charter(kCharter);
    p.mutable_seances()->set_write_only_in_seance(true);
    p.mutable_seances()->set_turn_taking(true);
    facts_.policy = p;
    facts_.members = {{"anna", 0, Kind::kPeer, keys_.public_key("anna")},
                      {"ben", 1, Kind::kPeer, keys_.public_key("ben")}};
  }

  v1::SignedSeanceEvent event(const std::string& author, void (*kind)(v1::SeanceEvent&)) {
    v1::SeanceEvent e;
    e.set_conversation_id(facts_.conversation_id);
    e.set_seance_id(std::string(kSeanceIdBytes, 's'));
    e.set_previous(state_.head);
    e.set_author(author);
    kind(e);
    return sign(e, keys_.secret(author));
  }

  // Applies an event that must be accepted, at the next seq.
  void accept(const v1::SignedSeanceEvent& s) {
    facts_.seq += 1;
    auto next = apply(state_, s, facts_);
    ASSERT_TRUE(next.ok()) << describe(next.error());
    state_ = *next;
  }

  CaseKeys keys_;
  Facts facts_;
  SeanceState state_;
};

void opened(v1::SeanceEvent& e) { e.mutable_opened()->set_charter_hash(charter_hash(kCharter)); }
void closed(v1::SeanceEvent& e) { e.mutable_closed(); }
void confirmed(v1::SeanceEvent& e) { e.set_charter_confirmed(charter_hash(kCharter)); }
void floor_to_ben(v1::SeanceEvent& e) { e.set_floor_given("ben"); }

TEST_F(SeanceTest, TheSignedBytesAndTheHashAreFixed) {
  EXPECT_EQ(transcript("ab"), std::string("cercle-seance-v1\0ab", 19));
  const v1::SignedSeanceEvent s = event("anna", opened);
  const std::string t = transcript(s.event());
  EXPECT_EQ(crypto_sign_verify_detached(
                reinterpret_cast<const unsigned char*>(s.signature().data()),
                reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                reinterpret_cast<const unsigned char*>(keys_.public_key("anna").data())),
            0);
  // SignedSeanceEvent{event = 1, signature = 2}: field 1 (0x0a), then field 2 (0x12).
  std::string encoding = "\x0a" + std::string(1, char(s.event().size())) + s.event() + "\x12" +
                         std::string(1, char(s.signature().size())) + s.signature();
  ASSERT_LT(s.event().size(), 128u);
  EXPECT_EQ(seance_hash(s), charter_hash(encoding));
  EXPECT_EQ(charter_hash("").size(), 32u);
}

TEST_F(SeanceTest, EachAcceptedEventBecomesTheHeadTheNextOneNames) {
  const auto first = event("anna", opened);
  accept(first);
  EXPECT_EQ(state_.head, seance_hash(first));
  EXPECT_EQ(state_.open_seq, 1u);
  const auto second = event("ben", confirmed);
  accept(second);
  EXPECT_EQ(state_.head, seance_hash(second));
  // The first event again names an empty previous: refused, and the state given is untouched.
  const SeanceState before = state_;
  auto replayed = apply(state_, first, facts_);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error(), v1::SEANCE_REFUSAL_PREVIOUS);
  EXPECT_EQ(state_, before);
}

TEST_F(SeanceTest, AMeetingGatesMembersAndNeverTheFacilitator) {
  EXPECT_EQ(may_write(state_, facts_, "ben"), Gate::kOutsideSeance);
  EXPECT_EQ(may_write(state_, facts_, "anna"), Gate::kAllowed);
  accept(event("anna", opened));
  EXPECT_EQ(may_write(state_, facts_, "ben"), Gate::kCharterUnconfirmed);
  accept(event("ben", confirmed));
  EXPECT_EQ(may_write(state_, facts_, "ben"), Gate::kAllowed);
  accept(event("anna", floor_to_ben));
  EXPECT_EQ(may_write(state_, facts_, "ben"), Gate::kAllowed);
  EXPECT_EQ(may_write(state_, facts_, "anna"), Gate::kAllowed);
  facts_.members.push_back({"cleo", 2, Kind::kPeer, keys_.public_key("cleo")});
  EXPECT_EQ(may_write(state_, facts_, "cleo"), Gate::kFloorElsewhere);
  accept(event("anna", closed));
  EXPECT_FALSE(state_.open());
  EXPECT_EQ(state_.open_seq, 1u);  // Kept after the close: where the séance's window starts.
  EXPECT_TRUE(state_.floor.empty());
  EXPECT_TRUE(state_.confirmed.empty());
  EXPECT_EQ(may_write(state_, facts_, "ben"), Gate::kOutsideSeance);
  EXPECT_EQ(describe(Gate::kOutsideSeance), "the group writes only during a séance");
  EXPECT_EQ(describe(v1::SEANCE_REFUSAL_PREVIOUS),
            "the séance event does not follow the group's last one");
}

}  // namespace
}  // namespace cercle::policy::seance
