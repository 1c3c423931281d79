// Device approval and account device chains in the SDK (docs/SECURITY.md, "Device approval"),
// against the real server: registration starts and pins the account's chain, a new device joins an
// account only when a person types on an existing device the code the new one shows, and a peer
// adds only devices the account's chain lists, from the chain it pinned at first contact.
//
// A relay showing another chain is played by the real server restarted on an older copy of its
// data folder (a restored backup: the chain rolled back, or the account registered anew under the
// same handle with another first device), and by a double that rewrites the server's answers
// (testing/rewriting_relay.h: a forged link, another first link, a hidden device's package).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <sodium.h>

#include "cercle/mls/key_package.h"
#include "cercle/policy/device_chain.h"
#include "cercle/policy/extensions.h"
#include "cercle/policy/policy.h"
#include "client/sdk/client.h"
#include "testing/relay_fixture.h"
#include "testing/rewriting_relay.h"

namespace cercle::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;
using client::Errc;

constexpr auto kWait = 10s;

class ClientDevicesTest : public RelayFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_server()); }

  std::string url() const { return "ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws"; }

  // `name`'s client (folder clients/<folder or name>), connected; registered as `name` unless
  // `register_it` is false.
  std::unique_ptr<Client> sdk_client(const std::string& name, bool register_it = true,
                                     const std::string& folder = {}, uint16_t port = 0) {
    client::Options o;
    o.server_url = port ? "ws://127.0.0.1:" + std::to_string(port) + "/ws" : url();
    o.data_dir = dir_.path() + "/clients/" + (folder.empty() ? name : folder);
    o.passphrase = "phrase de passe de " + name;
    auto c = Client::open(o);
    EXPECT_TRUE(c.ok()) << c.error().message;
    if (!c.ok()) return nullptr;
    auto connected = (*c)->connect();
    EXPECT_TRUE(connected.ok()) << connected.error().message;
    if (register_it && !(*c)->registered()) {
      auto r = (*c)->register_account(name);
      EXPECT_TRUE(r.ok()) << r.error().message;
    }
    return std::move(*c);
  }

  // Copies the folder's files and folders (not the admin socket).
  static void copy_files(const std::string& from, const std::string& to) {
    namespace fs = std::filesystem;
    fs::create_directories(to);
    for (const auto& e : fs::recursive_directory_iterator(from)) {
      const fs::path target = fs::path(to) / fs::relative(e.path(), from);
      if (e.is_directory()) fs::create_directories(target);
      if (e.is_regular_file()) fs::copy_file(e.path(), target);
    }
  }

  // Stops the server, copies its data folder to `to`, and starts it again (on another port).
  void snapshot(const std::string& to) {
    server_.reset();
    copy_files(data_dir(), to);
    ASSERT_NO_FATAL_FAILURE(restart_server());
  }

  // Stops the server and starts it again on the copy `from`: the relay shows what it held then.
  void restore(const std::string& from) {
    server_.reset();
    std::filesystem::remove_all(data_dir());
    copy_files(from, data_dir());
    ASSERT_NO_FATAL_FAILURE(restart_server());
  }

  // `existing` approves `fresh` (a connected client without account) as a device of its account,
  // with the code the new device shows, as a person would type it.
  void approve(Client& existing, Client& fresh) {
    auto id = fresh.request_device(existing.handle());
    ASSERT_TRUE(id.ok()) << id.error().message << "\n" << server_->log();
    auto requests = existing.device_requests();
    ASSERT_TRUE(requests.ok()) << requests.error().message;
    EXPECT_TRUE(std::any_of(requests->begin(), requests->end(),
                            [&](const client::DeviceRequest& r) { return r.id == *id; }));
    ASSERT_TRUE(existing.start_approval(*id).ok());
    auto code = fresh.pairing_code(kWait);
    ASSERT_TRUE(code.ok()) << code.error().message;
    auto approved = existing.approve_device(*id, *code);
    ASSERT_TRUE(approved.ok()) << approved.error().message;
    auto joined = fresh.await_approval(kWait);
    ASSERT_TRUE(joined.ok()) << joined.error().message;
  }

  static bool reach(Client& c, const std::string& conv, uint64_t epoch,
                    std::vector<client::Event>* events = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto e = c.epoch(conv);
      if (e.ok() && *e >= epoch) return true;
      auto got = c.poll(100ms);
      if (!got.ok()) return false;
      if (events) events->insert(events->end(), got->begin(), got->end());
    }
    return false;
  }

  static std::vector<client::Event> announced(const std::vector<client::Event>& events) {
    std::vector<client::Event> out;
    for (const auto& e : events) {
      if (e.kind == client::Event::Kind::kDeviceAdded) out.push_back(e);
    }
    return out;
  }

  static size_t devices_of(Client& c, const std::string& conv, const std::string& handle) {
    auto devices = c.devices(conv);
    if (!devices.ok()) return 0;
    return std::count_if(devices->begin(), devices->end(),
                         [&](const client::Device& d) { return d.handle == handle; });
  }
};

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
  auto events = alice->poll(100ms);
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
  ASSERT_TRUE(reach(*alice2, *conv, *bob->epoch(*conv)));
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
  ASSERT_TRUE(reach(*bob, *group, *carol->epoch(*group)));
  ASSERT_TRUE(bob->poll(100ms).ok());
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
  auto got = carol->poll(100ms);
  ASSERT_TRUE(got.ok());
  carol_events = *got;
  ASSERT_TRUE(reach(*bob, *group, *carol->epoch(*group), &bob_events));
  got = bob->poll(100ms);
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
class ClientDevicesTamperedTest : public ClientDevicesTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ClientDevicesTest::SetUp());
    std::string error;
    relay_ = RewritingRelay::start(server_->port(), &error);
    ASSERT_TRUE(relay_) << error;
    alice_ = sdk_client("alice");
    bob_ = sdk_client("bob", true, "", relay_->port());
    ASSERT_TRUE(alice_ && bob_);
    // bob meets alice through the honest answers first: his client pins her chain.
    auto direct = bob_->start_direct("alice");
    ASSERT_TRUE(direct.ok()) << direct.error().message;
    auto group = bob_->create_group();
    ASSERT_TRUE(group.ok()) << group.error().message;
    group_ = *group;
    epoch_ = *bob_->epoch(group_);
  }

  // From now on, every AccountInfo the relay gives bob about alice goes through `edit`, and every
  // FetchKeyPackages answer about her through `packages`.
  void lie_about_alice(std::function<void(v1::AccountInfo&)> edit,
                       std::function<void(v1::FetchKeyPackagesResult&)> packages = {}) {
    relay_->set_rewrite([edit, packages](v1::Response& r) {
      v1::AccountInfo* account = r.has_account() ? r.mutable_account()
                                 : r.has_fetch_key_packages()
                                     ? r.mutable_fetch_key_packages()->mutable_account()
                                     : nullptr;
      if (!account || account->handle() != "alice") return;
      if (edit) edit(*account);
      if (packages && r.has_fetch_key_packages()) packages(*r.mutable_fetch_key_packages());
    });
  }

  void expect_nothing_committed() {
    EXPECT_EQ(*bob_->epoch(group_), epoch_);
    EXPECT_EQ(devices_of(*bob_, group_, "alice"), 0u);
  }

  std::unique_ptr<RewritingRelay> relay_;
  std::unique_ptr<Client> alice_, bob_;
  std::string group_;
  uint64_t epoch_ = 0;
};

