// RFC 9180 appendix A.2 known-answer test (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20Poly1305, base mode) and EncryptWithLabel round trips.
#include "cercle/mls/hpke.h"

#include <gtest/gtest.h>

#include <optional>

#include "cercle/mls/crypto.h"

namespace cercle::mls {
namespace {

Bytes h(std::string_view hex) { return from_hex(hex).value(); }

// RFC 9180 A.2's inputs: the info, the two key pairs' seeds and the plaintext sealed at each
// sequence number below.
constexpr std::string_view kInfo = "4f6465206f6e2061204772656369616e2055726e";
constexpr std::string_view kEphemeralIkm =
    "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
constexpr std::string_view kRecipientIkm =
    "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df";
constexpr std::string_view kPlaintext =
    "4265617574792069732074727574682c20747275746820626561757479";

struct SealCase {
  uint64_t seq;
  const char* aad;
  const char* ct;
};
constexpr SealCase kSealCases[] = {
    {0, "436f756e742d30",
     "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a2"
     "8"},
    {1, "436f756e742d31",
     "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98"
     "c"},
    {2, "436f756e742d32",
     "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86"
     "b"},
    {4, "436f756e742d34",
     "63357a2aa291f5a4e5f27db6baa2af8cf77427c7c1a909e0b37214dd47db122bb153495ff0b02e9e54a50dbe1"
     "6"},
    {255, "436f756e742d323535",
     "18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b8880a5f6b3936da9cd6c23ef2a95"
     "c"},
    {256, "436f756e742d323536",
     "7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076214c0c40d4c728d6ed9e727a5"
     "b"},
};

// Both ends of A.2's base-mode context, set up from the vector's keys.
class HpkeKat : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sender = hpke_setup_base_s(recipient_.public_key, h(kInfo), &ephemeral_);
    ASSERT_TRUE(sender.ok());
    sender_.emplace(std::move(*sender));
    auto receiver = hpke_setup_base_r(sender_->enc, recipient_, h(kInfo));
    ASSERT_TRUE(receiver.ok());
    receiver_.emplace(std::move(*receiver));
  }

  HpkePrivateKey ephemeral_ = HpkePrivateKey::derive(h(kEphemeralIkm));
  HpkePrivateKey recipient_ = HpkePrivateKey::derive(h(kRecipientIkm));
  std::optional<HpkeSenderSetup> sender_;
  std::optional<HpkeContext> receiver_;
};

TEST_F(HpkeKat, Rfc9180A2BaseMode) {
  EXPECT_EQ(to_hex(ephemeral_.public_key),
            "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a");
  EXPECT_EQ(to_hex(ephemeral_.key.view()),
            "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600");
  EXPECT_EQ(to_hex(recipient_.public_key),
            "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a");
  EXPECT_EQ(to_hex(recipient_.key.view()),
            "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb");
  EXPECT_EQ(to_hex(sender_->enc),
            "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a");
  EXPECT_EQ(to_hex(sender_->context.key().view()),
            "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91");
  EXPECT_EQ(to_hex(sender_->context.base_nonce().view()), "5c4d98150661b848853b547f");
}

TEST_F(HpkeKat, Rfc9180A2BaseModeSealsAndOpensAtEachSequenceNumber) {
  const Bytes pt = h(kPlaintext);
  for (const auto& c : kSealCases) {
    sender_->context.set_sequence(c.seq);
    auto ct = sender_->context.seal(h(c.aad), pt);
    ASSERT_TRUE(ct.ok());
    EXPECT_EQ(to_hex(*ct), c.ct) << "seq " << c.seq;
    receiver_->set_sequence(c.seq);
    auto opened = receiver_->open(h(c.aad), *ct);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(*opened, pt);
  }
}

TEST_F(HpkeKat, Rfc9180A2BaseModeExportsSecrets) {
  EXPECT_EQ(to_hex(sender_->context.export_secret({}, 32).view()),
            "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e");
  EXPECT_EQ(to_hex(sender_->context.export_secret(h("00"), 32).view()),
            "8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69");
  EXPECT_EQ(to_hex(receiver_->export_secret(h("54657374436f6e74657874"), 32).view()),
            "5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53");
}

TEST(Hpke, EncryptWithLabelRoundTripAndTamper) {
  HpkePrivateKey key = HpkePrivateKey::generate();
  const Bytes context = to_bytes("ctx");
  const Bytes pt = to_bytes("path secret");
  auto ct = encrypt_with_label(key.public_key, "UpdatePathNode", context, pt);
  ASSERT_TRUE(ct.ok());
  auto back = decrypt_with_label(key, "UpdatePathNode", context, ct->kem_output, ct->ciphertext);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, pt);
  EXPECT_FALSE(decrypt_with_label(key, "Welcome", context, ct->kem_output, ct->ciphertext).ok());
  Bytes bad = ct->ciphertext;
  bad[0] ^= 1;
  EXPECT_FALSE(decrypt_with_label(key, "UpdatePathNode", context, ct->kem_output, bad).ok());
  EXPECT_FALSE(decrypt_with_label(key, "UpdatePathNode", context, Bytes(32, 0), ct->ciphertext)
                   .ok());  // small-order point
}

TEST(Hkdf, Rfc5869TestCase1) {
  Secret prk = hkdf_extract(h("000102030405060708090a0b0c"),
                            h("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
  EXPECT_EQ(to_hex(prk.view()), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  Secret okm = hkdf_expand(prk.view(), h("f0f1f2f3f4f5f6f7f8f9"), 42);
  EXPECT_EQ(to_hex(okm.view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

}  // namespace
}  // namespace cercle::mls
