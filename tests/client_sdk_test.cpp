// The client SDK against the real server: direct conversations, groups with concurrent changes,
// removal, offline catch-up, restarting from the local store, a wrong passphrase, a professional's
// own conversations.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "cercle/mls/state.h"
#include "client/sdk/client.h"
#include "client/sdk/local.pb.h"
#include "client/sdk/local_store.h"
#include "testing/server_process.h"
#include "testing/ws_client.h"
#include "tests/sdk_round_trip.h"

namespace cercle::testing {
namespace {

using client::Client;
using client::Event;
using client::Role;

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

  // The texts of `conv` that reached `c` before the answer to a request it sends now
  // (sdk_round_trip.h): "nothing more arrives" is settled_texts(...).empty().
  static std::vector<std::string> settled_texts(Client& c, const std::string& conv) {
    auto events = events_before_round_trip(c);
    EXPECT_TRUE(events.ok()) << events.error().message;
    std::vector<std::string> texts;
    if (!events.ok()) return texts;
    for (const auto& e : *events) {
      if (e.kind == Event::Kind::kMessage && e.conversation == conv)
        texts.push_back(e.message.text);
    }
    return texts;
  }

  // Polls `c` until `n` messages arrived in `conv` (or `wait` passed); returns their texts.
  static std::vector<std::string> receive(
      Client& c, const std::string& conv, size_t n,
      std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    std::vector<std::string> texts;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (texts.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto events = c.poll(std::chrono::milliseconds(100));
      if (!events.ok()) break;
      for (const auto& e : *events) {
        if (e.kind == Event::Kind::kMessage && e.conversation == conv)
          texts.push_back(e.message.text);
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

  // Polls until `c` reached `epoch` of `conv`.
  static bool wait_epoch(Client& c, const std::string& conv, uint64_t epoch) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto e = c.epoch(conv);
      if (e.ok() && *e >= epoch) return true;
      if (!c.poll(std::chrono::milliseconds(100)).ok()) return false;
    }
    return false;
  }

  // The saved record of `name`'s only conversation, from its local store (its client closed).
  void saved_conversation(const std::string& name, client::local::Conversation* out) {
    auto store = client::LocalStore::open(options(name).data_dir, options(name).passphrase);
    ASSERT_TRUE(store.ok());
    auto names = (*store)->list("conv/");
    ASSERT_EQ(names.size(), 1u);
    ASSERT_TRUE(out->ParseFromString(**(*store)->get(names[0])));
  }

  // The first page of `conv`'s log (`conv` as the SDK writes it: hex), as the relay serves it to
  // `name`'s device on a protocol connection opened with the key from its local store (its client
  // closed).
  void read_log_as(const std::string& name, const std::string& conv,
                   std::vector<v1::Delivery>* out) {
    auto store = client::LocalStore::open(options(name).data_dir, options(name).passphrase);
    ASSERT_TRUE(store.ok());
    client::local::Identity id;
    ASSERT_TRUE(id.ParseFromString(**(*store)->get("identity")));
    DeviceKey key;
    std::memcpy(key.sk, id.device_secret_key().data(), 64);
    std::memcpy(key.pk, id.device_secret_key().data() + 32, 32);
    auto raw = WsClient::connect(server_->port());
    ASSERT_TRUE(raw && raw->hello_and_authenticate(key));
    std::string conv_bytes;
    for (size_t i = 0; i < conv.size(); i += 2) {
      conv_bytes.push_back(static_cast<char>(std::stoi(conv.substr(i, 2), nullptr, 16)));
    }
    v1::ClientFrame fetch;
    fetch.mutable_fetch_log()->set_conversation_id(conv_bytes);
    fetch.mutable_fetch_log()->set_limit(100);
    auto log = raw->call(fetch);
    ASSERT_TRUE(log && log->has_log());
    out->assign(log->log().entries().begin(), log->log().entries().end());
  }

  // Polls `c` (5 s at most) until it says it left a conversation; a warning on the way fails.
  static void expect_left(Client& c) {
    bool left = false;
    for (int i = 0; i < 50 && !left; ++i) {
      auto events = c.poll(std::chrono::milliseconds(100));
      ASSERT_TRUE(events.ok()) << events.error().message;
      for (const auto& e : *events) {
        left |= e.kind == Event::Kind::kLeft;
        if (e.kind == Event::Kind::kWarning) ADD_FAILURE() << e.detail;
      }
    }
    EXPECT_TRUE(left);
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
  for (Client* c : {alice.get(), bob.get()}) {
    auto list = c->conversations();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_TRUE(list[0].direct) << c->handle();  // Also for the one who joined from a Welcome.
  }
  EXPECT_EQ(*alice->epoch_authenticator(*conv), *bob->epoch_authenticator(*conv));
  auto history = bob->history(*conv);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].sender, "alice");
  EXPECT_TRUE((*history)[1].own);
}

// A professional's own new conversations: the creator's leaf says what its account is, as its
// KeyPackages do, so the relay accepts their first commits and the peer sees the professional
// marked. (No rule stops a professional from starting a conversation or a group: they come into
// the groups of others only by invitation.)
TEST_F(ClientSdkTest, AProfessionalStartsAConversationAndCreatesAGroup) {
  client("dr_martin").reset();  // Registered, then made a professional by an admin.
  int status = -1;
  run_admin(dir_.path() + "/data", {"account", "set-type", "dr_martin", "professional"}, &status);
  ASSERT_EQ(status, 0);
  auto pro = client("dr_martin");  // Its sign-in learns the new type.
  auto bob = client("bob");
  ASSERT_TRUE(pro && bob);

  auto direct = pro->start_direct("bob");
  ASSERT_TRUE(direct.ok()) << direct.error().message;
  ASSERT_TRUE(joined(*bob, *direct));
  ASSERT_TRUE(pro->send_text(*direct, "Bonjour, ici le docteur Martin").ok());
  EXPECT_EQ(receive(*bob, *direct, 1), std::vector<std::string>{"Bonjour, ici le docteur Martin"});
  auto history = bob->history(*direct);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_TRUE((*history)[0].professional);

  auto group = pro->create_group();
  ASSERT_TRUE(group.ok()) << group.error().message;
  auto added = pro->add_member(*group, "bob");
  ASSERT_TRUE(added.ok()) << added.error().message;
  ASSERT_TRUE(joined(*bob, *group));
  for (const std::string& conv : {*direct, *group}) {
    auto members = bob->members(conv);
    ASSERT_TRUE(members.ok());
    ASSERT_EQ(members->size(), 2u);
    for (const auto& m : *members) {
      EXPECT_EQ(m.professional, m.handle == "dr_martin") << m.handle;
      if (conv == *group && m.handle == "dr_martin") {
        EXPECT_EQ(m.role, Role::kFacilitator);
      }
    }
  }
}

TEST_F(ClientSdkTest, AWrongPassphraseIsRefusedCleanly) {
  ASSERT_TRUE(client("alice"));
  auto o = options("alice");
  o.passphrase = "pas la bonne";
  auto wrong = Client::open(o);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, client::Errc::kBadPassphrase);
  EXPECT_NE(wrong.error().message.find("passphrase"), std::string::npos);
  // The right one still opens it, with the account intact.
  auto right = Client::open(options("alice"));
  ASSERT_TRUE(right.ok());
  EXPECT_TRUE((*right)->registered());
}

