// State: creation, accessors, application messages, exporter, proposals and storage.
#include "cercle/mls/state.h"

#include "cercle/mls/framing.h"
#include "cercle/mls/tree_math.h"
#include "state_internal.h"

namespace cercle::mls {

Bytes proposal_ref(const AuthenticatedContent& content) {
  return ref_hash("MLS 1.0 Proposal Reference", encode(content));
}

const SignaturePrivateKey& apply_leaf_change(LeafNode& leaf, const LeafChange& change,
                                             const SignaturePrivateKey& signer) {
  if (change.credential) leaf.credential = *change.credential;
  if (change.extensions) leaf.extensions = *change.extensions;
  if (change.capabilities) leaf.capabilities = *change.capabilities;
  if (!change.signer) return signer;
  leaf.signature_key = change.signer->public_key;
  return *change.signer;
}

Status check_same_credential(const LeafNode& old, const LeafNode& next) {
  if (!(old.credential == next.credential)) {
    return make_error(Errc::kInvalid, "a member's credential may not change inside the group");
  }
  return {};
}

static std::vector<uint16_t> non_default_types(const std::vector<Extension>& exts) {
  std::vector<uint16_t> out;
  for (const auto& e : exts) {
    if (e.extension_type > 5) out.push_back(e.extension_type);
  }
  return out;
}

Result<State> State::create(Bytes group_id, const Credential& credential,
                            SignaturePrivateKey signer, std::vector<Extension> gce) {
  return create(std::move(group_id), credential, std::move(signer),
                CreateOptions{std::move(gce), {}, {}});
}

Result<State> State::create(Bytes group_id, const Credential& credential,
                            SignaturePrivateKey signer, CreateOptions options) {
  if (group_id.empty()) return make_error(Errc::kInvalid, "empty group id");
  std::vector<Extension>& gce = options.group_context_extensions;
  State s;
  HpkePrivateKey leaf_key = HpkePrivateKey::generate();
  LeafNode leaf;
  leaf.encryption_key = leaf_key.public_key;
  leaf.signature_key = signer.public_key;
  leaf.credential = credential;
  std::vector<uint16_t> advertised = std::move(options.extension_types);
  for (uint16_t t : non_default_types(gce)) advertised.push_back(t);
  for (const auto& e : options.leaf_extensions) advertised.push_back(e.extension_type);
  leaf.capabilities = default_capabilities(advertised);
  leaf.extensions = std::move(options.leaf_extensions);
  leaf.source = LeafNodeSource::kKeyPackage;
  uint64_t now = now_seconds();
  leaf.lifetime = {now > 3600 ? now - 3600 : 0, now + 365ull * 24 * 3600};
  leaf.signature = sign_with_label(signer, "LeafNodeTBS", leaf.to_be_signed({}, 0));
  // The leaf is checked as every member checks a joiner's (a leaf extension given twice).
  MLS_CHECK(validate_leaf_node(leaf, LeafNodeSource::kKeyPackage, {}, 0));
  s.tree_ = std::make_shared<const RatchetTree>(std::move(leaf));
  MLS_CHECK(check_members_support(*s.tree_, gce));
  s.priv_ = PrivateTree(0, std::move(leaf_key));
  s.signer_ = std::move(signer);
  s.context_.group_id = std::move(group_id);
  s.context_.epoch = 0;
  s.context_.tree_hash = s.tree_->root_hash();
  s.context_.extensions = std::move(gce);
  Bytes zero(kHashLen, 0);
  Secret init(random_bytes(kHashLen));
  s.secrets_ = EpochSecrets::derive(init.view(), zero, zero, encode(s.context_));
  Bytes tag = hmac_sha256(s.secrets_.confirmation_key.view(), {});
  s.interim_transcript_hash_ = interim_transcript_hash({}, tag);
  s.secret_tree_ = SecretTree(s.secrets_.encryption_secret, s.tree_->n_leaves());
  s.resumption_psks_[0] = s.secrets_.resumption_psk;
  return s;
}

Result<Bytes> State::export_secret(std::string_view label, BytesView context, size_t length) const {
  if (length > 255 * kHashLen) return make_error(Errc::kLimit, "exporter length too large");
  return mls_exporter(secrets_.exporter_secret, label, context, length).copy_bytes();
}

std::vector<Member> State::members() const {
  std::vector<Member> out;
  for (uint32_t l : tree_->occupied_leaves()) {
    const LeafNode* leaf = tree_->leaf(l);
    out.push_back(Member{l, leaf->credential, leaf->signature_key});
  }
  return out;
}

State State::with_external_psk(Bytes id, Bytes psk) const {
  State s = *this;
  s.external_psks_[std::move(id)] = Secret(std::move(psk));
  return s;
}

Genesis genesis(const State& before, const State& after) {
  return Genesis{encode(before.group_context()), before.tree().encode_bytes(),
                 after.group_context().confirmed_transcript_hash};
}

Result<std::pair<Bytes, State>> State::encrypt(BytesView plaintext, BytesView authenticated_data,
                                               size_t padding) const {
  if (padding > 4096) return make_error(Errc::kLimit, "padding too large");
  FramedContent fc;
  fc.group_id = context_.group_id;
  fc.epoch = context_.epoch;
  fc.sender = Sender{SenderType::kMember, own_leaf()};
  fc.authenticated_data.assign(authenticated_data.begin(), authenticated_data.end());
  fc.content = ApplicationData{Bytes(plaintext.begin(), plaintext.end())};
  AuthenticatedContent ac =
      sign_content(WireFormat::kPrivateMessage, std::move(fc), signer_, context_);
  State next = *this;
  MLS_TRY(PrivateMessage pm,
          encrypt_private_message(ac, next.secret_tree_, secrets_.sender_data_secret, padding));
  return std::pair<Bytes, State>{encode(MlsMessage{kProtocolVersion, std::move(pm)}),
                                 std::move(next)};
}

Result<ProposalOutput> State::send_proposal(Proposal proposal,
                                            std::optional<HpkePrivateKey> new_key) const {
  FramedContent fc;
  fc.group_id = context_.group_id;
  fc.epoch = context_.epoch;
  fc.sender = Sender{SenderType::kMember, own_leaf()};
  fc.content = proposal;
  AuthenticatedContent ac =
      sign_content(WireFormat::kPublicMessage, std::move(fc), signer_, context_);
  MLS_TRY(PublicMessage pm, to_public_message(ac, secrets_.membership_key, context_));
  State next = *this;
  next.proposals_.push_back(CachedProposal{proposal_ref(ac), std::move(proposal), own_leaf()});
  if (new_key) next.pending_update_keys_.push_back(std::move(*new_key));
  return ProposalOutput{encode(MlsMessage{kProtocolVersion, std::move(pm)}), std::move(next)};
}

Result<ProposalOutput> State::propose_remove(uint32_t leaf) const {
  // Proposing one's own removal is how a member leaves: another member commits it.
  if (!tree_->leaf(leaf)) {
    return make_error(Errc::kInvalid, "cannot remove that leaf");
  }
  return send_proposal(Proposal{RemoveProposal{leaf}}, std::nullopt);
}

Result<ProposalOutput> State::propose_add(BytesView key_package) const {
  MLS_TRY(KeyPackage kp, parse_key_package(key_package));
  MLS_CHECK(validate_key_package(kp, now_seconds()));
  return send_proposal(Proposal{AddProposal{std::move(kp)}}, std::nullopt);
}

Result<ProposalOutput> State::propose_update(const LeafChange& change) const {
  HpkePrivateKey key = HpkePrivateKey::generate();
  LeafNode leaf = *tree_->leaf(own_leaf());
  leaf.encryption_key = key.public_key;
  leaf.source = LeafNodeSource::kUpdate;
  leaf.lifetime = {};
  leaf.parent_hash.clear();
  const SignaturePrivateKey& signer = apply_leaf_change(leaf, change, signer_);
  leaf.signature =
      sign_with_label(signer, "LeafNodeTBS", leaf.to_be_signed(context_.group_id, own_leaf()));
  return send_proposal(Proposal{UpdateProposal{std::move(leaf)}}, std::move(key));
}

Result<ProposalOutput> State::propose(Proposal proposal) const {
  if (std::holds_alternative<ExternalInitProposal>(proposal.value)) {
    return make_error(Errc::kInvalid, "ExternalInit is never sent as a proposal");
  }
  return send_proposal(std::move(proposal), std::nullopt);
}

static constexpr uint16_t kStorageVersion = 1;

Bytes State::serialize() const {
  Writer w;
  w.u16(kStorageVersion);
  context_.encode(w);
  w.opaque(tree_->encode_bytes());
  priv_.encode(w);
  w.opaque(signer_.seed());
  secrets_.encode(w);
  secret_tree_.encode(w);
  w.opaque(interim_transcript_hash_);
  w.vec([&](Writer& pw) {
    for (const auto& p : proposals_) {
      pw.opaque(p.ref);
      p.proposal.encode(pw);
      pw.u32(p.sender);
    }
  });
  w.vec([&](Writer& kw) {
    for (const auto& k : pending_update_keys_) kw.opaque(k.key.view());
  });
  w.vec([&](Writer& rw) {
    for (const auto& [epoch, psk] : resumption_psks_) {
      rw.u64(epoch);
      rw.opaque(psk.view());
    }
  });
  w.vec([&](Writer& ew) {
    for (const auto& [id, psk] : external_psks_) {
      ew.opaque(id);
      ew.opaque(psk.view());
    }
  });
  return w.take();
}

Result<State> State::deserialize(BytesView data) {
  Reader r(data);
  State s;
  uint16_t version = r.u16();
  s.context_ = GroupContext::decode(r);
  Bytes tree = r.opaque();
  s.priv_ = PrivateTree::decode(r);
  Secret seed(r.opaque());
  s.secrets_ = EpochSecrets::decode(r);
  s.secret_tree_ = SecretTree::decode(r);
  s.interim_transcript_hash_ = r.opaque();
  Reader pr = r.vector();
  while (pr.more()) {
    CachedProposal p;
    p.ref = pr.opaque();
    p.proposal = Proposal::decode(pr);
    p.sender = pr.u32();
    s.proposals_.push_back(std::move(p));
  }
  std::vector<Secret> update_keys;
  Reader kr = r.vector();
  while (kr.more()) update_keys.emplace_back(kr.opaque());
  Reader rr = r.vector();
  while (rr.more()) {
    uint64_t epoch = rr.u64();
    s.resumption_psks_[epoch] = Secret(rr.opaque());
  }
  Reader er = r.vector();
  while (er.more()) {
    Bytes id = er.opaque();
    s.external_psks_[id] = Secret(er.opaque());
  }
  if (!r.ok() || !r.at_end() || version != kStorageVersion) {
    return make_error(Errc::kDecode, "malformed stored state");
  }
  MLS_TRY(RatchetTree decoded_tree, RatchetTree::decode_bytes(tree));
  s.tree_ = std::make_shared<const RatchetTree>(std::move(decoded_tree));
  MLS_TRY(s.signer_, SignaturePrivateKey::from_seed(seed.view()));
  for (const auto& k : update_keys) {
    MLS_TRY(auto key, HpkePrivateKey::from_private(k.view()));
    s.pending_update_keys_.push_back(std::move(key));
  }
  const LeafNode* own = s.tree_->leaf(s.priv_.own_leaf());
  if (!own || own->signature_key != s.signer_.public_key ||
      !s.priv_.check_consistent(*s.tree_).ok() ||
      s.secret_tree_.n_leaves() != s.tree_->n_leaves()) {
    return make_error(Errc::kInvalid, "stored state is inconsistent");
  }
  return s;
}

}  // namespace cercle::mls
