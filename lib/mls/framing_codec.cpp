// Codecs for framing (FramedContent, PublicMessage, PrivateMessage), GroupContext, GroupInfo,
// Welcome and MLSMessage.
#include "cercle/mls/messages.h"

namespace cercle::mls {

void Sender::encode(Writer& w) const {
  w.u8(static_cast<uint8_t>(sender_type));
  if (sender_type == SenderType::kMember || sender_type == SenderType::kExternal) w.u32(index);
}
Sender Sender::decode(Reader& r) {
  Sender s;
  uint8_t t = r.u8();
  if (t < 1 || t > 4) r.fail();
  s.sender_type = static_cast<SenderType>(t);
  if (s.sender_type == SenderType::kMember || s.sender_type == SenderType::kExternal) {
    s.index = r.u32();
  }
  return s;
}

void FramedContent::encode_body(Writer& w) const {
  switch (content.index()) {
    case 0:
      w.opaque(std::get<0>(content).data);
      break;
    case 1:
      std::get<1>(content).encode(w);
      break;
    default:
      std::get<2>(content).encode(w);
      break;
  }
}

bool FramedContent::decode_body(Reader& r, ContentType type) {
  switch (type) {
    case ContentType::kApplication:
      content = ApplicationData{r.opaque()};
      return true;
    case ContentType::kProposal:
      content = Proposal::decode(r);
      return true;
    case ContentType::kCommit:
      content = Commit::decode(r);
      return true;
  }
  r.fail();
  return false;
}

void FramedContent::encode(Writer& w) const {
  w.opaque(group_id);
  w.u64(epoch);
  sender.encode(w);
  w.opaque(authenticated_data);
  w.u8(static_cast<uint8_t>(content_type()));
  encode_body(w);
}

static ContentType read_content_type(Reader& r) {
  uint8_t t = r.u8();
  if (t < 1 || t > 3) r.fail();
  return static_cast<ContentType>(t);
}

FramedContent FramedContent::decode(Reader& r) {
  FramedContent c;
  c.group_id = r.opaque();
  c.epoch = r.u64();
  c.sender = Sender::decode(r);
  c.authenticated_data = r.opaque();
  c.decode_body(r, read_content_type(r));
  return c;
}

void FramedContentAuthData::encode(Writer& w, ContentType type) const {
  w.opaque(signature);
  if (type == ContentType::kCommit) w.opaque(confirmation_tag);
}
FramedContentAuthData FramedContentAuthData::decode(Reader& r, ContentType type) {
  FramedContentAuthData a;
  a.signature = r.opaque();
  if (type == ContentType::kCommit) a.confirmation_tag = r.opaque();
  return a;
}

void GroupContext::encode(Writer& w) const {
  w.u16(version);
  w.u16(cipher_suite);
  w.opaque(group_id);
  w.u64(epoch);
  w.opaque(tree_hash);
  w.opaque(confirmed_transcript_hash);
  w.list(extensions);
}
GroupContext GroupContext::decode(Reader& r) {
  GroupContext g;
  g.version = r.u16();
  g.cipher_suite = r.u16();
  g.group_id = r.opaque();
  g.epoch = r.u64();
  g.tree_hash = r.opaque();
  g.confirmed_transcript_hash = r.opaque();
  g.extensions = r.list<Extension>();
  return g;
}

static WireFormat read_wire_format(Reader& r) {
  uint16_t f = r.u16();
  if (f < 1 || f > 5) r.fail();
  return static_cast<WireFormat>(f);
}

void AuthenticatedContent::encode(Writer& w) const {
  w.u16(static_cast<uint16_t>(wire_format));
  content.encode(w);
  auth.encode(w, content.content_type());
}
AuthenticatedContent AuthenticatedContent::decode(Reader& r) {
  AuthenticatedContent a;
  a.wire_format = read_wire_format(r);
  a.content = FramedContent::decode(r);
  a.auth = FramedContentAuthData::decode(r, a.content.content_type());
  return a;
}

Bytes AuthenticatedContent::to_be_signed(const GroupContext* context) const {
  Writer w;
  w.u16(1);  // mls10
  w.u16(static_cast<uint16_t>(wire_format));
  content.encode(w);
  SenderType t = content.sender.sender_type;
  if ((t == SenderType::kMember || t == SenderType::kNewMemberCommit) && context) {
    context->encode(w);
  }
  return w.take();
}

void PublicMessage::encode(Writer& w) const {
  content.encode(w);
  auth.encode(w, content.content_type());
  if (content.sender.sender_type == SenderType::kMember) w.opaque(membership_tag);
}
PublicMessage PublicMessage::decode(Reader& r) {
  PublicMessage m;
  m.content = FramedContent::decode(r);
  m.auth = FramedContentAuthData::decode(r, m.content.content_type());
  if (m.content.sender.sender_type == SenderType::kMember) m.membership_tag = r.opaque();
  return m;
}

void PrivateMessage::encode(Writer& w) const {
  w.opaque(group_id);
  w.u64(epoch);
  w.u8(static_cast<uint8_t>(content_type));
  w.opaque(authenticated_data);
  w.opaque(encrypted_sender_data);
  w.opaque(ciphertext);
}
PrivateMessage PrivateMessage::decode(Reader& r) {
  PrivateMessage m;
  m.group_id = r.opaque();
  m.epoch = r.u64();
  m.content_type = read_content_type(r);
  m.authenticated_data = r.opaque();
  m.encrypted_sender_data = r.opaque();
  m.ciphertext = r.opaque();
  return m;
}

Bytes GroupInfo::to_be_signed() const {
  Writer w;
  group_context.encode(w);
  w.list(extensions);
  w.opaque(confirmation_tag);
  w.u32(signer);
  return w.take();
}
void GroupInfo::encode(Writer& w) const {
  w.raw(to_be_signed());
  w.opaque(signature);
}
GroupInfo GroupInfo::decode(Reader& r) {
  GroupInfo g;
  g.group_context = GroupContext::decode(r);
  g.extensions = r.list<Extension>();
  g.confirmation_tag = r.opaque();
  g.signer = r.u32();
  g.signature = r.opaque();
  return g;
}

void GroupSecrets::encode(Writer& w) const {
  w.opaque(joiner_secret.view());
  w.u8(path_secret ? 1 : 0);
  if (path_secret) w.opaque(path_secret->view());
  w.list(psks);
}
GroupSecrets GroupSecrets::decode(Reader& r) {
  GroupSecrets g;
  g.joiner_secret = Secret(r.opaque());
  if (r.presence()) g.path_secret = Secret(r.opaque());
  g.psks = r.list<PreSharedKeyId>();
  return g;
}

void EncryptedGroupSecrets::encode(Writer& w) const {
  w.opaque(new_member);
  encrypted_group_secrets.encode(w);
}
EncryptedGroupSecrets EncryptedGroupSecrets::decode(Reader& r) {
  EncryptedGroupSecrets e;
  e.new_member = r.opaque();
  e.encrypted_group_secrets = HpkeCiphertext::decode(r);
  return e;
}

void Welcome::encode(Writer& w) const {
  w.u16(cipher_suite);
  w.list(secrets);
  w.opaque(encrypted_group_info);
}
Welcome Welcome::decode(Reader& r) {
  Welcome m;
  m.cipher_suite = r.u16();
  m.secrets = r.list<EncryptedGroupSecrets>();
  m.encrypted_group_info = r.opaque();
  return m;
}

void MlsMessage::encode(Writer& w) const {
  w.u16(version);
  w.u16(static_cast<uint16_t>(wire_format()));
  std::visit([&](const auto& v) { v.encode(w); }, body);
}
MlsMessage MlsMessage::decode(Reader& r) {
  uint16_t version = r.u16();
  switch (read_wire_format(r)) {
    case WireFormat::kPrivateMessage:
      return MlsMessage{version, PrivateMessage::decode(r)};
    case WireFormat::kWelcome:
      return MlsMessage{version, Welcome::decode(r)};
    case WireFormat::kGroupInfo:
      return MlsMessage{version, GroupInfo::decode(r)};
    case WireFormat::kKeyPackage:
      return MlsMessage{version, KeyPackage::decode(r)};
    default:
      return MlsMessage{version, PublicMessage::decode(r)};
  }
}

}  // namespace cercle::mls
