// The content coding against the RFCs' own examples, then what a device does with a push.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "server/push/base64url.h"
#include "server/push/crypto.h"
#include "server/push/ece.h"

namespace cercle::push {
namespace {

std::string b64(std::string_view text) {
  auto bytes = base64url_decode(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  return bytes.value_or("");
}

// RFC 8188 section 3.1, "Encryption of a Response".
TEST(Ece, Rfc8188Section31) {
  const std::string ikm = b64("yqdlZ-tYemfogSmv7Ws5PQ");
  const std::string body =
      b64("I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg");
  auto sealed = ece_seal(ikm, b64("I1BsxtFttlv3u_Oo94xnmw"), "", "I am the walrus", 4096);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  EXPECT_EQ(base64url_encode(*sealed), base64url_encode(body));
  auto opened = ece_open(ikm, body);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, "I am the walrus");
}

// RFC 8291 section 5 and Appendix A.
struct Rfc8291 {
  std::string plaintext = "When I grow up, I want to be a watermelon";
  std::string ua_public = b64(
      "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4");
  std::string ua_private = b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94");
  std::string as_public = b64(
      "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8");
  std::string as_private = b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw");
  std::string auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
  std::string salt = b64("DGv6ra1nlYgDCS1FRnbzlw");
  std::string header = b64(
      "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS"
      "6TlzAC8wEqKK6PBru3jl7A8");
  std::string ciphertext =
      b64("8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEsbI_0LpXMuGvnzQ");
  std::string cek = b64("oIhVW04MRdy2XN9CiKLxTg");
  std::string nonce = b64("4h_95klXJ5E_qnoN");
};

TEST(WebPushEncryption, Rfc8291AppendixA) {
  const Rfc8291 v;
  auto sender = P256Key::from_private(v.as_private);
  ASSERT_TRUE(sender.ok()) << sender.error().message;
  EXPECT_EQ(sender->public_point(), v.as_public);
  auto body = encrypt_push_with({v.ua_public, v.auth}, *sender, v.salt, v.plaintext);
  ASSERT_TRUE(body.ok()) << body.error().message;
  ASSERT_EQ(body->size(), 86 + v.plaintext.size() + 1 + 16);
  EXPECT_EQ(base64url_encode(body->substr(0, 86)), base64url_encode(v.header));
  EXPECT_EQ(base64url_encode(body->substr(86)), base64url_encode(v.ciphertext));
  // The RFC's own key and nonce open it: the derivation, not only the framing, is right.
  auto padded = aes128gcm_open(v.cek, v.nonce, v.ciphertext);
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(*padded, v.plaintext + "\x02");
}

TEST(WebPushEncryption, TheUserAgentSideOpensTheRfcExample) {
  const Rfc8291 v;
  auto ua = P256Key::from_private(v.ua_private);
  ASSERT_TRUE(ua.ok());
  EXPECT_EQ(ua->public_point(), v.ua_public);
  auto text = decrypt_push(*ua, v.auth, v.header + v.ciphertext);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(*text, v.plaintext);
}

TEST(WebPushEncryption, EachPushHasItsOwnKeyAndSaltAndOpensOnTheDevice) {
  auto device = P256Key::generate();
  ASSERT_TRUE(device.ok());
  const PushKeys keys{device->public_point(), random_bytes(16)};
  auto a = encrypt_push(keys, "{\"n\":1}");
  auto b = encrypt_push(keys, "{\"n\":1}");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->substr(0, 16), b->substr(0, 16));                        // Salt.
  EXPECT_NE(a->substr(21, 65), b->substr(21, 65));                      // One-time sender key.
  EXPECT_EQ(a->substr(16, 5), std::string("\x00\x00\x10\x00\x41", 5));  // rs 4096, idlen 65.
  EXPECT_EQ(decrypt_push(*device, keys.auth, *a).value(), "{\"n\":1}");
  EXPECT_EQ(decrypt_push(*device, keys.auth, *b).value(), "{\"n\":1}");
  // Another auth secret, or one changed byte, and nothing opens.
  EXPECT_EQ(decrypt_push(*device, random_bytes(16), *a).error().code, Errc::kInvalidArgument);
  std::string tampered = *a;
  tampered.back() ^= 1;
  EXPECT_EQ(decrypt_push(*device, keys.auth, tampered).error().code, Errc::kInvalidArgument);
}

TEST(WebPushEncryption, TheLargestPayloadFitsInFourKilobytesAndOneMoreByteIsRefused) {
  auto device = P256Key::generate();
  ASSERT_TRUE(device.ok());
  const PushKeys keys{device->public_point(), random_bytes(16)};
  auto full = encrypt_push(keys, std::string(kMaxPlaintext, 'x'));
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->size(), 4096u);
  auto over = encrypt_push(keys, std::string(kMaxPlaintext + 1, 'x'));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, Errc::kInvalidArgument);
}

TEST(WebPushEncryption, RefusesBadSubscriptionKeys) {
  auto device = P256Key::generate();
  ASSERT_TRUE(device.ok());
  std::string off_curve = device->public_point();
  off_curve[64] ^= 1;
  for (const PushKeys& bad : {PushKeys{off_curve, random_bytes(16)},
                              PushKeys{device->public_point().substr(0, 33), random_bytes(16)},
                              PushKeys{std::string(65, '\0'), random_bytes(16)},
                              PushKeys{device->public_point(), random_bytes(15)}}) {
    auto r = encrypt_push(bad, "x");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  }
}

TEST(P256, PrivateScalarsOutOfRangeAreRefused) {
  EXPECT_FALSE(P256Key::from_private(std::string(32, '\0')).ok());
  EXPECT_FALSE(P256Key::from_private(std::string(32, '\xff')).ok());  // Above the order.
  EXPECT_FALSE(P256Key::from_private(std::string(31, '\x01')).ok());
}

TEST(P256, APemWhosePointIsCompressedStillGivesTheUncompressedPoint) {
  auto key = P256Key::generate();
  ASSERT_TRUE(key.ok());
  ASSERT_EQ(EVP_PKEY_set_utf8_string_param(key->get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           "compressed"),
            1);
  auto pem = key->to_pem();
  ASSERT_TRUE(pem.ok());
  auto again = P256Key::from_pem(*pem);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->public_point(), key->public_point());
  EXPECT_FALSE(
      P256Key::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
}

TEST(Es256, SignaturesAreRawAndVerifyOnlyForTheirMessageAndKey) {
  auto key = P256Key::generate();
  auto other = P256Key::generate();
  ASSERT_TRUE(key.ok() && other.ok());
  auto sig = es256_sign(*key, "header.claims");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 64u);
  auto pub = P256Key::from_public(key->public_point());
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(es256_verify(*pub, "header.claims", *sig));
  EXPECT_FALSE(es256_verify(*pub, "header.claimz", *sig));
  EXPECT_FALSE(es256_verify(*other, "header.claims", *sig));
  EXPECT_FALSE(es256_verify(*pub, "header.claims", sig->substr(0, 63)));
}

}  // namespace
}  // namespace cercle::push
