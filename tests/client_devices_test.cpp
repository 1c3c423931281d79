// Device approval and account device chains in the SDK (docs/SECURITY.md, "Device approval"),
// against the real server: registration starts and pins the account's chain, a new device joins an
// account only when a person types on an existing device the code the new one shows, and a peer
// adds only devices the account's chain lists, from the chain it pinned at first contact.
//
// A relay showing another chain is played by the real server restarted on an older copy of its
// data folder (a restored backup: the chain rolled back, or the account registered anew under the
// same handle with another first device), and by a double that rewrites the server's answers
// (testing/rewriting_relay.h: a hidden link here; a forged link, another first link, a hidden
// device's package in client_devices_tampered_test.cpp).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>

#include "tests/client_devices_fixture.h"

namespace cercle::testing {
namespace {

TEST_F(ClientDevicesTest, RegistrationStartsTheChainWithThisDevice) {
  auto alice = sdk_client("alice");
  ASSERT_TRUE(alice);
  auto devices = alice->account_devices();
  ASSERT_TRUE(devices.ok()) << devices.error().message;
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_TRUE(devices->front().self);
  EXPECT_EQ(devices->front().added_seq, 0u);
  // Connecting again reads the same chain: nothing to warn about.
  alice->disconnect();
  ASSERT_TRUE(alice->connect().ok());
  auto events = events_before_round_trip(*alice);
  ASSERT_TRUE(events.ok());
  for (const auto& e : *events) EXPECT_NE(e.kind, client::Event::Kind::kWarning) << e.detail;
}

TEST_F(ClientDevicesTest, ADeviceApprovedWithItsCodeJoinsTheAccountAndItsConversations) {
  auto alice = sdk_client("alice");
  auto alice2 = sdk_client("alice", false, "alice2");
  auto bob = sdk_client("bob");
  ASSERT_TRUE(alice && alice2 && bob);
  ASSERT_NO_FATAL_FAILURE(approve(*alice, *alice2));
  EXPECT_TRUE(alice2->registered());
  EXPECT_EQ(alice2->handle(), "alice");
  auto devices = alice->account_devices();
  ASSERT_TRUE(devices.ok()) << devices.error().message;
  ASSERT_EQ(devices->size(), 2u);
  EXPECT_EQ((*devices)[1].added_seq, 1u);
  EXPECT_FALSE((*devices)[1].self);
  auto seen_by_new = alice2->account_devices();
  ASSERT_TRUE(seen_by_new.ok()) << seen_by_new.error().message;
  ASSERT_EQ(seen_by_new->size(), 2u);
  EXPECT_TRUE((*seen_by_new)[1].self);

  // bob's client checks alice's chain and adds both devices it lists.
  auto conv = bob->start_direct("alice");
  ASSERT_TRUE(conv.ok()) << conv.error().message;
  EXPECT_EQ(devices_of(*bob, *conv, "alice"), 2u);
  ASSERT_TRUE(reach_epoch(*alice2, *conv, *bob->epoch(*conv)));
  ASSERT_TRUE(bob->send_text(*conv, "bonjour").ok());
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  bool read = false;
  while (!read && std::chrono::steady_clock::now() < deadline) {
    auto events = alice2->poll(100ms);
    ASSERT_TRUE(events.ok());
    for (const auto& e : *events) {
      read = read || (e.kind == client::Event::Kind::kMessage && e.message.text == "bonjour");
    }
  }
  EXPECT_TRUE(read) << "the approved device did not read bob's message";
}

TEST_F(ClientDevicesTest, AWrongCodeIsRefusedAndNothingIsAdded) {
  auto alice = sdk_client("alice");
  auto alice2 = sdk_client("alice", false, "alice2");
  ASSERT_TRUE(alice && alice2);
  auto id = alice2->request_device("alice");
  ASSERT_TRUE(id.ok()) << id.error().message;
  // Approving needs this device's own nonce first.
  auto early = alice->approve_device(*id, "123 456");
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, Errc::kInvalidArgument);
  ASSERT_TRUE(alice->start_approval(*id).ok());
  auto code = alice2->pairing_code(kWait);
  ASSERT_TRUE(code.ok()) << code.error().message;
  ASSERT_EQ(code->size(), 7u);  // "123 456"
  std::string wrong = *code;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  auto refused = alice->approve_device(*id, wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kRefused);
  EXPECT_EQ(refused.error().message,
            "this is not the code the new device shows: it was not approved");
  auto devices = alice->account_devices();
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->size(), 1u);
  auto waited = alice2->await_approval(1s);
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.error().code, Errc::kNetwork);
  EXPECT_FALSE(alice2->registered());
  // The right code, typed without its space, still approves it.
  std::string typed = *code;
  typed.erase(3, 1);
  auto approved = alice->approve_device(*id, typed);
  ASSERT_TRUE(approved.ok()) << approved.error().message;
  ASSERT_TRUE(alice2->await_approval(kWait).ok());
}

