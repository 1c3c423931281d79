#include "server/push/ece.h"

namespace cercle::push {
namespace {

constexpr size_t kHeaderFixed = kSaltSize + 4 + 1;  // salt, rs, idlen.
constexpr size_t kTagSize = 16;
constexpr char kWebPushInfo[] = "WebPush: info";

struct RecordKeys {
  std::string cek;
  std::string nonce;
};

// RFC 8188 section 2.2-2.3; the first record's nonce is the base nonce (sequence number 0).
RecordKeys record_keys(std::string_view ikm, std::string_view salt) {
  const std::string prk = hkdf_extract(salt, ikm);
  using namespace std::string_view_literals;
  return {hkdf_expand(prk, "Content-Encoding: aes128gcm\0"sv, 16),
          hkdf_expand(prk, "Content-Encoding: nonce\0"sv, 12)};
}

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// RFC 8291 section 3.3-3.4: IKM from the ECDH secret, the auth secret and both public keys.
std::string push_ikm(std::string_view ecdh_secret, std::string_view auth,
                     std::string_view ua_public, std::string_view as_public) {
  const std::string prk_key = hkdf_extract(auth, ecdh_secret);
  std::string key_info(kWebPushInfo, sizeof kWebPushInfo);  // With its terminating zero byte.
  key_info.append(ua_public);
  key_info.append(as_public);
  return hkdf_expand(prk_key, key_info, 32);
}

}  // namespace

Result<std::string> ece_seal(std::string_view ikm, std::string_view salt, std::string_view key_id,
                             std::string_view plaintext, uint32_t record_size) {
  if (salt.size() != kSaltSize) return make_error(Errc::kInvalidArgument, "bad salt size");
  if (key_id.size() > 255) return make_error(Errc::kInvalidArgument, "key id too long");
  if (record_size < 18 || plaintext.size() + 1 + kTagSize > record_size) {
    return make_error(Errc::kInvalidArgument, "the plaintext does not fit one record");
  }
  const RecordKeys keys = record_keys(ikm, salt);
  std::string padded(plaintext);
  padded.push_back('\x02');  // Delimiter of the last record, no padding after it.
  auto sealed = aes128gcm_seal(keys.cek, keys.nonce, padded);
  if (!sealed) return std::move(sealed).error();
  std::string body(salt);
  put_u32(body, record_size);
  body.push_back(static_cast<char>(key_id.size()));
  body.append(key_id);
  body.append(*sealed);
  return body;
}

Result<EceHeader> ece_parse(std::string_view body) {
  if (body.size() < kHeaderFixed) return make_error(Errc::kInvalidArgument, "short header");
  EceHeader h;
  h.salt = body.substr(0, kSaltSize);
  for (size_t i = 0; i < 4; ++i) {
    h.record_size = (h.record_size << 8) | static_cast<uint8_t>(body[kSaltSize + i]);
  }
  const size_t id_len = static_cast<uint8_t>(body[kSaltSize + 4]);
  if (body.size() < kHeaderFixed + id_len) return make_error(Errc::kInvalidArgument, "short id");
  if (h.record_size < 18) return make_error(Errc::kInvalidArgument, "bad record size");
  h.key_id = body.substr(kHeaderFixed, id_len);
  h.ciphertext = body.substr(kHeaderFixed + id_len);
  return h;
}

Result<std::string> ece_open(std::string_view ikm, std::string_view body) {
  auto header = ece_parse(body);
  if (!header) return std::move(header).error();
  if (header->ciphertext.size() > header->record_size) {
    return make_error(Errc::kInvalidArgument, "more than one record");
  }
  const RecordKeys keys = record_keys(ikm, header->salt);
  auto padded = aes128gcm_open(keys.cek, keys.nonce, header->ciphertext);
  if (!padded) return std::move(padded).error();
  std::string& text = *padded;
  while (!text.empty() && text.back() == '\0') text.pop_back();  // Padding.
  if (text.empty() || text.back() != '\x02') {
    return make_error(Errc::kInvalidArgument, "no last-record delimiter");
  }
  text.pop_back();
  return std::move(text);
}

Result<std::string> encrypt_push(const PushKeys& keys, std::string_view plaintext) {
  auto sender = P256Key::generate();
  if (!sender) return std::move(sender).error();
  return encrypt_push_with(keys, *sender, random_bytes(kSaltSize), plaintext);
}

Result<std::string> encrypt_push_with(const PushKeys& keys, const P256Key& sender,
                                      std::string_view salt, std::string_view plaintext) {
  if (plaintext.size() > kMaxPlaintext) {
    return make_error(Errc::kInvalidArgument, "the push payload is too large");
  }
  if (keys.auth.size() != kAuthSecretSize) {
    return make_error(Errc::kInvalidArgument, "the auth secret is not 16 bytes");
  }
  auto ua = P256Key::from_public(keys.p256dh);
  if (!ua) return std::move(ua).error();
  auto secret = ecdh(sender, *ua);
  if (!secret) return std::move(secret).error();
  const std::string ikm = push_ikm(*secret, keys.auth, keys.p256dh, sender.public_point());
  return ece_seal(ikm, salt, sender.public_point(), plaintext, kRecordSize);
}

Result<std::string> decrypt_push(const P256Key& subscription, std::string_view auth,
                                 std::string_view body) {
  auto header = ece_parse(body);
  if (!header) return std::move(header).error();
  auto sender = P256Key::from_public(header->key_id);
  if (!sender) return std::move(sender).error();
  auto secret = ecdh(subscription, *sender);
  if (!secret) return std::move(secret).error();
  const std::string ikm =
      push_ikm(*secret, auth, subscription.public_point(), sender->public_point());
  return ece_open(ikm, body);
}

}  // namespace cercle::push
