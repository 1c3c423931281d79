#include "cercle/mls/framing.h"

namespace cercle::mls {

AuthenticatedContent sign_content(WireFormat wire_format, FramedContent content,
                                  const SignaturePrivateKey& signer, const GroupContext& context) {
  AuthenticatedContent ac;
  ac.wire_format = wire_format;
  ac.content = std::move(content);
  ac.auth.signature = sign_with_label(signer, "FramedContentTBS", ac.to_be_signed(&context));
  return ac;
}

Status verify_content_signature(const AuthenticatedContent& content, BytesView signature_key,
                                const GroupContext& context) {
  if (!verify_with_label(signature_key, "FramedContentTBS", content.to_be_signed(&context),
                         content.auth.signature)) {
    return make_error(Errc::kVerify, "bad FramedContent signature");
  }
  return {};
}

Bytes membership_tag(const AuthenticatedContent& content, const Secret& membership_key,
                     const GroupContext& context) {
  Writer w;
  w.raw(content.to_be_signed(&context));
  content.auth.encode(w, content.content.content_type());
  return hmac_sha256(membership_key.view(), w.bytes());
}

Result<PublicMessage> to_public_message(const AuthenticatedContent& content,
                                        const Secret& membership_key, const GroupContext& context) {
  if (content.content.content_type() == ContentType::kApplication) {
    return make_error(Errc::kInvalid, "application data must be sent as PrivateMessage");
  }
  PublicMessage m{content.content, content.auth, {}};
  if (content.content.sender.sender_type == SenderType::kMember) {
    m.membership_tag = membership_tag(content, membership_key, context);
  }
  return m;
}

Result<AuthenticatedContent> from_public_message(const PublicMessage& message,
                                                 const Secret& membership_key,
                                                 const GroupContext& context) {
  if (message.content.content_type() == ContentType::kApplication) {
    return make_error(Errc::kInvalid, "application data in a PublicMessage");
  }
  AuthenticatedContent ac{WireFormat::kPublicMessage, message.content, message.auth};
  if (message.content.sender.sender_type == SenderType::kMember) {
    Bytes expected = membership_tag(ac, membership_key, context);
    if (!ct_equal(expected, message.membership_tag)) {
      return make_error(Errc::kVerify, "bad membership tag");
    }
  }
  return ac;
}

namespace {

Bytes content_aad(const FramedContent& c) {
  Writer w;
  w.opaque(c.group_id);
  w.u64(c.epoch);
  w.u8(static_cast<uint8_t>(c.content_type()));
  w.opaque(c.authenticated_data);
  return w.take();
}

Bytes sender_data_aad(BytesView group_id, uint64_t epoch, ContentType type) {
  Writer w;
  w.opaque(group_id);
  w.u64(epoch);
  w.u8(static_cast<uint8_t>(type));
  return w.take();
}

Bytes apply_reuse_guard(const Secret& nonce, BytesView guard) {
  Bytes n = nonce.copy_bytes();
  for (size_t i = 0; i < 4; ++i) n[i] ^= guard[i];
  return n;
}

RatchetKind kind_for(ContentType type) {
  return type == ContentType::kApplication ? RatchetKind::kApplication : RatchetKind::kHandshake;
}

}  // namespace

Result<PrivateMessage> encrypt_private_message(const AuthenticatedContent& content,
                                               SecretTree& tree, const Secret& sender_data_secret,
                                               size_t padding) {
  const FramedContent& c = content.content;
  if (c.sender.sender_type != SenderType::kMember) {
    return make_error(Errc::kInvalid, "only members send PrivateMessage");
  }
  Writer pt;
  c.encode_body(pt);
  content.auth.encode(pt, c.content_type());
  pt.raw(Bytes(padding, 0));
  MLS_TRY(KeyAndNonce kn, tree.next(c.sender.index, kind_for(c.content_type())));
  Bytes guard = random_bytes(4);
  PrivateMessage m;
  m.group_id = c.group_id;
  m.epoch = c.epoch;
  m.content_type = c.content_type();
  m.authenticated_data = c.authenticated_data;
  MLS_TRY(m.ciphertext,
          aead_seal(kn.key.view(), apply_reuse_guard(kn.nonce, guard), content_aad(c), pt.bytes()));
  Writer sd;
  sd.u32(c.sender.index);
  sd.u32(kn.generation);
  sd.raw(guard);
  Secret sd_key = sender_data_key(sender_data_secret, m.ciphertext);
  Secret sd_nonce = sender_data_nonce(sender_data_secret, m.ciphertext);
  MLS_TRY(m.encrypted_sender_data,
          aead_seal(sd_key.view(), sd_nonce.view(),
                    sender_data_aad(m.group_id, m.epoch, m.content_type), sd.bytes()));
  return m;
}

Result<AuthenticatedContent> decrypt_private_message(const PrivateMessage& m, SecretTree& tree,
                                                     const Secret& sender_data_secret) {
  Secret sd_key = sender_data_key(sender_data_secret, m.ciphertext);
  Secret sd_nonce = sender_data_nonce(sender_data_secret, m.ciphertext);
  MLS_TRY(Bytes sd,
          aead_open(sd_key.view(), sd_nonce.view(),
                    sender_data_aad(m.group_id, m.epoch, m.content_type), m.encrypted_sender_data));
  Reader r(sd);
  uint32_t leaf = r.u32();
  uint32_t generation = r.u32();
  BytesView guard = r.raw(4);
  if (!r.ok() || !r.at_end()) return make_error(Errc::kDecode, "malformed SenderData");
  Bytes guard_copy(guard.begin(), guard.end());
  MLS_TRY(KeyAndNonce kn, tree.get(leaf, kind_for(m.content_type), generation));
  AuthenticatedContent ac;
  ac.wire_format = WireFormat::kPrivateMessage;
  ac.content.group_id = m.group_id;
  ac.content.epoch = m.epoch;
  ac.content.sender = Sender{SenderType::kMember, leaf};
  ac.content.authenticated_data = m.authenticated_data;
  ac.content.content = ApplicationData{};
  Writer aad;
  aad.opaque(m.group_id);
  aad.u64(m.epoch);
  aad.u8(static_cast<uint8_t>(m.content_type));
  aad.opaque(m.authenticated_data);
  MLS_TRY(Bytes pt, aead_open(kn.key.view(), apply_reuse_guard(kn.nonce, guard_copy), aad.bytes(),
                              m.ciphertext));
  Reader body(pt);
  ac.content.decode_body(body, m.content_type);
  ac.auth = FramedContentAuthData::decode(body, m.content_type);
  if (!body.ok()) return make_error(Errc::kDecode, "malformed PrivateMessageContent");
  BytesView padding = body.raw(body.remaining());
  for (uint8_t b : padding) {
    if (b != 0) return make_error(Errc::kDecode, "non-zero padding");
  }
  return ac;
}

}  // namespace cercle::mls