TEST_F(ClientDevicesTest, AChainRolledBackByTheRelayIsRefusedAndNothingIsCommitted) {
  auto alice = sdk_client("alice");
  auto bob = sdk_client("bob");
  ASSERT_TRUE(alice && bob);
  alice.reset();  // One client per local store at a time.
  bob.reset();
  const std::string old_copy = dir_.path() + "/data-before-alice2";
  ASSERT_NO_FATAL_FAILURE(snapshot(old_copy));
  alice = sdk_client("alice");
  auto alice2 = sdk_client("alice", false, "alice2");
  ASSERT_TRUE(alice && alice2);
  ASSERT_NO_FATAL_FAILURE(approve(*alice, *alice2));
  bob = sdk_client("bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(bob->start_direct("alice").ok());  // bob pins alice's chain of two devices.
  alice.reset();
  alice2.reset();
  bob.reset();

  ASSERT_NO_FATAL_FAILURE(restore(old_copy));  // The relay shows alice's chain of one device.
  bob = sdk_client("bob");
  ASSERT_TRUE(bob);
  auto group = bob->create_group();
  ASSERT_TRUE(group.ok()) << group.error().message;
  const uint64_t epoch = *bob->epoch(*group);
  auto added = bob->add_member(*group, "alice");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, Errc::kRefused);
  EXPECT_EQ(added.error().message,
            "the server shows an older device chain for alice than this device already saw; no "
            "device of alice was added");
  EXPECT_EQ(*bob->epoch(*group), epoch);
  EXPECT_EQ(devices_of(*bob, *group, "alice"), 0u);
  auto direct = bob->start_direct("alice");
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.error().code, Errc::kRefused);
}

TEST_F(ClientDevicesTest, AnAccountWhoseFirstDeviceChangedIsRefusedAndNothingIsCommitted) {
  auto alice = sdk_client("alice");
  ASSERT_TRUE(alice);
  alice.reset();
  const std::string old_copy = dir_.path() + "/data-before-bob";
  ASSERT_NO_FATAL_FAILURE(snapshot(old_copy));
  alice = sdk_client("alice");
  auto bob = sdk_client("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(alice->start_direct("bob").ok());  // alice pins bob's chain.
  alice.reset();
  bob.reset();

  // The relay now holds another "bob", whose first device is not the one alice saw.
  ASSERT_NO_FATAL_FAILURE(restore(old_copy));
  auto other_bob = sdk_client("bob", true, "other-bob");
  alice = sdk_client("alice");
  ASSERT_TRUE(alice && other_bob);
  auto group = alice->create_group();
  ASSERT_TRUE(group.ok()) << group.error().message;
  const uint64_t epoch = *alice->epoch(*group);
  auto added = alice->add_member(*group, "bob");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, Errc::kRefused);
  EXPECT_EQ(added.error().message,
            "bob's identity changed: the server shows another device chain than the one first "
            "seen; verify bob again before adding their devices");
  EXPECT_EQ(*alice->epoch(*group), epoch);
  EXPECT_EQ(devices_of(*alice, *group, "bob"), 0u);
}

