// Codecs for credentials, nodes, key packages, proposals and commits.
#include "cercle/mls/messages.h"

#include <set>

namespace cercle::mls {

void Extension::encode(Writer& w) const {
  w.u16(extension_type);
  w.opaque(extension_data);
}
Extension Extension::decode(Reader& r) {
  Extension e;
  e.extension_type = r.u16();
  e.extension_data = r.opaque();
  return e;
}

const Extension* find_extension(const std::vector<Extension>& exts, uint16_t type) {
  for (const auto& e : exts) {
    if (e.extension_type == type) return &e;
  }
  return nullptr;
}

bool has_duplicate_extensions(const std::vector<Extension>& exts) {
  std::set<uint16_t> seen;
  for (const auto& e : exts) {
    if (!seen.insert(e.extension_type).second) return true;
  }
  return false;
}

void Credential::encode(Writer& w) const {
  w.u16(credential_type);
  if (credential_type == kCredentialBasic) {
    w.opaque(identity);
  } else {
    w.list(certificates);
  }
}
Credential Credential::decode(Reader& r) {
  Credential c;
  c.credential_type = r.u16();
  if (c.credential_type == kCredentialBasic) {
    c.identity = r.opaque();
  } else if (c.credential_type == kCredentialX509) {
    c.certificates = r.list<Opaque>();
  } else {
    r.fail();  // the body of an unknown credential type has no length to skip
  }
  return c;
}

void Capabilities::encode(Writer& w) const {
  w.list(versions);
  w.list(cipher_suites);
  w.list(extensions);
  w.list(proposals);
  w.list(credentials);
}
Capabilities Capabilities::decode(Reader& r) {
  Capabilities c;
  c.versions = r.list<Uint16>();
  c.cipher_suites = r.list<Uint16>();
  c.extensions = r.list<Uint16>();
  c.proposals = r.list<Uint16>();
  c.credentials = r.list<Uint16>();
  return c;
}

void LeafNode::encode_content(Writer& w) const {
  w.opaque(encryption_key);
  w.opaque(signature_key);
  credential.encode(w);
  capabilities.encode(w);
  w.u8(static_cast<uint8_t>(source));
  if (source == LeafNodeSource::kKeyPackage) {
    w.u64(lifetime.not_before);
    w.u64(lifetime.not_after);
  } else if (source == LeafNodeSource::kCommit) {
    w.opaque(parent_hash);
  }
  w.list(extensions);
}

void LeafNode::encode(Writer& w) const {
  encode_content(w);
  w.opaque(signature);
}

LeafNode LeafNode::decode(Reader& r) {
  LeafNode n;
  n.encryption_key = r.opaque();
  n.signature_key = r.opaque();
  n.credential = Credential::decode(r);
  n.capabilities = Capabilities::decode(r);
  uint8_t src = r.u8();
  if (src < 1 || src > 3) r.fail();
  n.source = static_cast<LeafNodeSource>(src);
  if (n.source == LeafNodeSource::kKeyPackage) {
    n.lifetime.not_before = r.u64();
    n.lifetime.not_after = r.u64();
  } else if (n.source == LeafNodeSource::kCommit) {
    n.parent_hash = r.opaque();
  }
  n.extensions = r.list<Extension>();
  n.signature = r.opaque();
  return n;
}

Bytes LeafNode::to_be_signed(BytesView group_id, uint32_t leaf_index) const {
  Writer w;
  encode_content(w);
  if (source != LeafNodeSource::kKeyPackage) {
    w.opaque(group_id);
    w.u32(leaf_index);
  }
  return w.take();
}

void ParentNode::encode(Writer& w) const {
  w.opaque(encryption_key);
  w.opaque(parent_hash);
  w.list(unmerged_leaves);
}
ParentNode ParentNode::decode(Reader& r) {
  ParentNode p;
  p.encryption_key = r.opaque();
  p.parent_hash = r.opaque();
  p.unmerged_leaves = r.list<Uint32>();
  return p;
}

void Node::encode(Writer& w) const {
  w.u8(static_cast<uint8_t>(value.index() + 1));
  std::visit([&](const auto& v) { v.encode(w); }, value);
}
Node Node::decode(Reader& r) {
  uint8_t type = r.u8();
  if (type == 1) return Node{LeafNode::decode(r)};
  if (type == 2) return Node{ParentNode::decode(r)};
  r.fail();
  return Node{ParentNode{}};
}

void RatchetTreeData::encode(Writer& w) const {
  w.vec([&](Writer& inner) {
    for (const auto& n : nodes) inner.optional(n);
  });
}
RatchetTreeData RatchetTreeData::decode(Reader& r) {
  RatchetTreeData t;
  Reader sub = r.vector();
  while (sub.more()) t.nodes.push_back(sub.optional<Node>());
  return t;
}

void KeyPackage::encode(Writer& w) const {
  w.raw(to_be_signed());
  w.opaque(signature);
}
Bytes KeyPackage::to_be_signed() const {
  Writer w;
  w.u16(version);
  w.u16(cipher_suite);
  w.opaque(init_key);
  leaf_node.encode(w);
  w.list(extensions);
  return w.take();
}
KeyPackage KeyPackage::decode(Reader& r) {
  KeyPackage k;
  k.version = r.u16();
  k.cipher_suite = r.u16();
  k.init_key = r.opaque();
  k.leaf_node = LeafNode::decode(r);
  k.extensions = r.list<Extension>();
  k.signature = r.opaque();
  return k;
}

void UpdatePathNode::encode(Writer& w) const {
  w.opaque(encryption_key);
  w.list(encrypted_path_secret);
}
UpdatePathNode UpdatePathNode::decode(Reader& r) {
  UpdatePathNode n;
  n.encryption_key = r.opaque();
  n.encrypted_path_secret = r.list<HpkeCiphertext>();
  return n;
}

void UpdatePath::encode(Writer& w) const {
  leaf_node.encode(w);
  w.list(nodes);
}
UpdatePath UpdatePath::decode(Reader& r) {
  UpdatePath p;
  p.leaf_node = LeafNode::decode(r);
  p.nodes = r.list<UpdatePathNode>();
  return p;
}

void PreSharedKeyId::encode(Writer& w) const {
  w.u8(psktype);
  if (psktype == kPskExternal) {
    w.opaque(psk_id);
  } else {
    w.u8(usage);
    w.opaque(psk_group_id);
    w.u64(psk_epoch);
  }
  w.opaque(psk_nonce);
}
PreSharedKeyId PreSharedKeyId::decode(Reader& r) {
  PreSharedKeyId p;
  p.psktype = r.u8();
  if (p.psktype == kPskExternal) {
    p.psk_id = r.opaque();
  } else if (p.psktype == kPskResumption) {
    p.usage = r.u8();
    p.psk_group_id = r.opaque();
    p.psk_epoch = r.u64();
  } else {
    r.fail();
  }
  p.psk_nonce = r.opaque();
  return p;
}

void ReInitProposal::encode(Writer& w) const {
  w.opaque(group_id);
  w.u16(version);
  w.u16(cipher_suite);
  w.list(extensions);
}
ReInitProposal ReInitProposal::decode(Reader& r) {
  ReInitProposal p;
  p.group_id = r.opaque();
  p.version = r.u16();
  p.cipher_suite = r.u16();
  p.extensions = r.list<Extension>();
  return p;
}

void Proposal::encode(Writer& w) const {
  w.u16(static_cast<uint16_t>(type()));
  std::visit([&](const auto& v) { v.encode(w); }, value);
}
Proposal Proposal::decode(Reader& r) {
  uint16_t type = r.u16();
  switch (type) {
    case 1:
      return Proposal{AddProposal::decode(r)};
    case 2:
      return Proposal{UpdateProposal::decode(r)};
    case 3:
      return Proposal{RemoveProposal::decode(r)};
    case 4:
      return Proposal{PskProposal::decode(r)};
    case 5:
      return Proposal{ReInitProposal::decode(r)};
    case 6:
      return Proposal{ExternalInitProposal::decode(r)};
    case 7:
      return Proposal{GroupContextExtensionsProposal::decode(r)};
    default:
      r.fail();
      return Proposal{RemoveProposal{}};
  }
}

void ProposalOrRef::encode(Writer& w) const {
  w.u8(static_cast<uint8_t>(value.index() + 1));
  std::visit([&](const auto& v) { v.encode(w); }, value);
}
ProposalOrRef ProposalOrRef::decode(Reader& r) {
  uint8_t type = r.u8();
  if (type == 1) return ProposalOrRef{Proposal::decode(r)};
  if (type == 2) return ProposalOrRef{Opaque::decode(r)};
  r.fail();
  return ProposalOrRef{Opaque{}};
}

void Commit::encode(Writer& w) const {
  w.list(proposals);
  w.optional(path);
}
Commit Commit::decode(Reader& r) {
  Commit c;
  c.proposals = r.list<ProposalOrRef>();
  c.path = r.optional<UpdatePath>();
  return c;
}

}  // namespace cercle::mls
