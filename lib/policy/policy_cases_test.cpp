// Every case of policy_cases.json through check_commit: the exact refusal code (or acceptance),
// the handle it names and the invitations it uses. web/tests/policy-cases-core.test.mjs runs the
// same file through the web client's port, so the two implementations answer alike.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "case_json.h"
#include "case_keys.h"
#include "cercle/policy/policy.h"

namespace cercle::policy {
namespace {

namespace json = boost::json;
using cases::list;
using cases::text;

using Keys = CaseKeys;

// Milliseconds are written as decimal strings where they pass 2^53 (JavaScript's exact integers).
int64_t millis(const json::value& v) {
  return v.is_string() ? std::stoll(std::string(v.as_string())) : v.to_number<int64_t>();
}

v1::GroupPolicy policy_from(const json::value& v) {
  v1::GroupPolicy p;
  const auto status = google::protobuf::util::JsonStringToMessage(json::serialize(v), &p);
  EXPECT_TRUE(status.ok()) << json::serialize(v);
  return p;
}

Kind kind_from(const json::object& o) {
  return text(o, "kind", "peer") == "professional" ? Kind::kProfessional : Kind::kPeer;
}

std::set<std::string> nonces(const json::array& a) {
  std::set<std::string> out;
  for (const auto& n : a) out.insert(std::string(n.as_string()));
  return out;
}

Group group_from(const json::object& file, const json::object& c, Keys& keys) {
  const json::value& spec = c.at("group");
  const json::object& g =
      spec.is_string() ? file.at("groups").at(spec.as_string()).as_object() : spec.as_object();
  Group out;
  out.conversation_id = text(file, "conversation");
  if (const auto* p = c.if_contains("policy")) {
    out.policy = policy_from(*p);
  } else if (const auto* q = g.if_contains("policy")) {
    out.policy = policy_from(*q);
  }
  for (const auto& m : list(g, "members")) {
    const auto& o = m.as_object();
    const std::string handle = text(o, "handle");
    out.members.push_back({handle, static_cast<uint32_t>(o.at("leaf").to_number<int64_t>()),
                           kind_from(o), keys.public_key(text(o, "key", handle))});
  }
  out.used_invitations = nonces(c.contains("used") ? list(c, "used") : list(g, "used"));
  out.revoked_invitations = nonces(c.contains("revoked") ? list(c, "revoked") : list(g, "revoked"));
  out.declined_invitations =
      nonces(c.contains("declined") ? list(c, "declined") : list(g, "declined"));
  return out;
}

v1::SignedInvitation invitation_from(const json::object& o, const std::string& conversation,
                                     int64_t now_ms, Keys& keys) {
  v1::SignedInvitation s;
  if (o.contains("garbled")) {
    s.set_invitation(std::string("\xff\xff", 2));
    s.set_signature(std::string(crypto_sign_BYTES, '\0'));
    return s;
  }
  v1::Invitation i;
  i.set_conversation_id(text(o, "conversation", conversation));
  i.set_inviter(text(o, "inviter"));
  i.set_invitee(text(o, "invitee"));
  v1::InviteeType type = v1::INVITEE_TYPE_UNSPECIFIED;
  EXPECT_TRUE(v1::InviteeType_Parse(text(o, "type", "INVITEE_PROFESSIONAL"), &type));
  i.set_invitee_type(type);
  const auto* at = o.if_contains("expires_at_ms");
  const auto* in = o.if_contains("expires_in_ms");
  i.set_expires_at_ms(at ? millis(*at) : now_ms + (in ? millis(*in) : 3'600'000));
  i.set_nonce(text(o, "nonce", "n1"));
  s = sign_invitation(i, keys.secret(text(o, "signer")));
  if (o.contains("tamper")) (*s.mutable_signature())[0] ^= 1;
  if (o.contains("unsigned")) s.clear_signature();
  return s;
}

Change change_from(const json::object& commit, const std::string& conversation, int64_t now_ms,
                   Keys& keys) {
  Change c;
  c.committer_leaf = static_cast<uint32_t>(commit.at("by").to_number<int64_t>());
  for (const auto& a : list(commit, "added")) {
    c.added.push_back({text(a.as_object(), "handle"), kind_from(a.as_object())});
  }
  for (const auto& r : list(commit, "removed")) {
    const auto& o = r.as_object();
    c.removed.push_back({static_cast<uint32_t>(o.at("leaf").to_number<int64_t>()),
                         o.contains("self") && o.at("self").as_bool()});
  }
  if (const auto* p = commit.if_contains("new_policy")) c.new_policy = policy_from(*p);
  for (const auto& i : list(commit, "invitations")) {
    *c.data.add_invitations() = invitation_from(i.as_object(), conversation, now_ms, keys);
  }
  return c;
}

TEST(PolicyCases, EveryCaseGetsItsExactAnswer) {
  const json::object file = cases::load("policy_cases.json");
  const auto& cases = file.at("cases").as_array();
  ASSERT_GE(cases.size(), 40u);
  Keys keys;
  for (const auto& v : cases) {
    const auto& c = v.as_object();
    SCOPED_TRACE(text(c, "name"));
    const int64_t now_ms = millis(c.contains("now_ms") ? c.at("now_ms") : file.at("now_ms"));
    const Group g = group_from(file, c, keys);
    const Change change = change_from(c.at("commit").as_object(), g.conversation_id, now_ms, keys);
    const Verdict verdict = check_commit(g, change, now_ms);
    const std::string got =
        verdict.ok() ? "ACCEPTED" : v1::PolicyRefusal_Name(verdict.error().code);
    EXPECT_EQ(got, text(c, "expect"));
    if (c.contains("who") && !verdict.ok()) {
      EXPECT_EQ(verdict.error().who, text(c, "who"));
    }
    if (c.contains("used_nonces") && verdict.ok()) {
      std::vector<std::string> expected;
      for (const auto& n : list(c, "used_nonces")) expected.emplace_back(n.as_string());
      EXPECT_EQ(verdict->used_nonces, expected);
    }
  }
}

Member leaf_from(const json::object& o, Keys& keys) {
  const std::string handle = text(o, "handle");
  return {handle, 0, kind_from(o), keys.public_key(text(o, "key", handle))};
}

TEST(PolicyCases, EveryLeafChangeGetsItsExactAnswer) {
  const json::object file = cases::load("policy_cases.json");
  Keys keys;
  for (const auto& v : file.at("leaf_changes").as_array()) {
    const auto& c = v.as_object();
    SCOPED_TRACE(text(c, "name"));
    const auto code = leaf_change(leaf_from(c.at("before").as_object(), keys),
                                  leaf_from(c.at("after").as_object(), keys));
    EXPECT_EQ(code == v1::POLICY_REFUSAL_UNSPECIFIED ? "ACCEPTED" : v1::PolicyRefusal_Name(code),
              text(c, "expect"));
  }
}

// Each refusal check_commit and leaf_change can give has at least one case. Two cannot be reached:
// the invitation check_commit checks for an added member is the first readable one naming that
// member, so it is never unreadable nor for someone else. The codes after SIGNATURE_KEY_CHANGED are
// what a client reads from MLS messages before these checks (client_rules.cpp, groups.ts), except
// INVITATION_DECLINED, numbered later.
TEST(PolicyCases, EveryRefusalOfTheSharedChecksHasACase) {
  const json::object file = cases::load("policy_cases.json");
  std::set<std::string> expected;
  for (const char* section : {"cases", "leaf_changes"}) {
    for (const auto& v : file.at(section).as_array())
      expected.insert(text(v.as_object(), "expect"));
  }
  EXPECT_TRUE(expected.contains("ACCEPTED"));
  for (int code = v1::POLICY_REFUSAL_NOT_A_MEMBER; code <= v1::POLICY_REFUSAL_SIGNATURE_KEY_CHANGED;
       ++code) {
    if (code == v1::POLICY_REFUSAL_INVITATION_UNREADABLE ||
        code == v1::POLICY_REFUSAL_INVITATION_OTHER_PERSON) {
      continue;
    }
    const std::string name = v1::PolicyRefusal_Name(static_cast<v1::PolicyRefusal>(code));
    EXPECT_TRUE(expected.contains(name)) << name << " has no case";
  }
  EXPECT_TRUE(expected.contains("POLICY_REFUSAL_INVITATION_DECLINED"));
}

}  // namespace
}  // namespace cercle::policy
