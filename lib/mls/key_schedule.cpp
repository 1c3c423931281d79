#include "cercle/mls/key_schedule.h"

#include "cercle/mls/crypto.h"
#include "cercle/mls/hpke.h"
#include "cercle/mls/tree_math.h"

namespace cercle::mls {

EpochSecrets EpochSecrets::derive(BytesView init_secret, BytesView commit_secret,
                                  BytesView psk_secret, BytesView group_context) {
  Secret prk = hkdf_extract(init_secret, commit_secret);
  Secret joiner = expand_with_label(prk.view(), "joiner", group_context, kHashLen);
  return from_joiner(joiner, psk_secret, group_context);
}

EpochSecrets EpochSecrets::from_joiner(const Secret& joiner_secret, BytesView psk_secret,
                                       BytesView group_context) {
  EpochSecrets s;
  s.joiner_secret = joiner_secret;
  Secret member = hkdf_extract(joiner_secret.view(), psk_secret);
  s.welcome_secret = derive_secret(member.view(), "welcome");
  Secret epoch = expand_with_label(member.view(), "epoch", group_context, kHashLen);
  s.sender_data_secret = derive_secret(epoch.view(), "sender data");
  s.encryption_secret = derive_secret(epoch.view(), "encryption");
  s.exporter_secret = derive_secret(epoch.view(), "exporter");
  s.external_secret = derive_secret(epoch.view(), "external");
  s.confirmation_key = derive_secret(epoch.view(), "confirm");
  s.membership_key = derive_secret(epoch.view(), "membership");
  s.resumption_psk = derive_secret(epoch.view(), "resumption");
  s.epoch_authenticator = derive_secret(epoch.view(), "authentication");
  s.init_secret = derive_secret(epoch.view(), "init");
  return s;
}

void EpochSecrets::encode(Writer& w) const {
  for (const Secret* s : {&joiner_secret, &welcome_secret, &init_secret, &sender_data_secret,
                          &encryption_secret, &exporter_secret, &epoch_authenticator,
                          &external_secret, &confirmation_key, &membership_key, &resumption_psk}) {
    w.opaque(s->view());
  }
}

EpochSecrets EpochSecrets::decode(Reader& r) {
  EpochSecrets s;
  for (Secret* x :
       {&s.joiner_secret, &s.welcome_secret, &s.init_secret, &s.sender_data_secret,
        &s.encryption_secret, &s.exporter_secret, &s.epoch_authenticator, &s.external_secret,
        &s.confirmation_key, &s.membership_key, &s.resumption_psk}) {
    Bytes b = r.opaque();
    *x = Secret(std::move(b));
  }
  return s;
}

Secret mls_exporter(const Secret& exporter_secret, std::string_view label, BytesView context,
                    size_t length) {
  Secret derived = derive_secret(exporter_secret.view(), label);
  return expand_with_label(derived.view(), "exported", sha256(context), length);
}

Secret compute_psk_secret(const std::vector<PskWithId>& psks) {
  Secret secret(Bytes(kHashLen, 0));
  const Bytes zero(kHashLen, 0);
  for (size_t i = 0; i < psks.size(); ++i) {
    Writer label;
    psks[i].id.encode(label);
    label.u16(static_cast<uint16_t>(i));
    label.u16(static_cast<uint16_t>(psks.size()));
    Secret extracted = hkdf_extract(zero, psks[i].psk.view());
    Secret input = expand_with_label(extracted.view(), "derived psk", label.bytes(), kHashLen);
    secret = hkdf_extract(input.view(), secret.view());
  }
  return secret;
}

Secret welcome_key(const Secret& welcome_secret) {
  return expand_with_label(welcome_secret.view(), "key", {}, kAeadKeyLen);
}
Secret welcome_nonce(const Secret& welcome_secret) {
  return expand_with_label(welcome_secret.view(), "nonce", {}, kAeadNonceLen);
}

Bytes confirmed_transcript_hash(BytesView interim_before, const AuthenticatedContent& commit) {
  Writer w;
  w.raw(interim_before);
  w.u16(static_cast<uint16_t>(commit.wire_format));
  commit.content.encode(w);
  w.opaque(commit.auth.signature);
  return sha256(w.bytes());
}

Bytes interim_transcript_hash(BytesView confirmed, BytesView confirmation_tag) {
  Writer w;
  w.raw(confirmed);
  w.opaque(confirmation_tag);
  return sha256(w.bytes());
}

static BytesView sample(BytesView ciphertext) {
  return ciphertext.subspan(0, std::min(ciphertext.size(), kHashLen));
}
Secret sender_data_key(const Secret& sender_data_secret, BytesView ciphertext) {
  return expand_with_label(sender_data_secret.view(), "key", sample(ciphertext), kAeadKeyLen);
}
Secret sender_data_nonce(const Secret& sender_data_secret, BytesView ciphertext) {
  return expand_with_label(sender_data_secret.view(), "nonce", sample(ciphertext), kAeadNonceLen);
}

SecretTree::SecretTree(const Secret& encryption_secret, uint32_t n_leaves) : n_leaves_(n_leaves) {
  nodes_[tree_math::root(n_leaves)] = encryption_secret;
}

Status SecretTree::materialize_leaf(uint32_t leaf) {
  uint32_t target = tree_math::leaf_to_node(leaf);
  // Walk down from the root until a stored ancestor is found, then derive towards the leaf,
  // deleting each parent secret once both children exist (RFC 9420 9.2 deletion schedule).
  std::vector<uint32_t> path = tree_math::direct_path(target, n_leaves_);
  path.insert(path.begin(), target);
  size_t i = 0;
  while (i < path.size() && !nodes_.count(path[i])) ++i;
  if (i == path.size()) return make_error(Errc::kLimit, "secret tree node already consumed");
  for (; i > 0; --i) {
    uint32_t node = path[i];
    auto l = tree_math::left(node), r = tree_math::right(node);
    const Secret& s = nodes_[node];
    nodes_[*l] = expand_with_label(s.view(), "tree", to_bytes("left"), kHashLen);
    nodes_[*r] = expand_with_label(s.view(), "tree", to_bytes("right"), kHashLen);
    nodes_.erase(node);
  }
  return {};
}

Result<SecretTree::Ratchet*> SecretTree::ratchet(uint32_t leaf, RatchetKind kind) {
  if (leaf >= n_leaves_) return make_error(Errc::kInvalid, "leaf outside the secret tree");
  auto it = ratchets_.find(leaf);
  if (it == ratchets_.end()) {
    MLS_CHECK(materialize_leaf(leaf));
    uint32_t node = tree_math::leaf_to_node(leaf);
    std::array<Ratchet, 2> pair;
    pair[0].secret = expand_with_label(nodes_[node].view(), "handshake", {}, kHashLen);
    pair[1].secret = expand_with_label(nodes_[node].view(), "application", {}, kHashLen);
    nodes_.erase(node);
    it = ratchets_.emplace(leaf, std::move(pair)).first;
  }
  return &it->second[static_cast<size_t>(kind)];
}

static KeyAndNonce derive_key(const Secret& secret, uint32_t generation) {
  return KeyAndNonce{generation, derive_tree_secret(secret.view(), "key", generation, kAeadKeyLen),
                     derive_tree_secret(secret.view(), "nonce", generation, kAeadNonceLen)};
}

static void advance(Secret& secret, uint32_t& generation) {
  secret = derive_tree_secret(secret.view(), "secret", generation, kHashLen);
  ++generation;
}

Result<KeyAndNonce> SecretTree::next(uint32_t leaf, RatchetKind kind) {
  MLS_TRY(Ratchet * r, ratchet(leaf, kind));
  if (r->generation == UINT32_MAX) return make_error(Errc::kLimit, "ratchet exhausted");
  KeyAndNonce out = derive_key(r->secret, r->generation);
  advance(r->secret, r->generation);
  return out;
}

Result<KeyAndNonce> SecretTree::get(uint32_t leaf, RatchetKind kind, uint32_t generation) {
  MLS_TRY(Ratchet * r, ratchet(leaf, kind));
  if (generation < r->generation) {
    auto it = r->skipped.find(generation);
    if (it == r->skipped.end()) return make_error(Errc::kLimit, "generation consumed or expired");
    KeyAndNonce out{generation, std::move(it->second.first), std::move(it->second.second)};
    r->skipped.erase(it);
    return out;
  }
  if (generation - r->generation > kMaxForwardGenerations) {
    return make_error(Errc::kLimit, "generation too far ahead");
  }
  while (r->generation < generation) {
    KeyAndNonce k = derive_key(r->secret, r->generation);
    r->skipped[k.generation] = {std::move(k.key), std::move(k.nonce)};
    if (r->skipped.size() > kMaxSkippedKeys) r->skipped.erase(r->skipped.begin());
    advance(r->secret, r->generation);
  }
  KeyAndNonce out = derive_key(r->secret, r->generation);
  if (r->generation == UINT32_MAX) return make_error(Errc::kLimit, "ratchet exhausted");
  advance(r->secret, r->generation);
  return out;
}

void SecretTree::encode(Writer& w) const {
  w.u32(n_leaves_);
  w.vec([&](Writer& n) {
    for (const auto& [index, s] : nodes_) {
      n.u32(index);
      n.opaque(s.view());
    }
  });
  w.vec([&](Writer& rw) {
    for (const auto& [leaf, pair] : ratchets_) {
      rw.u32(leaf);
      for (const auto& r : pair) {
        rw.opaque(r.secret.view());
        rw.u32(r.generation);
        rw.vec([&](Writer& sk) {
          for (const auto& [gen, kn] : r.skipped) {
            sk.u32(gen);
            sk.opaque(kn.first.view());
            sk.opaque(kn.second.view());
          }
        });
      }
    }
  });
}

SecretTree SecretTree::decode(Reader& r) {
  SecretTree t;
  t.n_leaves_ = r.u32();
  Reader nodes = r.vector();
  while (nodes.more()) {
    uint32_t index = nodes.u32();
    t.nodes_[index] = Secret(nodes.opaque());
  }
  Reader ratchets = r.vector();
  while (ratchets.more()) {
    uint32_t leaf = ratchets.u32();
    std::array<Ratchet, 2> pair;
    for (auto& rt : pair) {
      rt.secret = Secret(ratchets.opaque());
      rt.generation = ratchets.u32();
      Reader sk = ratchets.vector();
      while (sk.more()) {
        uint32_t gen = sk.u32();
        Secret key(sk.opaque());
        Secret nonce(sk.opaque());
        rt.skipped[gen] = {std::move(key), std::move(nonce)};
      }
    }
    t.ratchets_[leaf] = std::move(pair);
  }
  return t;
}

}  // namespace cercle::mls