TEST_F(ClientDevicesTest, ANewDeviceOutsideItsOwnersChainIsMarkedWhenAnnounced) {
  std::string error;
  auto relay = RewritingRelay::start(server_->port(), &error);
  ASSERT_TRUE(relay) << error;
  auto alice = sdk_client("alice");
  auto carol = sdk_client("carol");
  auto bob = sdk_client("bob", true, "", relay->port());  // bob's server lies about alice.
  ASSERT_TRUE(alice && carol && bob);
  auto group = carol->create_group();
  ASSERT_TRUE(group.ok()) << group.error().message;
  ASSERT_TRUE(carol->add_member(*group, "alice").ok());
  ASSERT_TRUE(carol->add_member(*group, "bob").ok());
  ASSERT_TRUE(reach_epoch(*bob, *group, *carol->epoch(*group)));
  ASSERT_TRUE(events_before_round_trip(*bob).ok());
  auto alice2 = sdk_client("alice", false, "alice2");
  ASSERT_TRUE(alice2);
  ASSERT_NO_FATAL_FAILURE(approve(*alice, *alice2));
  // The chain bob's relay shows for alice stops before the link that approved her new device.
  relay->set_rewrite([](v1::Response& r) {
    if (r.has_account() && r.account().handle() == "alice" && r.account().chain_size() > 1) {
      r.mutable_account()->mutable_chain()->RemoveLast();
    }
  });
  std::vector<client::Event> carol_events, bob_events;
  auto added = carol->add_member(*group, "alice");  // Her new device joins.
  ASSERT_TRUE(added.ok()) << added.error().message;
  auto got = events_before_round_trip(*carol);
  ASSERT_TRUE(got.ok());
  carol_events = *got;
  ASSERT_TRUE(reach_epoch(*bob, *group, *carol->epoch(*group), &bob_events));
  got = events_before_round_trip(*bob);
  ASSERT_TRUE(got.ok());
  bob_events.insert(bob_events.end(), got->begin(), got->end());
  const auto to_carol = announced(carol_events);
  ASSERT_EQ(to_carol.size(), 1u);
  EXPECT_EQ(to_carol[0].by, "alice");
  EXPECT_FALSE(to_carol[0].unapproved);  // Her chain lists it.
  const auto to_bob = announced(bob_events);
  ASSERT_EQ(to_bob.size(), 1u);
  EXPECT_EQ(to_bob[0].by, "alice");
  EXPECT_TRUE(to_bob[0].unapproved);  // Not in the chain bob was shown.
}

TEST_F(ClientDevicesTest, AnApprovalThatLostARaceIsSignedAnewOnTheLongerChain) {
  std::string error;
  auto relay = RewritingRelay::start(server_->port(), &error);
  ASSERT_TRUE(relay) << error;
  auto alice = sdk_client("alice", true, "", relay->port());
  auto alice2 = sdk_client("alice", false, "alice2");
  ASSERT_TRUE(alice && alice2);
  ASSERT_NO_FATAL_FAILURE(approve(*alice, *alice2));
  auto alice3 = sdk_client("alice", false, "alice3");
  ASSERT_TRUE(alice3);
  ASSERT_NO_FATAL_FAILURE(approve(*alice2, *alice3));
  // alice's device reads the chain as it was before alice3's link (that link landed between its
  // read and its write): its link for alice4 follows the wrong one, the relay answers
  // CHAIN_CONFLICT, and it reads the chain again and signs anew.
  std::atomic<int> reads{0};
  relay->set_rewrite([&reads](v1::Response& r) {
    if (r.has_account() && r.account().chain_size() == 3 && reads.fetch_add(1) == 0) {
      r.mutable_account()->mutable_chain()->RemoveLast();
    }
  });
  auto alice4 = sdk_client("alice", false, "alice4");
  ASSERT_TRUE(alice4);
  ASSERT_NO_FATAL_FAILURE(approve(*alice, *alice4));
  EXPECT_EQ(reads.load(), 2);  // The stale read, then the chain read again.
  auto devices = alice->account_devices();
  ASSERT_TRUE(devices.ok()) << devices.error().message;
  EXPECT_EQ(devices->size(), 4u);
}

