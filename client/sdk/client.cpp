// Client: opening the local store, the device identity, connecting, registering, KeyPackages and
// read-only views. See client_groups.cpp and client_sync.cpp for the rest.
#include <sodium.h>

#include "cercle/base/hex.h"
#include "cercle/mls/inspect.h"
#include "cercle/mls/key_package.h"
#include "cercle/policy/extensions.h"
#include "client/sdk/client_internal.h"
#include "proto/wire.h"

namespace cercle::client {

namespace {

constexpr std::string_view kIdentity = "identity";
constexpr std::string_view kKeyPackagePrefix = "kp/";
constexpr std::string_view kLastResort = "kp-last";
constexpr std::string_view kConvPrefix = "conv/";

Error storage_corrupt(std::string what) { return make_error(Errc::kStorage, std::move(what)); }

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

std::string to_hex(std::string_view bytes) { return base::to_hex(bytes); }

Result<std::string> from_hex(std::string_view hex) {
  auto raw = base::from_hex(hex);
  if (!raw) return make_error(Errc::kInvalidArgument, "not a hex string");
  return std::move(*raw);
}

mls::Bytes to_bytes(std::string_view s) { return mls::Bytes(s.begin(), s.end()); }
std::string to_string(const mls::Bytes& b) { return std::string(b.begin(), b.end()); }

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() {
  if (impl_) {
    (void)impl_->save_dirty();
    disconnect();
  }
}

Result<std::unique_ptr<Client>> Client::open(const Options& options) {
  if (options.data_dir.empty()) return make_error(Errc::kInvalidArgument, "no data folder given");
  auto store = LocalStore::open(options.data_dir, options.passphrase);
  if (!store) return std::move(store).error();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->store = std::move(*store);
  if (auto s = impl->load(); !s) return std::move(s).error();
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Status Client::Impl::load() {
  auto raw = store->get(kIdentity);
  if (!raw) return std::move(raw).error();
  if (*raw) {
    identity.emplace();
    if (!identity->ParseFromString(**raw)) return storage_corrupt("the identity record is damaged");
  }
  for (const auto& name : store->list(kConvPrefix)) {
    auto value = store->get(name);
    if (!value) return std::move(value).error();
    local::Conversation r;
    if (!*value || !r.ParseFromString(**value))
      return storage_corrupt("a conversation record is damaged");
    Conv c;
    c.id = r.id();
    c.kind = r.kind();
    if (!r.mls_state().empty()) {
      auto state = mls::State::deserialize(to_bytes(r.mls_state()));
      if (!state) return storage_corrupt("an MLS state is damaged");
      c.state = std::move(*state);
    }
    if (!r.pending_state().empty()) {
      auto pending = mls::State::deserialize(to_bytes(r.pending_state()));
      if (!pending) return storage_corrupt("an MLS state is damaged");
      c.pending = std::move(*pending);
    }
    c.pending_message = r.pending_message();
    c.pending_seq = r.pending_seq();
    c.last_seq = c.acked = r.last_seq();
    c.own_seqs.insert(r.own_seqs().begin(), r.own_seqs().end());
    c.left = r.left();
    c.broken = r.broken();
    for (const auto& i : r.invitations()) {
      v1::SignedInvitation signed_invitation;
      v1::Invitation inv;
      if (!signed_invitation.ParseFromString(i.signed_invitation()) ||
          !inv.ParseFromString(signed_invitation.invitation())) {
        continue;  // Only the flags of an invitation seen in a commit: nothing to keep.
      }
      c.invitations[inv.nonce()] = i;
    }
    c.join_requests.insert(r.join_requests().begin(), r.join_requests().end());
    c.profile = r.profile();
    c.seance = r.seance();
    convs.emplace(c.id, std::move(c));
  }
  return Ok{};
}

Status Client::Impl::save_identity() {
  return store->put(kIdentity, identity->SerializeAsString());
}

Result<mls::SignaturePrivateKey> Client::Impl::signer() const {
  // The device key signs both the server's challenges and the device's MLS leaves, so the relay
  // can tell which device a leaf is.
  auto key = mls::SignaturePrivateKey::from_seed(
      mls::BytesView(reinterpret_cast<const uint8_t*>(identity->device_secret_key().data()), 32));
  if (!key) return make_error(Errc::kStorage, "the device key is damaged");
  return std::move(*key);
}

mls::Credential Client::Impl::credential() const {
  return mls::Credential(to_bytes(identity->handle()));
}

std::vector<mls::Extension> Client::Impl::leaf_extensions() const {
  const auto kind = identity->account_type() == v1::PROFESSIONAL ? policy::Kind::kProfessional
                                                                 : policy::Kind::kPeer;
  std::vector<mls::Extension> out{
      mls::Extension{policy::kAccountTypeExtensionType, to_bytes(policy::kind_extension(kind))}};
  if (auto key = report_public_key(); !key.empty())
    out.push_back(mls::Extension{policy::kReportKeyExtensionType, to_bytes(key)});
  return out;
}

std::string Client::Impl::report_public_key() const {
  const auto& sk = identity->report_secret_key();
  if (sk.size() != crypto_box_SECRETKEYBYTES) return {};
  std::string pk(crypto_box_PUBLICKEYBYTES, '\0');
  crypto_scalarmult_base(reinterpret_cast<unsigned char*>(pk.data()),
                         reinterpret_cast<const unsigned char*>(sk.data()));
  return pk;
}

Status Client::Impl::require_connection() const {
  if (!conn || !conn->is_open()) return make_error(Errc::kNetwork, "not connected");
  if (!identity || identity->device_id() == 0) {
    return make_error(Errc::kNotRegistered, "this device has no account yet");
  }
  return Ok{};
}

Result<Conv*> Client::Impl::find(const std::string& hex_id) {
  auto id = from_hex(hex_id);
  if (!id) return std::move(id).error();
  auto it = convs.find(*id);
  if (it == convs.end()) return make_error(Errc::kNotFound, "no such conversation on this device");
  return &it->second;
}

const Conv* Client::Impl::lookup(const std::string& hex_id) const {
  auto id = from_hex(hex_id);
  if (!id) return nullptr;
  auto it = convs.find(*id);
  return it == convs.end() ? nullptr : &it->second;
}

bool Client::registered() const { return impl_->identity && impl_->identity->device_id() != 0; }

const std::string& Client::handle() const {
  static const std::string kNone;
  return impl_->identity ? impl_->identity->handle() : kNone;
}

Status Client::connect() {
  auto conn = Connection::open(impl_->options.server_url, impl_->options.ca_file,
                               impl_->options.client_name, impl_->options.timeout);
  if (!conn) return std::move(conn).error();
  impl_->conn = std::move(*conn);
  const auto& instance = impl_->conn->hello().instance_id();
  if (impl_->identity && impl_->identity->instance_id() != instance) {
    return make_error(Errc::kInvalidArgument, "this local store belongs to another server");
  }
  if (!registered()) return Ok{};
  if (auto s = impl_->authenticate(); !s) return s;
  if (auto s = impl_->top_up_key_packages(kKeyPackageStock); !s) return s;
  impl_->pin_own_chain();
  return impl_->process_incoming();
}

void Client::disconnect() {
  if (impl_->conn) impl_->conn->close();
  impl_->conn.reset();
}

Status Client::Impl::authenticate() {
  const auto& sk = identity->device_secret_key();
  v1::ClientFrame f;
  auto* auth = f.mutable_authenticate();
  auth->set_device_public_key(sk.substr(32, 32));
  const std::string t = wire::auth_transcript(conn->hello().instance_id(),
                                              conn->hello().challenge(), wire::kProtocolVersion);
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                       reinterpret_cast<const unsigned char*>(sk.data()));
  auth->set_signature(sig);
  auto r = conn->call(f);
  if (!r) return std::move(r).error();
  if (identity->account_id() == 0) {
    // A device approved by another one (client_pairing.cpp) learns its account here.
    identity->set_account_id(r->auth().account_id());
    identity->set_device_id(r->auth().device_id());
    identity->set_handle(r->auth().handle());
    identity->set_account_type(r->auth().type());
    if (auto s = save_identity(); !s) return s;
  }
  if (r->auth().type() != identity->account_type()) {
    // The instance changed this account's type: its packages must now say so (the server
    // dropped the old ones).
    identity->set_account_type(r->auth().type());
    if (auto s = save_identity(); !s) return s;
  }
  return Ok{};
}

Status Client::register_account(std::string_view handle, std::string_view code,
                                std::string_view contact_token) {
  auto& impl = *impl_;
  if (!impl.conn) return make_error(Errc::kNetwork, "connect first");
  if (registered()) return make_error(Errc::kInvalidArgument, "this device already has an account");
  std::string sk(crypto_sign_SECRETKEYBYTES, '\0');
  std::string pk(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(pk.data()),
                      reinterpret_cast<unsigned char*>(sk.data()));
  const auto& hello = impl.conn->hello();
  const std::string t =
      wire::auth_transcript(hello.instance_id(), hello.challenge(), wire::kProtocolVersion);
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                       reinterpret_cast<const unsigned char*>(sk.data()));
  // The relay stores handles in NFC and checks the chain's first link over the handle as stored.
  const std::string stored_handle = nfc(handle);
  v1::ClientFrame f;
  auto* reg = f.mutable_register_();
  reg->set_handle(stored_handle);
  reg->set_device_public_key(pk);
  // The account's device chain starts with this device, signed by itself (trusted on first use);
  // its key signs both the relay's challenges and its MLS leaves, so it is both keys of the link.
  *reg->mutable_link() = policy::make_link({}, stored_handle, v1::DEVICE_ADD, pk, pk, now_ms(), sk,
                                           policy::sign_possession(stored_handle, pk, pk, sk));
  reg->set_signature(sig);
  reg->set_registration_code(std::string(code));
  reg->set_contact_token(std::string(contact_token));
  auto r = impl.conn->call(f);
  sodium_memzero(sig.data(), sig.size());
  if (!r) {
    sodium_memzero(sk.data(), sk.size());
    return std::move(r).error();
  }
  impl.identity.emplace();
  impl.identity->set_device_secret_key(sk);
  sodium_memzero(sk.data(), sk.size());
  impl.identity->set_report_secret_key(new_report_secret_key());
  impl.identity->set_handle(r->auth().handle());
  impl.identity->set_account_id(r->auth().account_id());
  impl.identity->set_device_id(r->auth().device_id());
  impl.identity->set_instance_id(hello.instance_id());
  impl.identity->set_account_type(r->auth().type());
  if (auto s = impl.save_identity(); !s) return s;
  if (auto s = impl.top_up_key_packages(kKeyPackageStock); !s) return s;
  impl.pin_own_chain();
  return Ok{};
}

Status Client::Impl::top_up_key_packages(size_t target) {
  v1::ClientFrame count;
  count.mutable_count_key_packages();
  auto have = conn->call(count);
  if (!have) return std::move(have).error();
  auto key = signer();
  if (!key) return std::move(key).error();
  v1::ClientFrame upload;
  std::vector<std::pair<std::string, std::string>> to_store;  // Name, bundle.
  const bool need_last = !have->count_key_packages().has_last_resort();
  const size_t missing = target > have->count_key_packages().stored()
                             ? target - have->count_key_packages().stored()
                             : 0;
  mls::KeyPackageOptions kp_options;
  kp_options.extension_types = policy::leaf_extension_types();
  kp_options.leaf_extensions = leaf_extensions();
  for (size_t i = 0; i < missing + (need_last ? 1 : 0); ++i) {
    auto bundle = mls::create_key_package(credential(), *key, kp_options);
    if (!bundle) return make_error(Errc::kProtocol, bundle.error().message);
    const bool last = need_last && i == missing;
    auto* kp = upload.mutable_upload_key_packages()->add_key_packages();
    kp->set_data(to_string(bundle->key_package));
    kp->set_last_resort(last);
    auto ref = bundle->ref();
    const std::string name =
        last ? std::string(kLastResort) : std::string(kKeyPackagePrefix) + to_hex(to_string(*ref));
    to_store.emplace_back(name, to_string(bundle->serialize()));
  }
  if (to_store.empty()) return Ok{};
  // Private keys are saved before the packages are published: a Welcome may come at once.
  for (const auto& [name, bundle] : to_store) {
    if (auto s = store->put(name, bundle); !s) return s;
  }
  auto r = conn->call(upload);
  if (!r) return std::move(r).error();
  return Ok{};
}

std::vector<ConversationSummary> Client::conversations() const {
  std::vector<ConversationSummary> out;
  for (const auto& [id, c] : impl_->convs) {
    if (!c.state && !c.left) continue;  // Only a Welcome we refused: we are not in it.
    ConversationSummary s{
        to_hex(id), c.kind == v1::DIRECT, profile_name(c), c.state ? c.state->epoch() : 0, {},
        c.left};
    if (c.state) {
      for (const auto& m : c.state->members())
        s.members.push_back(to_string(m.credential.identity));
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<uint64_t> Client::epoch(const std::string& conversation) const {
  const Conv* c = impl_->lookup(conversation);
  if (!c || !c->state) return make_error(Errc::kNotFound, "no such conversation on this device");
  return c->state->epoch();
}

Result<std::string> Client::epoch_authenticator(const std::string& conversation) const {
  const Conv* c = impl_->lookup(conversation);
  if (!c || !c->state) return make_error(Errc::kNotFound, "no such conversation on this device");
  return to_hex(to_string(c->state->epoch_authenticator()));
}

Result<std::vector<Message>> Client::history(const std::string& conversation) const {
  const Conv* c = impl_->lookup(conversation);
  if (!c) return make_error(Errc::kNotFound, "no such conversation on this device");
  auto records = impl_->store->read_log("history/" + to_hex(c->id));
  if (!records) return std::move(records).error();
  // Past the group's retention period a message is gone, even before the next pruning.
  const auto rules = c->state ? group_policy(*c->state) : std::nullopt;
  const int64_t cutoff =
      rules && rules->retention_days() > 0
          ? impl_->server_now_ms() - int64_t{rules->retention_days()} * 86'400'000
          : INT64_MIN;
  std::vector<Message> out;
  for (const auto& raw : *records) {
    local::HistoryEntry e;
    if (!e.ParseFromString(raw)) return storage_corrupt("a history record is damaged");
    if (e.time_ms() < cutoff) continue;
    out.push_back(
        {conversation, e.seq(), e.sender(), e.time_ms(), e.text(), e.own(), e.professional()});
  }
  return out;
}

}  // namespace cercle::client
