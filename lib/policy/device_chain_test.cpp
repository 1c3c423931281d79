#include "cercle/policy/device_chain.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace cercle::policy {
namespace {

constexpr std::string_view kHandle = "Élodie";
constexpr uint64_t kTime = 1'764'000'000'000;

struct Key {
  std::string pk = std::string(crypto_sign_PUBLICKEYBYTES, '\0');
  std::string sk = std::string(crypto_sign_SECRETKEYBYTES, '\0');
  explicit Key(unsigned char seed_byte) {
    const std::string seed(crypto_sign_SEEDBYTES, static_cast<char>(seed_byte));
    crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(pk.data()),
                             reinterpret_cast<unsigned char*>(sk.data()),
                             reinterpret_cast<const unsigned char*>(seed.data()));
  }
};

// A device: its authentication key and its MLS key (equal for the C++ SDK, distinct for the web).
struct Device {
  Key auth;
  Key mls;
  Device(unsigned char a, unsigned char m) : auth(a), mls(m) {}
  std::string possession(std::string_view handle = kHandle) const {
    return sign_possession(handle, auth.pk, mls.pk, auth.sk);
  }
};

v1::DeviceLink add(const ChainView& view, const Device& added, const Key& signer) {
  return make_link(view, kHandle, v1::DEVICE_ADD, added.auth.pk, added.mls.pk, kTime, signer.sk,
                   added.possession());
}

v1::DeviceLink remove(const ChainView& view, const Device& removed, const Key& signer) {
  return make_link(view, kHandle, v1::DEVICE_REMOVE, removed.auth.pk, removed.mls.pk, kTime,
                   signer.sk, "");
}

class DeviceChainTest : public ::testing::Test {
 protected:
  // Links: 0 adds a (signed by a), 1 adds b (by a), 2 adds c (by b), 3 removes a (by c).
  void SetUp() override {
    ChainView v;
    for (int i = 0; i < 4; ++i) {
      const v1::DeviceLink link = i == 0   ? add(v, a_, a_.auth)
                                  : i == 1 ? add(v, b_, a_.auth)
                                  : i == 2 ? add(v, c_, b_.auth)
                                           : remove(v, a_, c_.auth);
      auto check = append(v, kHandle, link);
      ASSERT_TRUE(check.ok()) << check.error().message;
      v = *std::move(check);
      links_.push_back(link);
    }
    view_ = v;
  }

  ChainView prefix(size_t n) const {
    auto check = verify_chain(kHandle, std::span(links_).first(n));
    EXPECT_TRUE(check.ok());
    return check.ok() ? *check : ChainView{};
  }

  static ChainErrc refusal_of(const ChainCheck& check) {
    EXPECT_FALSE(check.ok());
    return check.ok() ? ChainErrc::kMalformed : check.error().code;
  }

  Device a_{1, 1}, b_{2, 12}, c_{3, 13}, stranger_{4, 14};
  std::vector<v1::DeviceLink> links_;
  ChainView view_;
};

TEST_F(DeviceChainTest, AValidChainListsItsCurrentDevices) {
  auto check = verify_chain(kHandle, links_);
  ASSERT_TRUE(check.ok());
  ASSERT_EQ(check->devices.size(), 2u);
  EXPECT_EQ(check->devices[0].device_key, b_.auth.pk);
  EXPECT_EQ(check->devices[0].mls_key, b_.mls.pk);
  EXPECT_EQ(check->devices[1].device_key, c_.auth.pk);
  EXPECT_EQ(check->hashes.size(), 4u);
  EXPECT_EQ(check->hashes[1], link_hash(kHandle, links_[1]));
  EXPECT_EQ(check->find(c_.mls.pk, true), &check->devices[1]);
  EXPECT_EQ(check->find(a_.auth.pk), nullptr);
}

