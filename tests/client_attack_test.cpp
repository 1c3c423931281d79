// A malicious member against honest SDK clients, through the real server.
//
// The attacker (mallory) is a plain member of a groupe de parole whose device speaks the protocol
// directly with the project's own MLS library (client/mls), so it can send what no honest
// client would: a commit dressed as an ordinary message (which the relay forwards unread), a
// proposal whose membership tag it spoiled (which the relay cannot check), a commit whose
// UpdatePath leaf changes who it is. The honest members (alice, who facilitates, and bob) are SDK
// clients. Each attack must leave their group exactly as it was and the conversation going on.
// Where the real server refuses an attack itself, a tampering relay (testing/tamper_proxy.h)
// delivers it anyway, as a compromised server would.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cercle/mls/key_package.h"
#include "cercle/mls/state.h"
#include "cercle/policy/extensions.h"
#include "client/sdk/client.h"
#include "proto/cercle.pb.h"
#include "proto/policy.pb.h"
#include "testing/client_view.h"
#include "testing/server_process.h"
#include "testing/tamper_proxy.h"
#include "testing/ws_client.h"

namespace cercle::testing {
namespace {

using namespace std::chrono_literals;
using client::Client;
using client::Event;

mls::Bytes bytes(const std::string& s) { return mls::Bytes(s.begin(), s.end()); }
std::string str(const mls::Bytes& b) { return std::string(b.begin(), b.end()); }

std::string hex(const mls::Bytes& b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t c : b) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// The attacker's device: a raw connection and its own MLS state, signed with its device key.
struct Mallory {
  DeviceKey key;
  std::unique_ptr<WsClient> ws;
  std::optional<mls::SignaturePrivateKey> signer;
  std::vector<mls::KeyPackageBundle> bundles;
  std::optional<mls::State> state;

  // Registers "mallory" and publishes key packages that say "peer", as an honest client's do.
  void join_instance(uint16_t port) {
    ws = WsClient::connect(port);
    ASSERT_TRUE(ws);
    ASSERT_TRUE(ws->hello_and_register(key, "mallory")) << ws->last_error();
    signer = mls::SignaturePrivateKey::from_seed(mls::BytesView(key.sk, 32)).value();
    v1::ClientFrame upload;
    for (int i = 0; i < 2; ++i) {
      mls::KeyPackageOptions options;
      options.extension_types = policy::leaf_extension_types();
      options.leaf_extensions.push_back(mls::Extension{policy::kAccountTypeExtensionType, {1}});
      bundles.push_back(
          mls::create_key_package(mls::Credential(bytes("mallory")), *signer, options).value());
      upload.mutable_upload_key_packages()->add_key_packages()->set_data(
          str(bundles.back().key_package));
    }
    auto r = ws->call(upload);
    ASSERT_TRUE(r && r->has_upload_key_packages()) << (r ? r->error().message() : "timeout");
  }

  // Waits for its Welcome and joins.
  void join_group() {
    const auto deadline = std::chrono::steady_clock::now() + kClientWait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto d = ws->next_delivery(1s);
      if (!d || d->kind() != v1::WELCOME) continue;
      for (const auto& b : bundles) {
        auto joined = mls::State::join(bytes(d->payload()), b);
        if (joined) {
          state = std::move(*joined);
          return;
        }
      }
    }
    FAIL() << "mallory got no Welcome she could join with";
  }

