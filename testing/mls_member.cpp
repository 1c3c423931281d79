#include "testing/mls_member.h"

#include <stdexcept>

#include "cercle/mls/framing.h"
#include "cercle/mls/key_package.h"
#include "cercle/policy/extensions.h"
#include "proto/policy.pb.h"

namespace cercle::testing {

namespace {

mls::Bytes bytes(const std::string& s) { return mls::Bytes(s.begin(), s.end()); }
std::string str(const mls::Bytes& b) { return std::string(b.begin(), b.end()); }

template <class T>
T must(mls::Result<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().message);
  return std::move(r).value();
}

}  // namespace

MlsMember::MlsMember(std::string handle, const unsigned char* secret_key)
    : handle_(std::move(handle)),
      signer_(must(mls::SignaturePrivateKey::from_seed(mls::BytesView(secret_key, 32)), "seed")) {}

const mls::State& MlsMember::group(const std::string& conv) const {
  auto it = groups_.find(conv);
  if (it == groups_.end()) throw std::runtime_error("not in this group");
  return it->second;
}

std::string MlsMember::key_package(bool professional) {
  mls::KeyPackageOptions options;
  options.extension_types = policy::leaf_extension_types();
  if (professional) {
    options.leaf_extensions.push_back(
        mls::Extension{policy::kAccountTypeExtensionType, mls::Bytes{2}});
  }
  auto bundle = must(mls::create_key_package(mls::Credential(bytes(handle_)), signer_, options),
                     "key package");
  bundles_.push_back(bundle);
  return str(bundle.key_package);
}

void MlsMember::create(const std::string& conv) {
  groups_.insert_or_assign(
      conv, must(mls::State::create(bytes(conv), mls::Credential(bytes(handle_)), signer_,
                                    mls::CreateOptions{{}, policy::leaf_extension_types(), {}}),
                 "create"));
}

MlsMember::Commit MlsMember::commit(const std::string& conv,
                                    const std::vector<std::string>& add_key_packages,
                                    const std::vector<uint32_t>& remove_leaves,
                                    const std::optional<std::string>& policy,
                                    const std::string& data) {
  mls::CommitOptions options;
  for (const auto& kp : add_key_packages) options.add_key_packages.push_back(bytes(kp));
  options.remove_leaves = remove_leaves;
  if (policy) {
    options.group_context_extensions =
        std::vector<mls::Extension>{mls::Extension{policy::kRolesExtensionType, bytes(*policy)}};
  }
  options.authenticated_data = bytes(data);
  return pending(conv, must(group(conv).commit(options), "commit"));
}

MlsMember::Commit MlsMember::commit_without_extensions(const std::string& conv) {
  mls::CommitOptions options;
  options.group_context_extensions = std::vector<mls::Extension>{};
  return pending(conv, must(group(conv).commit(options), "commit"));
}

MlsMember::Commit MlsMember::pending(const std::string& conv, mls::CommitOutput out) {
  Commit c{str(out.message), out.welcome ? str(*out.welcome) : std::string(), std::nullopt};
  const mls::State& before = group(conv);
  if (before.epoch() == 0) {
    const mls::Genesis g = mls::genesis(before, out.pending);
    c.genesis.emplace();
    c.genesis->set_group_context(str(g.group_context));
    c.genesis->set_ratchet_tree(str(g.ratchet_tree));
    c.genesis->set_confirmed_transcript_hash(str(g.confirmed_transcript_hash));
  }
  pending_.insert_or_assign(conv, std::move(out.pending));
  return c;
}

void MlsMember::adopt(const std::string& conv) {
  auto it = pending_.find(conv);
  if (it == pending_.end()) throw std::runtime_error("no pending commit");
  groups_.insert_or_assign(conv, std::move(it->second));
  pending_.erase(it);
}

void MlsMember::discard(const std::string& conv) { pending_.erase(conv); }

std::string MlsMember::propose_remove(const std::string& conv, uint32_t leaf) {
  auto out = must(group(conv).propose_remove(leaf), "propose remove");
  groups_.insert_or_assign(conv, out.state);
  return str(out.message);
}

bool MlsMember::join(const std::string& conv, const std::string& welcome) {
  for (const auto& bundle : bundles_) {
    auto joined = mls::State::join(bytes(welcome), bundle);
    if (joined) {
      groups_.insert_or_assign(conv, std::move(*joined));
      return true;
    }
  }
  return false;
}

bool MlsMember::process(const std::string& conv, const std::string& message) {
  auto it = groups_.find(conv);
  if (it == groups_.end()) return false;
  auto out = it->second.process(bytes(message));
  if (!out) return false;
  if (out->removed) {
    groups_.erase(it);
  } else {
    it->second = std::move(out->state);
  }
  return true;
}

std::string MlsMember::encrypt(const std::string& conv, const std::string& text,
                               const std::string& authenticated_data) {
  auto [message, next] =
      must(group(conv).encrypt(bytes(text), bytes(authenticated_data)), "encrypt");
  groups_.insert_or_assign(conv, std::move(next));
  return str(message);
}