TEST_F(DeviceChainTest, EveryFieldOfALinkIsCovered) {
  const ChainView two = prefix(2);
  const v1::DeviceLink good = add(two, c_, b_.auth);
  ASSERT_TRUE(append(two, kHandle, good).ok());
  auto changed = [&](auto edit) {
    v1::DeviceLink l = good;
    edit(l);
    return refusal_of(append(two, kHandle, l));
  };
  EXPECT_EQ(changed([](auto& l) { l.set_seq(3); }), ChainErrc::kBrokenLink);
  EXPECT_EQ(changed([](auto& l) { l.set_previous_hash(std::string(32, 'x')); }),
            ChainErrc::kBrokenLink);
  EXPECT_EQ(changed([&](auto& l) { l.set_device_key(stranger_.auth.pk); }),
            ChainErrc::kBadSignature);
  EXPECT_EQ(changed([&](auto& l) { l.set_mls_key(stranger_.mls.pk); }), ChainErrc::kBadSignature);
  EXPECT_EQ(changed([](auto& l) { l.set_time_ms(kTime + 1); }), ChainErrc::kBadSignature);
  EXPECT_EQ(changed([](auto& l) { l.set_op(v1::DEVICE_REMOVE); }), ChainErrc::kMalformed);
  EXPECT_EQ(changed([](auto& l) { l.set_op(v1::DEVICE_LINK_OP_UNSPECIFIED); }),
            ChainErrc::kMalformed);
  EXPECT_EQ(changed([&](auto& l) { l.set_signer_key(a_.auth.pk); }), ChainErrc::kBadSignature);
  EXPECT_EQ(changed([](auto& l) { l.mutable_signature()->at(5) ^= 1; }), ChainErrc::kBadSignature);
  EXPECT_EQ(changed([](auto& l) { l.mutable_possession()->at(5) ^= 1; }), ChainErrc::kBadSignature);
  EXPECT_EQ(changed([](auto& l) { l.set_device_key("short"); }), ChainErrc::kMalformed);
  // The handle is signed: a chain cannot be moved to another account.
  EXPECT_EQ(refusal_of(verify_chain("elodie", links_)), ChainErrc::kBadSignature);
}

TEST_F(DeviceChainTest, OnlyACurrentDeviceApprovesAndTheNewDeviceProvesItsKey) {
  const ChainView two = prefix(2);
  EXPECT_EQ(refusal_of(append(two, kHandle, add(two, c_, stranger_.auth))),
            ChainErrc::kNotApproved);
  // a was removed at link 3: it approves nothing after.
  EXPECT_EQ(refusal_of(append(view_, kHandle, add(view_, stranger_, a_.auth))),
            ChainErrc::kNotApproved);
  // A possession proof made for another account, or by another key, proves nothing.
  v1::DeviceLink l = make_link(two, kHandle, v1::DEVICE_ADD, c_.auth.pk, c_.mls.pk, kTime,
                               b_.auth.sk, c_.possession("elodie"));
  EXPECT_EQ(refusal_of(append(two, kHandle, l)), ChainErrc::kBadSignature);
  l = make_link(two, kHandle, v1::DEVICE_ADD, c_.auth.pk, c_.mls.pk, kTime, b_.auth.sk,
                stranger_.possession());
  EXPECT_EQ(refusal_of(append(two, kHandle, l)), ChainErrc::kBadSignature);
}

TEST_F(DeviceChainTest, TheFirstLinkIsSignedByTheDeviceItAdds) {
  const ChainView none;
  ASSERT_TRUE(append(none, kHandle, add(none, a_, a_.auth)).ok());
  EXPECT_EQ(refusal_of(append(none, kHandle, add(none, a_, b_.auth))), ChainErrc::kMalformed);
  v1::DeviceLink l = add(none, a_, a_.auth);
  l.set_previous_hash(std::string(32, 'x'));
  EXPECT_EQ(refusal_of(append(none, kHandle, l)), ChainErrc::kBrokenLink);
}

TEST_F(DeviceChainTest, KeysAreNeverAddedTwiceAndRemovalsNameCurrentDevices) {
  EXPECT_EQ(refusal_of(append(view_, kHandle, add(view_, b_, c_.auth))), ChainErrc::kDuplicate);
  EXPECT_EQ(refusal_of(append(view_, kHandle, add(view_, a_, c_.auth))), ChainErrc::kDuplicate);
  const Device b_mls_again{5, 12};  // Another device reusing b's MLS key.
  EXPECT_EQ(refusal_of(append(view_, kHandle, add(view_, b_mls_again, c_.auth))),
            ChainErrc::kDuplicate);
  EXPECT_EQ(refusal_of(append(view_, kHandle, remove(view_, stranger_, c_.auth))),
            ChainErrc::kUnknownDevice);
  EXPECT_EQ(refusal_of(append(view_, kHandle, remove(view_, a_, c_.auth))),
            ChainErrc::kUnknownDevice);
  auto one = append(view_, kHandle, remove(view_, b_, c_.auth));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(refusal_of(append(*one, kHandle, remove(*one, c_, c_.auth))),
            ChainErrc::kMalformed);
}

