// Every case of seance_cases.json through seance::apply and seance::may_write: the exact refusal
// (or acceptance) of each event, what the final state holds, and each handle's gate.
// web/tests/seance-cases-core.test.mjs runs the same file through web/src/core/seance.ts, so the
// relay, the SDK and the web client answer alike.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "case_json.h"
#include "case_keys.h"
#include "cercle/policy/seance.h"

namespace cercle::policy::seance {
namespace {

namespace json = boost::json;
using cases::list;
using cases::text;

std::set<std::string> handles(const json::array& a) {
  std::set<std::string> out;
  for (const auto& h : a) out.insert(std::string(h.as_string()));
  return out;
}

Facts facts_from(const json::object& file, std::string_view name, CaseKeys& keys) {
  const json::object& g = file.at("groups").at(name).as_object();
  Facts f;
  f.conversation_id = text(file, "conversation");
  if (const auto* p = g.if_contains("policy")) {
    v1::GroupPolicy policy;
    const auto status = google::protobuf::util::JsonStringToMessage(json::serialize(*p), &policy);
    EXPECT_TRUE(status.ok()) << json::serialize(*p);
    f.policy = policy;
  }
  for (const auto& m : list(g, "members")) {
    const auto& o = m.as_object();
    const std::string handle = text(o, "handle");
    f.members.push_back(
        {handle, static_cast<uint32_t>(o.at("leaf").to_number<int64_t>()),
         text(o, "kind", "peer") == "professional" ? Kind::kProfessional : Kind::kPeer,
         keys.public_key(text(o, "key", handle))});
  }
  return f;
}

// What a case has done so far: the heads before each accepted event and the events as sent.
struct Run {
  SeanceState state;
  std::vector<std::string> heads;  // heads[i]: the head before the i-th accepted event.
  std::vector<v1::SignedSeanceEvent> sent;
};

void set_kind(v1::SeanceEvent& e, const json::object& o, const Facts& facts) {
  const std::string kind = text(o, "kind");
  const std::string charter =
      charter_hash(text(o, "charter", facts.policy ? facts.policy->charter() : ""));
  if (kind == "opened") e.mutable_opened()->set_charter_hash(charter);
  if (kind == "closed") e.mutable_closed();
  if (kind == "floor_given") e.set_floor_given(text(o, "who"));
  if (kind == "floor_back") e.mutable_floor_back();
  if (kind == "hand_raised") e.mutable_hand_raised();
  if (kind == "hand_lowered") e.set_hand_lowered(text(o, "who"));
  if (kind == "charter_confirmed") e.set_charter_confirmed(charter);
}

std::string previous_of(const json::object& o, const Run& run) {
  const std::string which = text(o, "previous", "head");
  if (which == "empty") return {};
  if (which == "garbage") return std::string(32, '\x01');
  if (which == "before_last") return run.heads.empty() ? std::string() : run.heads.back();
  return run.state.head;
}

v1::SignedSeanceEvent event_from(const json::object& file, const json::object& o, const Run& run,
                                 const Facts& facts, CaseKeys& keys) {
  if (const auto* n = o.if_contains("replay")) return run.sent.at(n->to_number<size_t>());
  v1::SeanceEvent e;
  e.set_conversation_id(text(o, "conversation", facts.conversation_id));
  e.set_seance_id(text(o, "seance", text(file, "seance")));
  e.set_previous(previous_of(o, run));
  e.set_author(text(o, "author"));
  e.set_time_ms(1'800'000'000'000);
  set_kind(e, o, facts);
  v1::SignedSeanceEvent s = sign(e, keys.secret(text(o, "signer", e.author())));
  if (o.contains("garbled")) s.set_event(std::string("\xff\xff", 2));
  if (o.contains("tamper")) (*s.mutable_signature())[0] ^= 1;
  if (o.contains("unsigned")) s.clear_signature();
  return s;
}

std::string gate_name(Gate g) {
  switch (g) {
    case Gate::kAllowed:
      return "ALLOWED";
    case Gate::kOutsideSeance:
      return "OUTSIDE_SEANCE";
    case Gate::kFloorElsewhere:
      return "FLOOR_ELSEWHERE";
    case Gate::kCharterUnconfirmed:
      return "CHARTER_UNCONFIRMED";
  }
  return "?";
}

void expect_state(const json::object& want, const SeanceState& got) {
  if (const auto* v = want.if_contains("open")) EXPECT_EQ(got.open(), v->as_bool());
  if (want.contains("floor")) EXPECT_EQ(got.floor, text(want, "floor"));
  if (want.contains("hands")) EXPECT_EQ(got.hands, handles(list(want, "hands")));
  if (want.contains("confirmed")) EXPECT_EQ(got.confirmed, handles(list(want, "confirmed")));
  if (const auto* v = want.if_contains("open_seq")) {
    EXPECT_EQ(got.open_seq, v->to_number<uint64_t>());
  }
}

// Runs one case; returns the codes its events got.
std::set<std::string> run_case(const json::object& file, const json::object& c, CaseKeys& keys) {
  std::set<std::string> seen;
  std::string group = text(c, "group");
  Run run;
  uint64_t seq = 0;
  for (const auto& v : list(c, "events")) {
    const auto& o = v.as_object();
    ++seq;
    SCOPED_TRACE("event " + std::to_string(seq));
    group = text(o, "group", group);
    Facts facts = facts_from(file, group, keys);
    facts.seq = seq;
    const v1::SignedSeanceEvent s = event_from(file, o, run, facts, keys);
    run.sent.push_back(s);
    const auto verdict = apply(run.state, s, facts);
    const std::string got = verdict.ok() ? "ACCEPTED" : v1::SeanceRefusal_Name(verdict.error());
    EXPECT_EQ(got, text(o, "expect"));
    seen.insert(got);
    if (!verdict.ok()) continue;
    EXPECT_EQ(verdict->head, seance_hash(s));
    run.heads.push_back(run.state.head);
    run.state = *verdict;
  }
  if (const auto* want = c.if_contains("state")) expect_state(want->as_object(), run.state);
  const Facts facts = facts_from(file, text(c, "writes_group", group), keys);
  for (const auto& w : list(c, "writes")) {
    const auto& o = w.as_object();
    EXPECT_EQ(gate_name(may_write(run.state, facts, text(o, "handle"))), text(o, "expect"))
        << text(o, "handle");
  }
  return seen;
}

TEST(SeanceCases, EveryEventAndEveryGateGetsItsExactAnswer) {
  const json::object file = cases::load("seance_cases.json");
  const auto& cases = file.at("cases").as_array();
  ASSERT_GE(cases.size(), 40u);
  CaseKeys keys;
  std::set<std::string> seen;
  for (const auto& v : cases) {
    const auto& c = v.as_object();
    SCOPED_TRACE(text(c, "name"));
    seen.merge(run_case(file, c, keys));
  }
  // Every refusal apply can give has a case.
  EXPECT_TRUE(seen.contains("ACCEPTED"));
  for (int code = v1::SEANCE_REFUSAL_UNREADABLE; code <= v1::SEANCE_REFUSAL_CHARTER; ++code) {
    const std::string name = v1::SeanceRefusal_Name(static_cast<v1::SeanceRefusal>(code));
    EXPECT_TRUE(seen.contains(name)) << name << " has no case";
  }
}

TEST(SeanceCases, EveryGateHasACase) {
  const json::object file = cases::load("seance_cases.json");
  std::set<std::string> seen;
  for (const auto& c : file.at("cases").as_array()) {
    for (const auto& w : list(c.as_object(), "writes")) seen.insert(text(w.as_object(), "expect"));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"ALLOWED", "OUTSIDE_SEANCE", "FLOOR_ELSEWHERE",
                                         "CHARTER_UNCONFIRMED"}));
}

}  // namespace
}  // namespace cercle::policy::seance