  std::optional<v1::Response> send(const std::string& conv, const mls::Bytes& payload,
                                   v1::DeliveryKind kind) {
    v1::ClientFrame f = send_frame(conv, state->epoch(), str(payload));
    f.mutable_send()->set_kind(kind);
    return ws->call(f);
  }
};

class ClientAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = ServerProcess::start(dir_.path() + "/data", {"--registration", "open"}, &error);
    ASSERT_TRUE(server_) << error;
    relay_ = TamperingRelay::start(server_->port(), &error);
    ASSERT_TRUE(relay_) << error;
  }

  // A registered SDK client that reaches the server through the tampering relay (which passes
  // everything on until it is armed).
  std::unique_ptr<Client> client(const std::string& name) {
    client::Options o;
    o.server_url = "ws://127.0.0.1:" + std::to_string(relay_->port()) + "/ws";
    o.data_dir = dir_.path() + "/clients/" + name;
    o.passphrase = "phrase de passe de " + name;
    o.timeout = kClientWait;
    auto c = Client::open(o);
    EXPECT_TRUE(c.ok()) << c.error().message;
    if (!c.ok()) return nullptr;
    EXPECT_TRUE((*c)->connect().ok());
    auto registered = (*c)->register_account(name);
    EXPECT_TRUE(registered.ok()) << registered.error().message;
    return std::move(*c);
  }

  // alice creates a group and adds bob, then mallory; everyone reaches the same epoch.
  void make_group() {
    alice_ = client("alice");
    bob_ = client("bob");
    ASSERT_TRUE(alice_ && bob_);
    ASSERT_NO_FATAL_FAILURE(mallory_.join_instance(relay_->port()));
    auto conv = alice_->create_group();
    ASSERT_TRUE(conv.ok()) << conv.error().message;
    conv_ = *conv;
    ASSERT_TRUE(alice_->add_member(conv_, "bob").ok());
    auto added = alice_->add_member(conv_, "mallory");
    ASSERT_TRUE(added.ok()) << added.error().message;
    ASSERT_NO_FATAL_FAILURE(mallory_.join_group());
    std::vector<Event> ignored;
    ASSERT_TRUE(poll_until(
        *bob_, [&] { return view_of(*bob_, conv_) == view_of(*alice_, conv_); }, &ignored));
    ASSERT_EQ(hex(mallory_.state->epoch_authenticator()), view_of(*alice_, conv_).authenticator);
    ASSERT_EQ(view_of(*alice_, conv_).members,
              (std::vector<std::string>{"alice", "bob", "mallory"}));
    // What the set-up itself queued (alice's own commits, bob's joining) is not the attack's.
    for (Client* c : {alice_.get(), bob_.get()}) {
      auto queued = c->poll(0ms);
      ASSERT_TRUE(queued.ok());
      for (const auto& e : *queued) ASSERT_NE(e.kind, Event::Kind::kWarning) << e.detail;
    }
  }

  // `c` warns about the attack with `detail` and nothing else changes: the group stays `before`.
  void expect_refused(Client& c, const GroupView& before, const std::string& detail) {
    std::vector<Event> events;
    const auto warned = [&] {
      return std::any_of(events.begin(), events.end(),
                         [](const Event& e) { return e.kind == Event::Kind::kWarning; });
    };
    ASSERT_TRUE(poll_until(c, warned, &events)) << c.handle() << " said nothing";
    for (const auto& e : events) {
      EXPECT_NE(e.kind, Event::Kind::kMembersChanged) << c.handle() << " applied the attack";
      if (e.kind == Event::Kind::kWarning) {
        EXPECT_EQ(e.detail, detail) << c.handle();
      }
    }
    EXPECT_EQ(view_of(c, conv_), before) << c.handle();
  }

  // The conversation goes on: bob writes, alice reads; alice adds carol, bob follows.
  void expect_group_goes_on(const std::string& text) {
    ASSERT_TRUE(bob_->send_text(conv_, text).ok());
    std::vector<Event> events;
    const auto got = [&] {
      return std::any_of(events.begin(), events.end(), [&](const Event& e) {
        return e.kind == Event::Kind::kMessage && e.message.text == text;
      });
    };
    ASSERT_TRUE(poll_until(*alice_, got, &events)) << "alice never read bob's message";
    auto carol = client("carol");
    ASSERT_TRUE(carol);
    auto added = alice_->add_member(conv_, "carol");
    ASSERT_TRUE(added.ok()) << added.error().message;
    std::vector<Event> ignored;
    ASSERT_TRUE(poll_until(
        *bob_, [&] { return view_of(*bob_, conv_) == view_of(*alice_, conv_); }, &ignored))
        << "bob did not follow alice's next commit";
    EXPECT_EQ(view_of(*bob_, conv_).members,
              (std::vector<std::string>{"alice", "bob", "carol", "mallory"}));
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<TamperingRelay> relay_;
  std::unique_ptr<Client> alice_, bob_;
  Mallory mallory_;
  std::string conv_;
};