TEST_F(ClientDevicesTamperedTest, ALinkTheRelayAddedIsRefusedAndNothingIsCommitted) {
  // The relay appends an ADD of its own key, signed by that key (no device of alice signed it).
  std::string refusal;
  lie_about_alice([&refusal](v1::AccountInfo& account) {
    const std::vector<v1::DeviceLink> links(account.chain().begin(), account.chain().end());
    auto view = policy::verify_chain("alice", links);
    if (!view.ok()) return;  // The honest chain: the test then fails on the message below.
    const DeviceKey forged;  // The relay's own key.
    const std::string secret = secret_bytes(forged.sk);
    *account.add_chain() = device_add_link(view.view, "alice", secret, forged.public_key(), secret);
    const std::vector<v1::DeviceLink> all(account.chain().begin(), account.chain().end());
    refusal = policy::verify_chain("alice", all).refusal->message;
  });
  auto added = bob_->add_member(group_, "alice");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, Errc::kRefused);
  ASSERT_FALSE(refusal.empty());
  EXPECT_EQ(added.error().message,
            "alice's device chain is not valid (" + refusal + "); no device of alice was added");
  expect_nothing_committed();
}

TEST_F(ClientDevicesTamperedTest, AnotherFirstLinkIsRefusedAndNothingIsCommitted) {
  // A chain of the relay's own making, valid in itself, from another first device.
  lie_about_alice([](v1::AccountInfo& account) {
    const DeviceKey forged;  // The relay's own key.
    account.clear_chain();
    *account.add_chain() = device_first_link("alice", forged.public_key(), secret_bytes(forged.sk));
  });
  auto added = bob_->add_member(group_, "alice");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, Errc::kRefused);
  EXPECT_EQ(added.error().message,
            "alice's identity changed: the server shows another device chain than the one first "
            "seen; verify alice again before adding their devices");
  expect_nothing_committed();
}

TEST_F(ClientDevicesTamperedTest, APackageWhoseKeyIsNotInTheChainIsNotAdded) {
  // The relay hands out, beside alice's own package, one of a device no device of alice approved.
  mls::KeyPackageOptions options;
  options.extension_types = policy::leaf_extension_types();
  const std::string peer = policy::kind_extension(policy::Kind::kPeer);
  options.leaf_extensions = {
      mls::Extension{policy::kAccountTypeExtensionType, mls::Bytes(peer.begin(), peer.end())}};
  auto hidden = mls::create_key_package(mls::Credential(mls::Bytes{'a', 'l', 'i', 'c', 'e'}),
                                        mls::SignaturePrivateKey::generate(), options);
  ASSERT_TRUE(hidden.ok());
  const std::string data(hidden->key_package.begin(), hidden->key_package.end());
  lie_about_alice({}, [data](v1::FetchKeyPackagesResult& result) {
    auto* extra = result.add_key_packages();
    extra->set_device_id(result.key_packages(0).device_id() + 1000);
    extra->set_data(data);
  });
  auto added = bob_->add_member(group_, "alice");
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(devices_of(*bob_, group_, "alice"), 1u);
  // Only her package of a device outside the chain: nobody is added.
  lie_about_alice({}, [data](v1::FetchKeyPackagesResult& result) {
    result.mutable_key_packages(0)->set_data(data);
  });
  auto group = bob_->create_group();
  ASSERT_TRUE(group.ok());
  const uint64_t epoch = *bob_->epoch(*group);
  auto refused = bob_->add_member(*group, "alice");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kRefused);
  EXPECT_EQ(refused.error().message,
            "no device of alice that can be added now is in their device chain");
  EXPECT_EQ(*bob_->epoch(*group), epoch);
}

}  // namespace
}  // namespace cercle::testing