TEST_F(DeviceChainTest, APinnedChainMayOnlyGrow) {
  const ChainPin pin = pin_of(prefix(2));
  EXPECT_EQ(check_pin(pin, prefix(2)), std::nullopt);
  EXPECT_EQ(check_pin(pin, view_), std::nullopt);
  auto code = [&](const ChainView& v) { return check_pin(pin, v).value().code; };
  EXPECT_EQ(code(prefix(1)), ChainErrc::kRolledBack);
  EXPECT_EQ(code(ChainView{}), ChainErrc::kRootChanged);
  // Another chain for the same account (a relay that lost or replaced it).
  const ChainView none;
  auto other = append(none, kHandle, add(none, stranger_, stranger_.auth));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(code(*other), ChainErrc::kRootChanged);
  // A fork: same first link, another second link.
  const ChainView first = prefix(1);
  auto fork = append(first, kHandle, add(first, c_, a_.auth));
  ASSERT_TRUE(fork.ok());
  EXPECT_EQ(code(*fork), ChainErrc::kRolledBack);
}

TEST(PairingTest, TheCodeDependsOnEveryInputAndTheCommitmentHidesTheNonce) {
  const std::string dn(kNonceBytes, '\4'), an(kNonceBytes, '\5'), k1(32, 'k'), k2(32, 'm');
  const std::string code = pairing_code(kHandle, k1, k2, dn, an);
  ASSERT_EQ(code.size(), 7u);
  EXPECT_EQ(code[3], ' ');
  for (size_t i : {0, 1, 2, 4, 5, 6}) EXPECT_TRUE(isdigit(code[i])) << code;
  EXPECT_NE(pairing_code(kHandle, k2, k1, dn, an), code);
  EXPECT_NE(pairing_code("elodie", k1, k2, dn, an), code);
  EXPECT_NE(pairing_code(kHandle, k1, k2, an, dn), code);
  EXPECT_EQ(commitment(dn).size(), 32u);
  EXPECT_NE(commitment(dn), commitment(an));
  EXPECT_EQ(commitment(dn), commitment(std::string(kNonceBytes, '\4')));
}

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) (out += d[c >> 4]) += d[c & 15];
  return out;
}

boost::json::object link_json(const v1::DeviceLink& l) {
  return {{"seq", l.seq()},
          {"previous_hash", hex(l.previous_hash())},
          {"op", static_cast<int>(l.op())},
          {"device_key", hex(l.device_key())},
          {"mls_key", hex(l.mls_key())},
          {"time_ms", l.time_ms()},
          {"signer_key", hex(l.signer_key())},
          {"signature", hex(l.signature())},
          {"possession", hex(l.possession())},
          {"transcript", hex(link_transcript(kHandle, l))}};
}

// The vectors the web client checks its TypeScript against (web/tests). CERCLE_WRITE_VECTORS=1
// rewrites the file; otherwise this test fails when the C++ encoding no longer matches it.
TEST_F(DeviceChainTest, MatchesTheSharedVectors) {
  boost::json::array links, hashes;
  for (const auto& l : links_) links.push_back(link_json(l));
  for (const auto& h : view_.hashes) hashes.push_back(boost::json::string(hex(h)));
  const std::string dn(kNonceBytes, '\4'), an(kNonceBytes, '\5');
  boost::json::object v{
      {"handle", kHandle},         {"links", links},
      {"hashes", hashes},          {"device_nonce", hex(dn)},
      {"approver_nonce", hex(an)}, {"commitment", hex(commitment(dn))},
      {"code_for_link", 1},        {"code", pairing_code(kHandle, b_.auth.pk, b_.mls.pk, dn, an)}};
  const std::string path = std::string(CERCLE_SOURCE_DIR) + "/lib/policy/device_chain.json";
  const std::string text = boost::json::serialize(v) + "\n";
  if (std::getenv("CERCLE_WRITE_VECTORS") != nullptr) std::ofstream(path) << text;
  std::ifstream in(path);
  std::stringstream stored;
  stored << in.rdbuf();
  EXPECT_EQ(stored.str(), text);
}

}  // namespace
}  // namespace cercle::policy