TEST_F(ClientAttackTest, ACommitSentAsAMessageSeatsNoGhost) {
  ASSERT_NO_FATAL_FAILURE(make_group());
  const GroupView before = view_of(*alice_, conv_);
  // mallory adds a ghost in a commit that she sends as an ordinary message, and hands the ghost
  // its Welcome herself. The relay refuses it (only a PrivateMessage with application content
  // travels as a message); a compromised relay delivers it anyway.
  mls::KeyPackageOptions supports;
  supports.extension_types = policy::leaf_extension_types();
  auto ghost_kp = mls::create_key_package(mls::Credential(bytes("ghost")),
                                          mls::SignaturePrivateKey::generate(), supports)
                      .value();
  mls::CommitOptions options;
  options.add_key_packages = {ghost_kp.key_package};
  auto commit = mallory_.state->commit(options).value();
  relay_->arm_send("mallory", raw_id(conv_));
  auto sent = mallory_.send(raw_id(conv_), commit.message, v1::APPLICATION);
  ASSERT_TRUE(sent && sent->has_error()) << (sent ? "accepted" : "timeout");
  EXPECT_EQ(sent->error().code(), v1::INVALID_ARGUMENT);
  EXPECT_EQ(sent->error().message(), "an application message must be an MLS PrivateMessage");
  EXPECT_EQ(relay_->injections().size(), 2u);  // Delivered to alice and bob all the same.
  auto ghost = mls::State::join(*commit.welcome, ghost_kp).value();

  ASSERT_NO_FATAL_FAILURE(expect_refused(*alice_, before, "a message could not be decrypted"));
  ASSERT_NO_FATAL_FAILURE(expect_refused(*bob_, before, "a message could not be decrypted"));
  // What bob writes next is for the group as its members see it: the ghost cannot read it.
  ASSERT_TRUE(bob_->send_text(conv_, "pour le groupe seulement").ok());
  std::optional<v1::Delivery> message;
  const auto deadline = std::chrono::steady_clock::now() + kClientWait;
  while (!message && std::chrono::steady_clock::now() < deadline) {
    auto d = mallory_.ws->next_delivery(1s);
    if (d && d->kind() == v1::APPLICATION && d->sender_device() != 0 &&
        d->payload() != str(commit.message)) {
      message = d;
    }
  }
  ASSERT_TRUE(message) << "bob's message never reached mallory's device";
  auto read_by_ghost = ghost.process(bytes(message->payload()));
  EXPECT_FALSE(read_by_ghost.ok()) << "the ghost read a member's message";
  auto read_by_mallory = mallory_.state->process(bytes(message->payload()));
  ASSERT_TRUE(read_by_mallory.ok()) << read_by_mallory.error().message;
  EXPECT_EQ(str(read_by_mallory->application_data), "pour le groupe seulement");
  ASSERT_NO_FATAL_FAILURE(expect_group_goes_on("on continue"));
}

TEST_F(ClientAttackTest, AProposalWithASpoiledMembershipTagIsDroppedAndTheGroupGoesOn) {
  ASSERT_NO_FATAL_FAILURE(make_group());
  const GroupView before = view_of(*alice_, conv_);
  // An honest-looking Update whose membership tag (the PublicMessage's last 32 bytes, a MAC the
  // relay has no key for) is spoiled: the relay keeps it, no member can read it.
  auto update = mallory_.state->propose_update().value();
  update.message.back() ^= 1;
  auto sent = mallory_.send(raw_id(conv_), update.message, v1::PROPOSAL);
  ASSERT_TRUE(sent && sent->has_send()) << (sent ? sent->error().message() : "timeout");
  const std::string detail = "a proposed change to the group was dropped: bad membership tag";
  ASSERT_NO_FATAL_FAILURE(expect_refused(*alice_, before, detail));
  ASSERT_NO_FATAL_FAILURE(expect_refused(*bob_, before, detail));
  ASSERT_NO_FATAL_FAILURE(expect_group_goes_on("toujours là"));
}

// The relay shows the group a public listing its facilitator never signed (it changed the name in
// the one alice published): every member's client checks the signature with alice's leaf key and
// shows nothing.
TEST_F(ClientAttackTest, AListingNoFacilitatorSignedIsShownToNobody) {
  ASSERT_NO_FATAL_FAILURE(make_group());
  auto rules = alice_->rules(conv_);
  ASSERT_TRUE(rules.ok());
  rules->open_to_peers = true;
  ASSERT_TRUE(alice_->set_rules(conv_, *rules).ok());
  relay_->set_delivery_rewrite([](v1::Delivery& d) {
    v1::GroupEvent e;
    if (d.kind() != v1::EVENT || !e.ParseFromString(d.payload()) || !e.has_published()) return;
    v1::PublicListing listing;
    if (!listing.ParseFromString(e.published().listing())) return;
    listing.set_name("Groupe piégé");
    e.mutable_published()->set_listing(listing.SerializeAsString());
    d.set_payload(e.SerializeAsString());
  });
  ASSERT_TRUE(alice_->publish_group(conv_, "Le mardi").ok());
  std::vector<Event> events;
  const auto warned = [&] {
    return std::any_of(events.begin(), events.end(),
                       [](const Event& e) { return e.kind == Event::Kind::kWarning; });
  };
  ASSERT_TRUE(poll_until(*bob_, warned, &events)) << "bob said nothing";
  for (const auto& e : events) {
    EXPECT_NE(e.kind, Event::Kind::kListingPublished) << e.detail;
    if (e.kind == Event::Kind::kWarning) {
      EXPECT_EQ(e.detail,
                "a public listing not signed by one of the group's facilitators was ignored");
    }
  }
}

