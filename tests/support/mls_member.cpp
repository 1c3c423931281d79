#include "tests/support/mls_member.h"

#include <stdexcept>

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

std::string MlsMember::key_package() {
  auto bundle =
      must(mls::create_key_package(mls::Credential(bytes(handle_)), signer_), "key package");
  bundles_.push_back(bundle);
  return str(bundle.key_package);
}

void MlsMember::create(const std::string& conv) {
  groups_.insert_or_assign(
      conv, must(mls::State::create(bytes(conv), mls::Credential(bytes(handle_)), signer_), "create"));
}

MlsMember::Commit MlsMember::commit(const std::string& conv,
                                    const std::vector<std::string>& add_key_packages,
                                    const std::vector<uint32_t>& remove_leaves) {
  mls::CommitOptions options;
  for (const auto& kp : add_key_packages) options.add_key_packages.push_back(bytes(kp));
  options.remove_leaves = remove_leaves;
  auto out = must(group(conv).commit(options), "commit");
  pending_.insert_or_assign(conv, out.pending);
  return Commit{str(out.message), out.welcome ? str(*out.welcome) : std::string()};
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

std::string MlsMember::encrypt(const std::string& conv, const std::string& text) {
  auto [message, next] = must(group(conv).encrypt(bytes(text)), "encrypt");
  groups_.insert_or_assign(conv, std::move(next));
  return str(message);
}

std::optional<std::string> MlsMember::decrypt(const std::string& conv, const std::string& message) {
  auto it = groups_.find(conv);
  if (it == groups_.end()) return std::nullopt;
  auto out = it->second.process(bytes(message));
  if (!out || out->kind != mls::ContentKind::kApplication) return std::nullopt;
  it->second = std::move(out->state);
  return str(out->application_data);
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

}  // namespace cercle::testing
