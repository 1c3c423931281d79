#include "lib/mls/fuzz/fuzz_fixture.h"

#include <sodium.h>

#include <cstring>

namespace cercle::mls::fuzz {
namespace {

uint64_t g_counter = 0;
const unsigned char kSeed[randombytes_SEEDBYTES] = {'c', 'e', 'r', 'c', 'l', 'e'};

void det_buf(void* buf, size_t size) {
  unsigned char seed[randombytes_SEEDBYTES];
  std::memcpy(seed, kSeed, sizeof seed);
  std::memcpy(seed + 16, &g_counter, sizeof g_counter);
  ++g_counter;
  randombytes_buf_deterministic(buf, size, seed);
}
uint32_t det_random() {
  uint32_t v;
  det_buf(&v, sizeof v);
  return v;
}
const char* det_name() { return "cercle-fuzz-deterministic"; }

randombytes_implementation g_impl = {det_name, det_random, nullptr, nullptr, det_buf, nullptr};

}  // namespace

void use_deterministic_random() {
  randombytes_set_implementation(&g_impl);
  g_counter = 0;
}

Fixture make_fixture() {
  auto alice_key = SignaturePrivateKey::generate();
  auto bob_key = SignaturePrivateKey::generate();
  auto carol_key = SignaturePrivateKey::generate();
  // An application's private-use extension (RFC 9420 17.3), supported by every member.
  constexpr uint16_t kRulesExtensionType = 0xFF0A;
  KeyPackageOptions supports;
  supports.extension_types = {kRulesExtensionType};
  std::vector<Extension> gce = {Extension{kRulesExtensionType, to_bytes("roles")}};
  State alice =
      State::create(to_bytes("fuzz-group"), Credential{to_bytes("alice")}, alice_key, gce).value();
  auto bob_kp = create_key_package(Credential{to_bytes("bob")}, bob_key, supports).value();
  CommitOptions add;
  add.add_key_packages = {bob_kp.key_package};
  auto added = alice.commit(add).value();
  State bob = State::join(*added.welcome, bob_kp).value();
  alice = added.pending;
  Fixture f{alice,
            bob,
            create_key_package(Credential{to_bytes("carol")}, carol_key, supports).value(),
            {},
            {}};
  auto [app, alice2] = alice.encrypt(to_bytes("hello"), to_bytes("aad"), 8).value();
  f.messages_for_bob.push_back(app);
  auto prop = alice2.propose_update().value();
  f.messages_for_bob.push_back(prop.message);
  CommitOptions add_carol;
  add_carol.add_key_packages = {f.carol_kp.key_package};
  auto commit = prop.state.commit(add_carol).value();
  f.messages_for_bob.push_back(commit.message);
  f.welcome_for_carol = *commit.welcome;
  return f;
}

}  // namespace cercle::mls::fuzz

#include "cercle/mls/framing.h"

namespace cercle::mls {

Bytes FuzzAccess::frame_as_member(const State& sender, FramedContent content) {
  content.group_id = sender.context_.group_id;
  content.epoch = sender.context_.epoch;
  content.sender = Sender{SenderType::kMember, sender.own_leaf()};
  AuthenticatedContent ac =
      sign_content(WireFormat::kPublicMessage, std::move(content), sender.signer_, sender.context_);
  if (ac.content.content_type() == ContentType::kCommit) ac.auth.confirmation_tag = Bytes(32, 0);
  auto pm = to_public_message(ac, sender.secrets_.membership_key, sender.context_);
  if (!pm.ok()) return {};
  return encode(MlsMessage{kProtocolVersion, std::move(*pm)});
}

}  // namespace cercle::mls