// The command line: the new device asks and shows its code, the old one starts the approval, is
// refused a wrong code (exit 5, nothing added), and approves with the right one.
class ClientDevicesCliTest : public ClientDevicesTest {
 protected:
  // `cercle --json ARGS` on the store clients/<folder> (30 s at most).
  std::string command(const std::string& folder, const std::string& args) const {
    return "CERCLE_PASSPHRASE='phrase de passe de alice' timeout 30 " CERCLE_CLI_BIN " --server " +
           url() + " --data '" + dir_.path() + "/clients/" + folder + "' --json " + args + " 2>&1";
  }
  // Runs it to the end; returns its exit status and output.
  std::pair<int, std::string> cli(const std::string& folder, const std::string& args) const {
    std::string out;
    FILE* pipe = popen(command(folder, args).c_str(), "r");
    if (!pipe) return {-1, out};
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    const int rc = pclose(pipe);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
  }
  // The next JSON line a running command printed ({} at its end).
  static boost::json::object next_line(FILE* pipe) {
    char line[4096];
    if (!fgets(line, sizeof line, pipe)) return {};
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    return !ec && v.is_object() ? v.as_object() : boost::json::object{{"unreadable", line}};
  }
};

TEST_F(ClientDevicesCliTest, ANewDeviceIsApprovedWithTheCodeItShows) {
  ASSERT_TRUE(sdk_client("alice"));  // Registered, then closed: the commands open its store.
  FILE* requester = popen(command("alice-new", "device request alice").c_str(), "r");
  ASSERT_TRUE(requester);
  auto asked = next_line(requester);
  ASSERT_TRUE(asked.contains("request")) << boost::json::serialize(asked);
  const std::string id(asked.at("request").as_string());
  auto [listed_rc, listed] = cli("alice", "device requests");
  EXPECT_EQ(listed_rc, 0) << listed;
  EXPECT_NE(listed.find(id), std::string::npos) << listed;
  auto [start_rc, started] = cli("alice", "device approve " + id);
  EXPECT_EQ(start_rc, 0) << started;
  auto shown = next_line(requester);
  ASSERT_TRUE(shown.contains("code")) << boost::json::serialize(shown);
  std::string code(shown.at("code").as_string());
  std::string wrong = code;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  auto [wrong_rc, refused] = cli("alice", "device approve " + id + " '" + wrong + "'");
  EXPECT_EQ(wrong_rc, 5) << refused;
  EXPECT_EQ(refused, "cercle: this is not the code the new device shows: it was not approved\n");
  auto [devices_rc, one] = cli("alice", "devices");
  EXPECT_EQ(devices_rc, 0) << one;
  EXPECT_EQ(std::count(one.begin(), one.end(), '\n'), 1) << one;
  auto [approve_rc, approved] = cli("alice", "device approve " + id + " '" + code + "'");
  EXPECT_EQ(approve_rc, 0) << approved;
  auto done = next_line(requester);
  EXPECT_EQ(boost::json::serialize(done), R"({"handle":"alice","approved":true})");
  const int rc = pclose(requester);
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
  auto [after_rc, two] = cli("alice", "devices");
  EXPECT_EQ(after_rc, 0) << two;
  EXPECT_EQ(std::count(two.begin(), two.end(), '\n'), 2) << two;
  auto [new_rc, from_new] = cli("alice-new", "devices");
  EXPECT_EQ(new_rc, 0) << from_new;
  EXPECT_NE(from_new.find(R"("self":true)"), std::string::npos) << from_new;
}

// bob's client talks to the server through a relay that rewrites what it says about alice.
}  // namespace
}  // namespace cercle::testing
