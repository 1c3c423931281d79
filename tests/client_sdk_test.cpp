// The client SDK against the real server: direct conversations, groups with concurrent changes,
// removal, offline catch-up, restarting from the local store, a wrong passphrase.
#include <gtest/gtest.h>

#include <filesystem>

#include "client-lib/sdk/client.h"
#include "tests/support/server_process.h"

namespace cercle::testing {
namespace {

using client::Client;
using client::Event;

class ClientSdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = ServerProcess::start(dir_.path() + "/data", {"--registration", "open"}, &error);
    ASSERT_TRUE(server_) << error;
  }

  client::Options options(const std::string& name) {
    client::Options o;
    o.server_url = "ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws";
    o.data_dir = dir_.path() + "/clients/" + name;
    o.passphrase = "phrase de passe de " + name;
    o.timeout = std::chrono::seconds(10);
    return o;
  }

  // Opens a client, connects, and registers it as `name` if it is new.
  std::unique_ptr<Client> client(const std::string& name) {
    auto c = Client::open(options(name));
    EXPECT_TRUE(c.ok()) << c.error().message;
    if (!c.ok()) return nullptr;
    auto connected = (*c)->connect();
    EXPECT_TRUE(connected.ok()) << connected.error().message;
    if (!(*c)->registered()) {
      auto registered = (*c)->register_account(name);
      EXPECT_TRUE(registered.ok()) << registered.error().message;
    }
    return std::move(*c);
  }

  // Polls `c` until `n` messages arrived in `conv` (or 10 s passed); returns their texts.
  static std::vector<std::string> receive(Client& c, const std::string& conv, size_t n) {
    std::vector<std::string> texts;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (texts.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto events = c.poll(std::chrono::milliseconds(100));
      if (!events.ok()) break;
      for (const auto& e : *events) {
        if (e.kind == Event::Kind::kMessage && e.conversation == conv) texts.push_back(e.message.text);
      }
    }
    return texts;
  }

  // Polls until `c` is in `conv` (its Welcome was processed).
  static bool joined(Client& c, const std::string& conv) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (c.epoch(conv).ok()) return true;
      if (!c.poll(std::chrono::milliseconds(100)).ok()) return false;
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ClientSdkTest, DirectConversationBothWays) {
  auto alice = client("alice");
  auto bob = client("bob");
  ASSERT_TRUE(alice && bob);
  auto conv = alice->start_direct("bob");
  ASSERT_TRUE(conv.ok()) << conv.error().message;
  ASSERT_TRUE(joined(*bob, *conv));
  ASSERT_TRUE(alice->send_text(*conv, "Bonjour Bob").ok());
  EXPECT_EQ(receive(*bob, *conv, 1), std::vector<std::string>{"Bonjour Bob"});
  ASSERT_TRUE(bob->send_text(*conv, "Salut Alice").ok());
  EXPECT_EQ(receive(*alice, *conv, 1), std::vector<std::string>{"Salut Alice"});
  auto members = bob->members(*conv);
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 2u);
  EXPECT_EQ(*alice->epoch_authenticator(*conv), *bob->epoch_authenticator(*conv));
  auto history = bob->history(*conv);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].sender, "alice");
  EXPECT_TRUE((*history)[1].own);
}

}  // namespace
}  // namespace cercle::testing
