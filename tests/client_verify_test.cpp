// Devices and safety numbers in the SDK (docs/safety-numbers.md), against the real server.
//
// alice and carol are SDK clients; bob's devices speak the protocol directly (the SDK has no way to
// add a device to an account), so that a second device of bob can join the group as one would if
// the server slipped it in. Every device comes from the group's MLS leaves.
#include <gtest/gtest.h>

#include <sodium.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "client/sdk/client.h"
#include "client/sdk/client_verify.h"
#include "testing/client_view.h"
#include "testing/relay_fixture.h"
#include "tests/sdk_round_trip.h"

namespace cercle::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;
using client::Event;
using client::Verification;

// ---- The fixed vectors of docs/safety-numbers.md ----

TEST(SafetyNumberVector, MatchesTheDocumentedVectors) {
  const std::string k1(32, '\x01'), k2(32, '\x02'), k3(32, '\x03');
  const client::AccountDevices alice{"alice", {k3, k1}}, bob{"bob", {k2}};
  const std::string expected =
      "75764 70173 91490 31946 07898 92567 50130 99322 47616 07355 87788 11788";
  EXPECT_EQ(client::safety_number_of(alice, bob), expected);
  EXPECT_EQ(client::safety_number_of(bob, alice), expected);  // The same on both sides.
  EXPECT_EQ(client::device_fingerprint(k1), "90852 78491 51192");
  EXPECT_EQ(client::device_fingerprint(k2), "41290 34959 26267");
  std::string counting;
  for (int i = 0; i < 32; ++i) counting.push_back(static_cast<char>(i));
  EXPECT_EQ(client::safety_number_of({"\xc3\xa9lise", {counting}}, bob),
            "43338 50578 65703 32019 92176 27291 49290 15613 02599 09531 61039 05004");
}

TEST(SafetyNumberVector, EveryDeviceAndTheHandlesCount) {
  const std::string k1(32, '\x01'), k2(32, '\x02'), k3(32, '\x03');
  const std::string base = client::safety_number_of({"alice", {k1}}, {"bob", {k2}});
  EXPECT_NE(client::safety_number_of({"alice", {k1, k3}}, {"bob", {k2}}), base);  // A device more.
  EXPECT_NE(client::safety_number_of({"alice", {k1}}, {"bob", {k2, k3}}), base);
  EXPECT_NE(client::safety_number_of({"alice", {k2}}, {"bob", {k1}}), base);  // Keys swapped.
  EXPECT_NE(client::safety_number_of({"alicf", {k1}}, {"bob", {k2}}), base);
  // A key listed twice is one device (the leaves are the devices, not the list).
  EXPECT_EQ(client::safety_number_of({"alice", {k1, k1}}, {"bob", {k2}}), base);
  EXPECT_EQ(base.size(), 12u * 5 + 11);
}

// ---- Against the real server ----