TEST_F(ClientSdkTest, TwoMembersCommittingAtOnceEndInTheSameEpoch) {
  auto alice = client("alice"), bob = client("bob"), carol = client("carol"), dave = client("dave");
  auto conv = alice->create_group();
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(alice->add_member(*conv, "bob").ok());
  ASSERT_TRUE(joined(*bob, *conv));
  ASSERT_TRUE(alice->set_role(*conv, "bob", Role::kFacilitator).ok());  // Both may add people.
  ASSERT_TRUE(wait_epoch(*bob, *conv, *alice->epoch(*conv)));
  const uint64_t epoch = *bob->epoch(*conv);
  // Alice commits first; Bob, who has not seen it, builds his on the same epoch: the server says
  // stale, and his client follows Alice's commit and rebuilds his own on top.
  ASSERT_TRUE(alice->add_member(*conv, "carol").ok());
  auto bobs = bob->add_member(*conv, "dave");
  ASSERT_TRUE(bobs.ok()) << bobs.error().message;
  EXPECT_EQ(*bob->epoch(*conv), epoch + 2);
  ASSERT_TRUE(joined(*carol, *conv));
  ASSERT_TRUE(joined(*dave, *conv));
  for (Client* c : {alice.get(), carol.get()}) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (*c->epoch(*conv) < epoch + 2 && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(c->poll(std::chrono::milliseconds(100)).ok());
    }
  }
  const std::string auth = *alice->epoch_authenticator(*conv);
  for (Client* c : {bob.get(), carol.get(), dave.get()}) {
    EXPECT_EQ(*c->epoch_authenticator(*conv), auth) << c->handle();
    EXPECT_EQ(c->members(*conv)->size(), 4u);
  }
}

