// GroupsTest: the fixture of the groupe de parole tests with the real server (started with
// --test-clock) and SDK clients (groups_test.cpp: who joins and who changes the group;
// groups_moderation_test.cpp: mute, deletion, retention, reports, the instance admin). Users by
// name, their events, what they see, the admin command, a device's raw protocol connection, and
// the data folder's files. One thread, like the tests.
#pragma once

#include <gtest/gtest.h>

#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "client/sdk/client.h"
#include "client/sdk/local.pb.h"
#include "client/sdk/local_store.h"
#include "proto/cercle.pb.h"
#include "testing/server_process.h"
#include "testing/ws_client.h"
#include "tests/sdk_round_trip.h"

namespace cercle::testing {

using namespace std::chrono_literals;
using client::Client;
using client::Event;
using client::Role;

class GroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ =
        ServerProcess::start(data(), {"--registration", "open", "--test-clock", "true"}, &error);
    ASSERT_TRUE(server_) << error;
  }

  std::string data() const { return dir_.path() + "/data"; }

  client::Options options(const std::string& name) {
    client::Options o;
    o.server_url = "ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws";
    o.data_dir = dir_.path() + "/clients/" + name;
    o.passphrase = "phrase de passe de " + name;
    o.timeout = 10s;
    return o;
  }

  // Opens, connects and registers `name`; a professional's type is set before its first sign-in,
  // so that its key packages say so from the start.
  Client& user(const std::string& name, bool professional = false) {
    if (professional) {
      auto c = Client::open(options(name));
      EXPECT_TRUE(c.ok() && (*c)->connect().ok() && (*c)->register_account(name).ok());
      c->reset();
      set_type(name, "professional");
    }
    auto c = Client::open(options(name));
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    auto connected = (*c)->connect();
    EXPECT_TRUE(connected.ok()) << connected.error().message;
    if (!(*c)->registered()) {
      EXPECT_TRUE((*c)->register_account(name).ok());
    }
    users_[name] = std::move(*c);
    return *users_[name];
  }

  void set_type(const std::string& handle, const std::string& type) {
    int status = -1;
    run_admin(data(), {"account", "set-type", handle, type}, &status);
    ASSERT_EQ(status, 0);
  }

  // Polls every user until `done` holds (10 s at most); keeps what they saw.
  bool until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (done()) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      for (auto& [name, c] : users_) {
        auto events = c->poll(20ms);
        if (!events.ok()) continue;
        auto& seen = seen_[name];
        seen.insert(seen.end(), events->begin(), events->end());
      }
    }
  }

  // Processes what reached `name` before the answer to a request it sends now (sdk_round_trip.h):
  // call it once the refused request that must change nothing was answered.
  void settled(const std::string& name) {
    auto events = events_before_round_trip(*users_[name]);
    ASSERT_TRUE(events.ok()) << events.error().message;
    auto& seen = seen_[name];
    seen.insert(seen.end(), events->begin(), events->end());
  }

  bool has_event(const std::string& name, Event::Kind kind) {
    for (const auto& e : seen_[name]) {
      if (e.kind == kind) return true;
    }
    return false;
  }

  bool member_of(const std::string& name, const std::string& conv) {
    auto m = users_[name]->members(conv);
    return m.ok() && std::any_of(m->begin(), m->end(), [&](const auto& x) { return x.self; });
  }

  bool sees(const std::string& name, const std::string& conv, const std::string& text) {
    auto h = users_[name]->history(conv);
    return h.ok() &&
           std::any_of(h->begin(), h->end(), [&](const auto& m) { return m.text == text; });
  }

  bool same_epoch(const std::string& conv, const std::vector<std::string>& names) {
    auto first = users_[names[0]]->epoch_authenticator(conv);
    if (!first.ok()) return false;
    for (const auto& n : names) {
      auto a = users_[n]->epoch_authenticator(conv);
      if (!a.ok() || *a != *first) return false;
    }
    return true;
  }

  // A group made by `facilitator` with `members` in it, every member caught up.
  std::string group(const std::string& facilitator, const std::vector<std::string>& members) {
    auto conv = users_[facilitator]->create_group();
    EXPECT_TRUE(conv.ok()) << conv.error().message;
    for (const auto& m : members) {
      auto added = users_[facilitator]->add_member(*conv, m);
      EXPECT_TRUE(added.ok()) << m << ": " << added.error().message;
    }
    std::vector<std::string> all = members;
    all.push_back(facilitator);
    EXPECT_TRUE(until([&] { return same_epoch(*conv, all); }));
    return *conv;
  }

  static int server_code(const client::Status& s) { return s.ok() ? 0 : s.error().server_code; }

  static std::string raw_conv(const std::string& hex) {
    std::string conv(16, '\0');
    sodium_hex2bin(reinterpret_cast<unsigned char*>(conv.data()), conv.size(), hex.data(),
                   hex.size(), nullptr, nullptr, nullptr);
    return conv;
  }

  // A raw connection authenticated as `name`'s device, whose key is read from its local store (its
  // client is closed first: the store is locked while open).
  std::unique_ptr<WsClient> raw_device(const std::string& name) {
    users_.erase(name);
    auto store = client::LocalStore::open(options(name).data_dir, options(name).passphrase);
    EXPECT_TRUE(store.ok());
    if (!store.ok()) return nullptr;
    auto raw = (*store)->get("identity");
    client::local::Identity identity;
    EXPECT_TRUE(raw.ok() && *raw && identity.ParseFromString(**raw));
    DeviceKey key;
    std::memcpy(key.sk, identity.device_secret_key().data(), 64);
    std::memcpy(key.pk, identity.device_secret_key().data() + 32, 32);
    auto ws = WsClient::connect(server_->port());
    const bool ok = ws && ws->hello() && ws->authenticate(key);
    EXPECT_TRUE(ok);
    return ok ? std::move(ws) : nullptr;
  }

  // The ciphertext the relay stored for entry `seq`, read as `name`'s device.
  std::string stored_payload(const std::string& name, const std::string& conv_hex, uint64_t seq) {
    auto ws = raw_device(name);
    if (!ws) return {};
    v1::ClientFrame f;
    f.mutable_fetch_log()->set_conversation_id(raw_conv(conv_hex));
    f.mutable_fetch_log()->set_after_seq(seq - 1);
    f.mutable_fetch_log()->set_limit(1);
    auto r = ws->call(f);
    EXPECT_TRUE(r && r->has_log() && r->log().entries_size() == 1);
    const std::string payload = r->log().entries(0).payload();
    user(name);  // Back online.
    return payload;
  }

  // Whether any file of the data folder holds `bytes`.
  bool on_disk(const std::string& bytes) {
    for (const auto& f : std::filesystem::recursive_directory_iterator(data())) {
      if (!f.is_regular_file()) continue;
      std::ifstream in(f.path(), std::ios::binary);
      const std::string content((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
      if (content.find(bytes) != std::string::npos) return true;
    }
    return false;
  }

  // Waits until `bytes` left every file (a background compaction removes them).
  bool gone_from_disk(const std::string& bytes) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (on_disk(bytes)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(100ms);
    }
    return true;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::map<std::string, std::unique_ptr<Client>> users_;
  std::map<std::string, std::vector<Event>> seen_;
};

}  // namespace cercle::testing