class ClientVerifyTest : public RelayFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_server()); }

  std::unique_ptr<Client> sdk_client(const std::string& name) {
    client::Options o;
    o.server_url = "ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws";
    o.data_dir = dir_.path() + "/clients/" + name;
    o.passphrase = "phrase de passe de " + name;
    auto c = Client::open(o);
    EXPECT_TRUE(c.ok()) << c.error().message;
    if (!c.ok()) return nullptr;
    EXPECT_TRUE((*c)->connect().ok());
    if (!(*c)->registered()) {
      EXPECT_TRUE((*c)->register_account(name).ok());
    }
    return std::move(*c);
  }

  static std::vector<Event> device_events(const std::vector<Event>& events) {
    std::vector<Event> out;
    std::copy_if(events.begin(), events.end(), std::back_inserter(out),
                 [](const Event& e) { return e.kind == Event::Kind::kDeviceAdded; });
    return out;
  }

  static size_t devices_of(Client& c, const std::string& conv, const std::string& handle) {
    auto devices = c.devices(conv);
    EXPECT_TRUE(devices.ok());
    if (!devices.ok()) return 0;
    return std::count_if(devices->begin(), devices->end(),
                         [&](const client::Device& d) { return d.handle == handle; });
  }

  // alice's group with carol (SDK) and bob's first device (raw).
  void group_of_three() {
    alice_ = sdk_client("alice");
    carol_ = sdk_client("carol");
    ASSERT_TRUE(alice_ && carol_);
    ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob_));
    ASSERT_NO_FATAL_FAILURE(upload_key_packages(bob_, 1));
    auto conv = alice_->create_group();
    ASSERT_TRUE(conv.ok()) << conv.error().message;
    conv_ = *conv;
    ASSERT_TRUE(alice_->add_member(conv_, "carol").ok());
    ASSERT_TRUE(reach_epoch(*carol_, conv_, *alice_->epoch(conv_), &carol_events_));
    ASSERT_TRUE(alice_->add_member(conv_, "bob").ok());
    ASSERT_TRUE(reach_epoch(*carol_, conv_, *alice_->epoch(conv_), &carol_events_));
  }

  // bob gets a second device (the server adds it; no device of bob approved it) and alice's client
  // adds it to the group, as `add_member` adds every device the server lists.
  void second_device_for_bob() {
    ASSERT_NO_FATAL_FAILURE(add_device(bob_, &bob2_));
    ASSERT_NO_FATAL_FAILURE(upload_key_packages(bob2_, 1));
    auto added = alice_->add_member(conv_, "bob");
    ASSERT_TRUE(added.ok()) << added.error().message;
    ASSERT_TRUE(reach_epoch(*carol_, conv_, *alice_->epoch(conv_), &carol_events_));
  }

  // Runs `cercle --json ARGS` on `name`'s data folder (its SDK client must be closed first: one
  // process holds a local store at a time); returns the exit status and what it printed.
  std::pair<int, std::string> cli(const std::string& name, const std::string& args) {
    const std::string command =
        "CERCLE_PASSPHRASE='phrase de passe de " + name + "' " + CERCLE_CLI_BIN +
        " --server ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws --data '" +
        dir_.path() + "/clients/" + name + "' --json " + args + " 2>&1";
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return {-1, out};
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    const int rc = pclose(pipe);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
  }

  std::unique_ptr<Client> alice_, carol_;
  TestDevice bob_, bob2_;
  std::string conv_;
  std::vector<Event> carol_events_;
};

TEST_F(ClientVerifyTest, BothSidesSeeTheSameNumberAndEveryDevice) {
  ASSERT_NO_FATAL_FAILURE(group_of_three());
  auto from_alice = alice_->safety_number(conv_, "carol");
  auto from_carol = carol_->safety_number(conv_, "alice");
  ASSERT_TRUE(from_alice.ok() && from_carol.ok());
  EXPECT_EQ(from_alice->number, from_carol->number);
  EXPECT_EQ(from_alice->devices, from_carol->own_devices);
  EXPECT_EQ(from_alice->verification, Verification::kUnverified);
  EXPECT_EQ(devices_of(*carol_, conv_, "bob"), 1u);
  // bob's side, computed from bob's own MLS state (he joins from his Welcome), gives carol's
  // number too.
  std::string raw;
  for (size_t i = 0; i + 1 < conv_.size(); i += 2) {
    raw.push_back(static_cast<char>(std::stoi(conv_.substr(i, 2), nullptr, 16)));
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!bob_.mls->in_group(raw) && std::chrono::steady_clock::now() < deadline) {
    auto d = bob_.ws->next_delivery(1s);
    if (d && d->kind() == v1::WELCOME) {
      ASSERT_TRUE(bob_.mls->join(raw, d->payload()));
    }
  }
  ASSERT_TRUE(bob_.mls->in_group(raw));
  const auto& tree = bob_.mls->state(raw);
  client::AccountDevices bob{"bob", {}}, carol{"carol", {}};
  for (const auto& m : tree.members()) {
    const std::string who(m.credential.identity.begin(), m.credential.identity.end());
    const std::string key(m.signature_key.begin(), m.signature_key.end());
    if (who == "bob") bob.keys.push_back(key);
    if (who == "carol") carol.keys.push_back(key);
  }
  EXPECT_EQ(client::safety_number_of(bob, carol), carol_->safety_number(conv_, "bob")->number);
  // Nobody's number with themselves, nor with someone who is not here.
  EXPECT_EQ(carol_->safety_number(conv_, "carol").error().code, client::Errc::kInvalidArgument);
  EXPECT_EQ(carol_->safety_number(conv_, "dave").error().code, client::Errc::kNotFound);
}