TEST_F(ClientSdkTest, AGroupOfTenChangesWhileMembersSend) {
  std::vector<std::unique_ptr<Client>> m;
  for (int i = 0; i < 10; ++i) m.push_back(client("membre" + std::to_string(i)));
  auto conv = m[0]->create_group();
  ASSERT_TRUE(conv.ok());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(m[0]->add_member(*conv, m[i]->handle()).ok());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(joined(*m[i], *conv)) << i;
  ASSERT_TRUE(m[0]->set_role(*conv, m[4]->handle(), Role::kFacilitator).ok());  // Shares the role.
  // Members 1 and 2 keep sending while the facilitator adds 6..9 and removes 3; members act on
  // stale views and their clients catch up and retry.
  int sent = 0;
  for (int i = 6; i <= 9; ++i) {
    ASSERT_TRUE(m[1]->send_text(*conv, "message " + std::to_string(sent++)).ok());
    ASSERT_TRUE(m[0]->add_member(*conv, m[i]->handle()).ok());
    ASSERT_TRUE(m[2]->send_text(*conv, "message " + std::to_string(sent++)).ok());
    if (i == 7) {
      ASSERT_TRUE(m[4]->remove_member(*conv, m[3]->handle()).ok());
    }
  }
  for (int i = 6; i <= 9; ++i) ASSERT_TRUE(joined(*m[i], *conv)) << i;
  ASSERT_TRUE(m[5]->send_text(*conv, "à tous").ok());
  for (int i : {0, 1, 2, 4, 6, 7, 8, 9}) {
    // Everyone still in receives the last message...
    bool last = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!last && std::chrono::steady_clock::now() < deadline) {
      for (const auto& text : receive(*m[i], *conv, 1, std::chrono::milliseconds(200))) {
        last |= text == "à tous";
      }
    }
    ASSERT_TRUE(last) << i;
  }
  const std::string auth = *m[5]->epoch_authenticator(*conv);
  for (int i : {0, 1, 2, 4, 6, 7, 8, 9}) {
    EXPECT_EQ(*m[i]->epoch_authenticator(*conv), auth) << i;  // ...in the same group state...
    EXPECT_EQ(m[i]->members(*conv)->size(), 9u) << i;         // ...without member 3.
  }
  // Member 0 saw all 8 messages of members 1 and 2, in order, and the last one.
  auto history = m[0]->history(*conv);
  ASSERT_TRUE(history.ok());
  std::vector<std::string> texts;
  for (const auto& h : *history) texts.push_back(h.text);
  ASSERT_EQ(texts.size(), 9u);
  for (int k = 0; k < 8; ++k) EXPECT_EQ(texts[k], "message " + std::to_string(k));
}