TEST_F(ClientAttackTest, TheRelayChecksSignaturesInGroupsSdkClientsCreate) {
  // alice's client told the relay how the group started, so the relay follows it and checks
  // every commit's signature: a commit of mallory's spoiled in its signature is refused, the same
  // commit intact is accepted and followed by everyone.
  ASSERT_NO_FATAL_FAILURE(make_group());
  auto commit = mallory_.state->commit(mls::CommitOptions{}).value();
  // From the end: membership tag (1 + 32 bytes), confirmation tag (1 + 32), then the signature.
  mls::Bytes spoiled = commit.message;
  spoiled[spoiled.size() - 66 - 10] ^= 1;
  const uint64_t epoch = mallory_.state->epoch();
  auto refused = mallory_.ws->call(commit_frame(raw_id(conv_), epoch, str(spoiled)));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error().code(), v1::FORBIDDEN) << refused->error().message();
  auto accepted = mallory_.ws->call(commit_frame(raw_id(conv_), epoch, str(commit.message)));
  ASSERT_TRUE(accepted && accepted->has_commit()) << accepted->error().message();
  std::vector<Event> ignored;
  for (Client* c : {alice_.get(), bob_.get()}) {
    ASSERT_TRUE(poll_until(
        *c,
        [&] {
          return view_of(*c, conv_).authenticator == hex(commit.pending.epoch_authenticator());
        },
        &ignored))
        << c->handle() << " did not follow mallory's honest commit";
  }
}

// A commit from mallory whose UpdatePath leaf changes who she is. The real server refuses it; the
// tampering relay delivers it to alice and bob all the same.
struct LeafAttack {
  const char* name;
  mls::LeafChange (*change)();
  const char* refusal;
};

void PrintTo(const LeafAttack& a, std::ostream* os) { *os << a.name; }

class ClientLeafAttackTest : public ClientAttackTest,
                             public ::testing::WithParamInterface<LeafAttack> {};

TEST_P(ClientLeafAttackTest, ACommitChangingItsAuthorsLeafIsRefusedByEveryClient) {
  ASSERT_NO_FATAL_FAILURE(make_group());
  const GroupView before = view_of(*alice_, conv_);
  relay_->arm("mallory", raw_id(conv_));
  mls::CommitOptions options;
  options.path_leaf = GetParam().change();
  auto commit = mallory_.state->commit(options).value();
  auto answer =
      mallory_.ws->call(commit_frame(raw_id(conv_), mallory_.state->epoch(), str(commit.message)));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->error().code(), v1::FORBIDDEN) << "the real server accepted it";
  ASSERT_NO_FATAL_FAILURE(expect_refused(*alice_, before, GetParam().refusal));
  ASSERT_NO_FATAL_FAILURE(expect_refused(*bob_, before, GetParam().refusal));
  EXPECT_EQ(relay_->injections().size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Leaves, ClientLeafAttackTest,
    ::testing::Values(
        LeafAttack{"renamed_after_the_facilitator",
                   [] {
                     mls::LeafChange c;
                     c.credential = mls::Credential(bytes("alice"));
                     return c;
                   },
                   "a change to the group was refused: a member's credential may not change "
                   "inside the group"},
        LeafAttack{"professional_mark_added",
                   [] {
                     mls::LeafChange c;
                     c.extensions = std::vector<mls::Extension>{
                         mls::Extension{policy::kAccountTypeExtensionType, {2}}};
                     return c;
                   },
                   "a change to the group was refused because it breaks the group's rules: a "
                   "member's account type cannot change inside a group"},
        LeafAttack{"another_signature_key",
                   [] {
                     mls::LeafChange c;
                     c.signer = mls::SignaturePrivateKey::generate();
                     return c;
                   },
                   "a change to the group was refused because it breaks the group's rules: a "
                   "member's signature key cannot change inside a group"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace cercle::testing