TEST_F(ClientVerifyTest, AVerifiedPersonWithANewDeviceIsToVerifyAgain) {
  ASSERT_NO_FATAL_FAILURE(group_of_three());
  auto before = carol_->safety_number(conv_, "bob");
  ASSERT_TRUE(before.ok());
  // A number carol did not see is refused: only what was compared is marked verified.
  std::string other = before->number;
  other[0] = other[0] == '9' ? '0' : other[0] + 1;
  EXPECT_EQ(carol_->mark_verified(conv_, "bob", other).error().code, client::Errc::kRefused);
  ASSERT_TRUE(carol_->mark_verified(conv_, "bob", before->number).ok());
  EXPECT_EQ(carol_->safety_number(conv_, "bob")->verification, Verification::kVerified);

  ASSERT_NO_FATAL_FAILURE(second_device_for_bob());
  EXPECT_EQ(devices_of(*carol_, conv_, "bob"), 2u);
  auto after = carol_->safety_number(conv_, "bob");
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->number, before->number);
  EXPECT_EQ(after->devices.size(), 2u);
  EXPECT_EQ(after->verification, Verification::kChanged);
  // The old number no longer verifies anyone; comparing the new one does.
  EXPECT_EQ(carol_->mark_verified(conv_, "bob", before->number).error().code,
            client::Errc::kRefused);
  EXPECT_EQ(carol_->safety_number(conv_, "bob")->verification, Verification::kChanged);
  ASSERT_TRUE(carol_->mark_verified(conv_, "bob", after->number).ok());
  EXPECT_EQ(carol_->safety_number(conv_, "bob")->verification, Verification::kVerified);

  // The verification is kept in the local store: it is still there after a restart.
  carol_.reset();
  carol_ = sdk_client("carol");
  ASSERT_TRUE(carol_);
  EXPECT_EQ(carol_->safety_number(conv_, "bob")->verification, Verification::kVerified);
  EXPECT_EQ(carol_->safety_number(conv_, "alice")->verification, Verification::kUnverified);
}

