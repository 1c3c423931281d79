// ClientDevicesTest: the fixture of the device-approval and device-chain tests of the SDK against
// the real server (client_devices_test.cpp: approval, chains shown by the relay, the command line;
// client_devices_tampered_test.cpp: a double rewriting the relay's answers). SDK clients in the
// test's temporary folder, approvals with the code a new device shows, and what a client's
// conversations say about an account's devices. One thread, like the tests.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <sodium.h>

#include "cercle/mls/key_package.h"
#include "cercle/policy/device_chain.h"
#include "cercle/policy/policy.h"
#include "client/sdk/client.h"
#include "testing/client_view.h"
#include "testing/relay_fixture.h"
#include "testing/rewriting_relay.h"
#include "tests/sdk_round_trip.h"

namespace cercle::testing {

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

}  // namespace cercle::testing