std::string MlsMember::encrypt_sized(const std::string& conv, size_t size, char fill) {
  // The framing's size depends on the text's length only (QUIC-style length prefixes), so a few
  // trials converge.
  int64_t text = static_cast<int64_t>(size) - 200;
  for (int attempt = 0; attempt < 8 && text >= 0; ++attempt) {
    auto out =
        must(group(conv).encrypt(bytes(std::string(static_cast<size_t>(text), fill))), "encrypt");
    if (out.first.size() == size) {
      groups_.insert_or_assign(conv, std::move(out.second));
      return str(out.first);
    }
    text += static_cast<int64_t>(size) - static_cast<int64_t>(out.first.size());
  }
  throw std::runtime_error("no application message has exactly this size");
}

std::optional<std::string> MlsMember::decrypt(const std::string& conv, const std::string& message) {
  auto it = groups_.find(conv);
  if (it == groups_.end()) return std::nullopt;
  auto out = it->second.process(bytes(message));
  if (!out || out->kind != mls::ContentKind::kApplication) return std::nullopt;
  it->second = std::move(out->state);
  return str(out->application_data);
}

std::optional<std::string> MlsMember::policy(const std::string& conv) const {
  for (const auto& e : group(conv).group_context_extensions()) {
    if (e.extension_type == policy::kRolesExtensionType) return str(e.extension_data);
  }
  return std::nullopt;
}

uint64_t MlsMember::epoch(const std::string& conv) const { return group(conv).epoch(); }
uint32_t MlsMember::leaf(const std::string& conv) const { return group(conv).own_leaf(); }

std::string MlsMember::epoch_authenticator(const std::string& conv) const {
  return str(group(conv).epoch_authenticator());
}

int64_t MlsMember::leaf_of(const std::string& conv, const std::string& handle) const {
  for (const auto& m : group(conv).members()) {
    if (str(m.credential.identity) == handle) return m.leaf_index;
  }
  return -1;
}

std::string MlsMember::propose(const std::string& conv, const mls::Proposal& proposal) {
  auto out = must(group(conv).propose(proposal), "propose");
  pending_.insert_or_assign(conv, out.state);
  return str(out.message);
}

std::string MlsMember::propose_update(const std::string& conv, const mls::LeafChange& change) {
  auto out = must(group(conv).propose_update(change), "propose update");
  pending_.insert_or_assign(conv, out.state);
  return str(out.message);
}

mls::LeafNode MlsMember::update_leaf(const std::string& conv) const {
  const mls::State& s = group(conv);
  mls::LeafNode leaf = *s.tree().leaf(s.own_leaf());
  leaf.encryption_key = mls::HpkePrivateKey::generate().public_key;
  leaf.source = mls::LeafNodeSource::kUpdate;
  leaf.lifetime = {};
  leaf.parent_hash.clear();
  leaf.signature.clear();
  return leaf;
}

void MlsMember::sign_leaf(const std::string& conv, mls::LeafNode& leaf,
                          const mls::SignaturePrivateKey* key) const {
  const mls::State& s = group(conv);
  leaf.signature = mls::sign_with_label(key ? *key : signer_, "LeafNodeTBS",
                                        leaf.to_be_signed(s.group_id(), s.own_leaf()));
}

MlsMember::Commit MlsMember::commit_with(const std::string& conv,
                                         const mls::CommitOptions& options) {
  return pending(conv, must(group(conv).commit(options), "commit"));
}

std::string MlsMember::resign(const std::string& conv, const std::string& message,
                              const std::function<void(mls::FramedContent&)>& edit,
                              const mls::SignaturePrivateKey* key) const {
  auto decoded = must(mls::decode_exact<mls::MlsMessage>(bytes(message)), "decode");
  auto& pm = std::get<mls::PublicMessage>(decoded.body);
  edit(pm.content);
  auto signed_content = mls::sign_content(mls::WireFormat::kPublicMessage, pm.content,
                                          key ? *key : signer_, group(conv).group_context());
  pm.auth.signature = signed_content.auth.signature;
  return str(mls::encode(decoded));
}

std::string MlsMember::relabel(const std::string& private_message, mls::ContentType type) {
  auto decoded = must(mls::decode_exact<mls::MlsMessage>(bytes(private_message)), "decode");
  std::get<mls::PrivateMessage>(decoded.body).content_type = type;
  return str(mls::encode(decoded));
}

std::optional<std::string> facilitating_policy(const std::optional<std::string>& current,
                                               const std::string& committer,
                                               const std::vector<std::string>& added) {
  v1::GroupPolicy p;
  if (current) p.ParseFromString(*current);
  bool changed = !current;
  std::vector<std::string> wanted{committer};
  wanted.insert(wanted.end(), added.begin(), added.end());
  for (const auto& handle : wanted) {
    bool present = false;
    for (const auto& g : p.roles()) present |= g.handle() == handle && g.role() == v1::FACILITATOR;
    if (present) continue;
    auto* grant = p.add_roles();
    grant->set_handle(handle);
    grant->set_role(v1::FACILITATOR);
    changed = true;
  }
  if (!changed) return std::nullopt;
  return p.SerializeAsString();
}

}  // namespace cercle::testing