TEST_F(ClientVerifyTest, ANewDeviceOfSomeoneHereIsAnnouncedButAFirstJoinIsNot) {
  ASSERT_NO_FATAL_FAILURE(group_of_three());
  // bob joining (one device) is a member change, not a "new device".
  EXPECT_TRUE(device_events(carol_events_).empty());
  auto before = carol_->safety_number(conv_, "bob");
  ASSERT_TRUE(carol_->mark_verified(conv_, "bob", before->number).ok());

  carol_events_.clear();
  ASSERT_NO_FATAL_FAILURE(second_device_for_bob());
  const auto announced = device_events(carol_events_);
  ASSERT_EQ(announced.size(), 1u);
  EXPECT_EQ(announced[0].conversation, conv_);
  EXPECT_EQ(announced[0].by, "bob");
  EXPECT_EQ(announced[0].detail, client::device_fingerprint(
                                     std::string(reinterpret_cast<const char*>(bob2_.key.pk), 32)));
  EXPECT_TRUE(announced[0].verify_again);  // carol had verified bob.
  // alice, whose own client added the device, is told too; she had not verified bob.
  std::vector<Event> alice_events;
  ASSERT_TRUE(reach_epoch(*alice_, conv_, *alice_->epoch(conv_), &alice_events));
  auto more = events_before_round_trip(
      *alice_);  // And nothing else before a round trip (sdk_round_trip.h).
  ASSERT_TRUE(more.ok());
  alice_events.insert(alice_events.end(), more->begin(), more->end());
  const auto told = device_events(alice_events);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].by, "bob");
  EXPECT_FALSE(told[0].verify_again);

  // Nothing more is announced once seen: a message round trip after it brings no second notice.
  ASSERT_TRUE(alice_->send_text(conv_, "bonjour").ok());
  std::vector<Event> later;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  bool got_message = false;
  while (!got_message && std::chrono::steady_clock::now() < deadline) {
    auto got = carol_->poll(100ms);
    ASSERT_TRUE(got.ok());
    for (const auto& e : *got) {
      later.push_back(e);
      got_message = got_message || e.kind == Event::Kind::kMessage;
    }
  }
  ASSERT_TRUE(got_message);
  EXPECT_TRUE(device_events(later).empty());
}

TEST_F(ClientVerifyTest, TheCommandLineShowsDevicesAndVerifies) {
  ASSERT_NO_FATAL_FAILURE(group_of_three());
  const auto expected = carol_->safety_number(conv_, "bob");
  ASSERT_TRUE(expected.ok());
  carol_.reset();  // The command line opens carol's store now.

  auto [shown_status, shown] = cli("carol", "verify " + conv_ + " bob");
  ASSERT_EQ(shown_status, 0) << shown;
  EXPECT_NE(shown.find("\"number\":\"" + expected->number + "\""), std::string::npos) << shown;
  EXPECT_NE(shown.find("\"verification\":\"unverified\""), std::string::npos) << shown;
  // A number that is not the current one is refused (exit 5), and nothing is recorded.
  auto [wrong_status, wrong] = cli("carol", "verify " + conv_ + " bob --confirm 12345");
  EXPECT_EQ(wrong_status, 5) << wrong;
  auto [members_status, members] = cli("carol", "group members " + conv_);
  ASSERT_EQ(members_status, 0) << members;
  EXPECT_NE(members.find("\"handle\":\"bob\""), std::string::npos) << members;
  EXPECT_NE(members.find("\"devices\":[\"" + expected->devices[0] +
                         "\"],\"verification\":\"unverified\""),
            std::string::npos)
      << members;
  // The number as the user typed it back, in groups.
  auto [ok_status, ok] = cli("carol", "verify " + conv_ + " bob --confirm " + expected->number);
  ASSERT_EQ(ok_status, 0) << ok;
  auto [after_status, after] = cli("carol", "group members " + conv_);
  ASSERT_EQ(after_status, 0) << after;
  EXPECT_NE(after.find("\"verification\":\"verified\""), std::string::npos) << after;

  // bob's second device: `group members` lists both, and bob is to verify again.
  ASSERT_NO_FATAL_FAILURE(add_device(bob_, &bob2_));
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(bob2_, 1));
  ASSERT_TRUE(alice_->add_member(conv_, "bob").ok());
  auto [listen_status, listened] = cli("carol", "listen --timeout 2");
  EXPECT_EQ(listen_status, 0) << listened;
  auto [changed_status, changed] = cli("carol", "group members " + conv_);
  ASSERT_EQ(changed_status, 0) << changed;
  const std::string second =
      client::device_fingerprint(std::string(reinterpret_cast<const char*>(bob2_.key.pk), 32));
  EXPECT_NE(changed.find("\"devices\":[\"" + expected->devices[0] + "\",\"" + second +
                         "\"],\"verification\":\"changed\""),
            std::string::npos)
      << changed;
}

}  // namespace
}  // namespace cercle::testing
