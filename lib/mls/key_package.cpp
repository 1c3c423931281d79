#include "cercle/mls/key_package.h"

#include <algorithm>
#include <chrono>

#include "cercle/mls/tree_math.h"

namespace cercle::mls {
namespace {

bool is_default_extension(uint16_t t) { return t >= 1 && t <= 5; }
bool is_default_proposal(uint16_t t) { return t >= 1 && t <= 7; }

bool lists(const std::vector<Uint16>& list, uint16_t value) {
  return std::find(list.begin(), list.end(), Uint16{value}) != list.end();
}

struct RequiredCapabilities {
  std::vector<Uint16> extensions, proposals, credentials;
  static RequiredCapabilities decode(Reader& r) {
    RequiredCapabilities c;
    c.extensions = r.list<Uint16>();
    c.proposals = r.list<Uint16>();
    c.credentials = r.list<Uint16>();
    return c;
  }
};

Status supports_group(const LeafNode& leaf, const std::vector<Extension>& exts) {
  const Capabilities& caps = leaf.capabilities;
  for (const auto& e : exts) {
    if (!is_default_extension(e.extension_type) && !lists(caps.extensions, e.extension_type)) {
      return make_error(Errc::kInvalid, "member does not support a group context extension");
    }
  }
  const Extension* rc = find_extension(exts, kExtRequiredCapabilities);
  if (!rc) return {};
  MLS_TRY(auto req, decode_exact<RequiredCapabilities>(rc->extension_data));
  for (const auto& t : req.extensions) {
    if (!is_default_extension(t.value) && !lists(caps.extensions, t.value)) {
      return make_error(Errc::kInvalid, "leaf lacks a required extension");
    }
  }
  for (const auto& t : req.proposals) {
    if (!is_default_proposal(t.value) && !lists(caps.proposals, t.value)) {
      return make_error(Errc::kInvalid, "leaf lacks a required proposal type");
    }
  }
  for (const auto& t : req.credentials) {
    if (!lists(caps.credentials, t.value)) {
      return make_error(Errc::kInvalid, "leaf lacks a required credential type");
    }
  }
  return {};
}

}  // namespace

uint64_t now_seconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

Capabilities default_capabilities(const std::vector<uint16_t>& extension_types) {
  Capabilities c;
  c.versions = {Uint16{kProtocolVersion}};
  c.cipher_suites = {Uint16{kCipherSuite}};
  for (uint16_t t : extension_types) {
    if (!lists(c.extensions, t)) c.extensions.push_back(Uint16{t});
  }
  c.credentials = {Uint16{kCredentialBasic}};
  return c;
}

Result<KeyPackageBundle> create_key_package(const Credential& credential,
                                            const SignaturePrivateKey& signer,
                                            const KeyPackageOptions& options) {
  KeyPackageBundle b{{}, HpkePrivateKey::generate(), HpkePrivateKey::generate(), signer};
  KeyPackage kp;
  kp.init_key = b.init_key.public_key;
  LeafNode& leaf = kp.leaf_node;
  leaf.encryption_key = b.encryption_key.public_key;
  leaf.signature_key = signer.public_key;
  leaf.credential = credential;
  std::vector<uint16_t> advertised = options.extension_types;
  for (const auto& ext : options.leaf_extensions) advertised.push_back(ext.extension_type);
  leaf.capabilities = default_capabilities(advertised);
  leaf.extensions = options.leaf_extensions;
  leaf.source = LeafNodeSource::kKeyPackage;
  uint64_t now = now_seconds();
  // Tolerate an hour of clock skew between members.
  leaf.lifetime = {now > 3600 ? now - 3600 : 0, now + options.lifetime_seconds};
  leaf.signature = sign_with_label(signer, "LeafNodeTBS", leaf.to_be_signed({}, 0));
  kp.signature = sign_with_label(signer, "KeyPackageTBS", kp.to_be_signed());
  b.key_package = encode(MlsMessage{kProtocolVersion, kp});
  return b;
}

Result<KeyPackage> KeyPackageBundle::decoded() const { return parse_key_package(key_package); }

Result<Bytes> KeyPackageBundle::ref() const {
  MLS_TRY(auto kp, decoded());
  return key_package_ref(kp);
}

Bytes KeyPackageBundle::serialize() const {
  Writer w;
  w.u16(1);  // storage format version
  w.opaque(key_package);
  w.opaque(init_key.key.view());
  w.opaque(encryption_key.key.view());
  w.opaque(signer.seed());
  return w.take();
}

Result<KeyPackageBundle> KeyPackageBundle::deserialize(BytesView data) {
  Reader r(data);
  uint16_t version = r.u16();
  Bytes kp = r.opaque();
  Secret init(r.opaque()), enc(r.opaque()), seed(r.opaque());
  if (!r.ok() || !r.at_end() || version != 1) {
    return make_error(Errc::kDecode, "malformed KeyPackageBundle");
  }
  MLS_TRY(auto init_key, HpkePrivateKey::from_private(init.view()));
  MLS_TRY(auto enc_key, HpkePrivateKey::from_private(enc.view()));
  MLS_TRY(auto signer, SignaturePrivateKey::from_seed(seed.view()));
  KeyPackageBundle b{std::move(kp), std::move(init_key), std::move(enc_key), std::move(signer)};
  MLS_TRY(auto decoded, b.decoded());
  if (decoded.init_key != b.init_key.public_key ||
      decoded.leaf_node.encryption_key != b.encryption_key.public_key ||
      decoded.leaf_node.signature_key != b.signer.public_key) {
    return make_error(Errc::kInvalid, "KeyPackageBundle keys do not match");
  }
  return b;
}

Bytes key_package_ref(const KeyPackage& kp) {
  return ref_hash("MLS 1.0 KeyPackage Reference", encode(kp));
}

Result<KeyPackage> parse_key_package(BytesView data) {
  auto msg = decode_exact<MlsMessage>(data);
  if (msg.ok()) {
    if (auto* kp = std::get_if<KeyPackage>(&msg->body)) return *kp;
    return make_error(Errc::kInvalid, "MLSMessage is not a KeyPackage");
  }
  return decode_exact<KeyPackage>(data);
}

Status validate_leaf_node(const LeafNode& leaf, LeafNodeSource expected, BytesView group_id,
                          uint32_t leaf_index) {
  if (leaf.source != expected) return make_error(Errc::kInvalid, "wrong leaf_node_source");
  if (leaf.credential.credential_type != kCredentialBasic) {
    return make_error(Errc::kUnsupported, "only basic credentials are accepted");
  }
  // Every member must support the group's protocol version and cipher suite (RFC 9420 11.1).
  if (!lists(leaf.capabilities.versions, kProtocolVersion) ||
      !lists(leaf.capabilities.cipher_suites, kCipherSuite)) {
    return make_error(Errc::kInvalid, "leaf does not support mls10 with cipher suite 3");
  }
  if (!lists(leaf.capabilities.credentials, leaf.credential.credential_type)) {
    return make_error(Errc::kInvalid, "credential type not in capabilities");
  }
  if (has_duplicate_extensions(leaf.extensions)) {
    return make_error(Errc::kInvalid, "duplicate leaf extension");
  }
  for (const auto& e : leaf.extensions) {
    if (!is_default_extension(e.extension_type) &&
        !lists(leaf.capabilities.extensions, e.extension_type)) {
      return make_error(Errc::kInvalid, "leaf extension not in capabilities");
    }
  }
  if (leaf.encryption_key.size() != kKemKeyLen) {
    return make_error(Errc::kInvalid, "bad leaf encryption key size");
  }
  if (!verify_with_label(leaf.signature_key, "LeafNodeTBS", leaf.to_be_signed(group_id, leaf_index),
                         leaf.signature)) {
    return make_error(Errc::kVerify, "bad LeafNode signature");
  }
  return {};
}

Status validate_key_package(const KeyPackage& kp, std::optional<uint64_t> now, uint64_t skew) {
  if (kp.version != kProtocolVersion || kp.cipher_suite != kCipherSuite) {
    return make_error(Errc::kInvalid, "KeyPackage version or cipher suite mismatch");
  }
  MLS_CHECK(validate_leaf_node(kp.leaf_node, LeafNodeSource::kKeyPackage, {}, 0));
  if (kp.init_key == kp.leaf_node.encryption_key || kp.init_key.size() != kKemKeyLen) {
    return make_error(Errc::kInvalid, "bad KeyPackage init_key");
  }
  const Lifetime& life = kp.leaf_node.lifetime;
  if (now && (*now + skew < life.not_before ||
              (life.not_after<UINT64_MAX - skew&& * now> life.not_after + skew))) {
    return make_error(Errc::kInvalid, "KeyPackage outside its lifetime");
  }
  if (has_duplicate_extensions(kp.extensions)) {
    return make_error(Errc::kInvalid, "duplicate KeyPackage extension");
  }
  if (!verify_with_label(kp.leaf_node.signature_key, "KeyPackageTBS", kp.to_be_signed(),
                         kp.signature)) {
    return make_error(Errc::kVerify, "bad KeyPackage signature");
  }
  return {};
}

Status check_leaf_fits_group(const LeafNode& leaf, uint32_t leaf_index, const RatchetTree& tree,
                             const std::vector<Extension>& group_extensions) {
  MLS_CHECK(supports_group(leaf, group_extensions));
  for (uint32_t other : tree.occupied_leaves()) {
    if (other == leaf_index) continue;
    const LeafNode* o = tree.leaf(other);
    if (o->signature_key == leaf.signature_key) {
      return make_error(Errc::kInvalid, "duplicate signature key");
    }
    if (!lists(leaf.capabilities.credentials, o->credential.credential_type) ||
        !lists(o->capabilities.credentials, leaf.credential.credential_type)) {
      return make_error(Errc::kInvalid, "credential types not mutually supported");
    }
  }
  for (uint32_t node = 0; node < tree.width(); ++node) {
    if (node == tree_math::leaf_to_node(leaf_index)) continue;
    const Bytes* k = tree.encryption_key(node);
    if (k && *k == leaf.encryption_key)
      return make_error(Errc::kInvalid, "duplicate encryption key");
  }
  return {};
}

Status check_members_support(const RatchetTree& tree,
                             const std::vector<Extension>& group_extensions) {
  if (has_duplicate_extensions(group_extensions)) {
    return make_error(Errc::kInvalid, "duplicate group context extension");
  }
  for (uint32_t l : tree.occupied_leaves())
    MLS_CHECK(supports_group(*tree.leaf(l), group_extensions));
  return {};
}

}  // namespace cercle::mls