TEST_F(ClientSdkTest, ARemovedMemberCannotDecryptWhatFollows) {
  auto alice = client("alice"), bob = client("bob");
  auto conv = alice->create_group();
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(alice->add_member(*conv, "bob").ok());
  ASSERT_TRUE(joined(*bob, *conv));
  bob.reset();  // Bob's saved MLS state is now the last one he had as a member.
  ASSERT_TRUE(alice->remove_member(*conv, "bob").ok());
  ASSERT_TRUE(alice->send_text(*conv, "après le départ de Bob").ok());
  alice.reset();  // Its store is read below: one program at a time.

  // Bob's last state as a member, from his own store.
  client::local::Conversation saved;
  ASSERT_NO_FATAL_FAILURE(saved_conversation("bob", &saved));
  auto bob_state =
      mls::State::deserialize(mls::Bytes(saved.mls_state().begin(), saved.mls_state().end()));
  ASSERT_TRUE(bob_state.ok());

  // What was sent after the removal, as the log holds it (read by Alice's device).
  std::vector<v1::Delivery> entries;
  ASSERT_NO_FATAL_FAILURE(read_log_as("alice", *conv, &entries));
  ASSERT_GE(entries.size(), 3u);
  const auto& removal = entries[entries.size() - 2];
  const auto& secret = entries[entries.size() - 1];
  ASSERT_EQ(removal.kind(), v1::COMMIT);
  ASSERT_EQ(secret.kind(), v1::APPLICATION);
  auto as_bytes = [](const std::string& s) { return mls::Bytes(s.begin(), s.end()); };
  // With his last state the message does not open (it is of the next epoch)...
  EXPECT_FALSE(bob_state->process(as_bytes(secret.payload())).ok());
  // ...and processing his removal gives him no next epoch to open it with.
  auto removed = bob_state->process(as_bytes(removal.payload()));
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_TRUE(removed->removed);
  EXPECT_FALSE(removed->state.process(as_bytes(secret.payload())).ok());

  // Bob's client learns it was removed, forgets the keys and cannot write any more.
  bob = client("bob");
  ASSERT_TRUE(bob);
  ASSERT_NO_FATAL_FAILURE(expect_left(*bob));
  EXPECT_FALSE(bob->send_text(*conv, "encore là ?").ok());
  EXPECT_TRUE(settled_texts(*bob, *conv).empty());
  bob.reset();
  ASSERT_NO_FATAL_FAILURE(saved_conversation("bob", &saved));
  EXPECT_TRUE(saved.left());
  EXPECT_TRUE(saved.mls_state().empty());
}

TEST_F(ClientSdkTest, AnOfflineDeviceCatchesUpOnHundredMessagesInOrder) {
  auto alice = client("alice"), bob = client("bob");
  auto conv = alice->start_direct("bob");
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(joined(*bob, *conv));
  bob->disconnect();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(alice->send_text(*conv, "n" + std::to_string(i)).ok());
  ASSERT_TRUE(bob->connect().ok());
  auto got = receive(*bob, *conv, 100);
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], "n" + std::to_string(i));
  EXPECT_TRUE(settled_texts(*bob, *conv).empty());  // Nothing twice.
}

TEST_F(ClientSdkTest, ARestartedClientContinuesFromItsLocalStore) {
  auto alice = client("alice");
  std::string conv;
  {
    auto bob = client("bob");
    auto started = alice->start_direct("bob");
    ASSERT_TRUE(started.ok());
    conv = *started;
    ASSERT_TRUE(joined(*bob, conv));
    ASSERT_TRUE(alice->send_text(conv, "avant").ok());
    ASSERT_EQ(receive(*bob, conv, 1).size(), 1u);
  }  // Bob's process goes away.
  ASSERT_TRUE(alice->send_text(conv, "pendant").ok());
  auto bob = client("bob");  // Same folder, same passphrase.
  ASSERT_TRUE(bob->registered());
  EXPECT_EQ(receive(*bob, conv, 1), std::vector<std::string>{"pendant"});
  ASSERT_TRUE(bob->send_text(conv, "après").ok());
  EXPECT_EQ(receive(*alice, conv, 1), std::vector<std::string>{"après"});
  auto history = bob->history(conv);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].text, "avant");
  EXPECT_EQ((*history)[2].text, "après");
}

}  // namespace
}  // namespace cercle::testing
