#include "server/fuzz/world.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>

#include <google/protobuf/stubs/logging.h>

#include "cercle/policy/policy.h"
#include "proto/wire.h"
#include "server/common/log.h"
#include "server/fuzz/runtime.h"
#include "testing/device_links.h"

namespace cercle::relay_fuzz {

namespace {

using namespace domain;  // NOLINT: the services' value types.

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) fail(std::string("building the world: ") + what + ": " + r.error().message);
  return std::move(r).value();
}

class Builder {
 public:
  explicit Builder(World& w) : w_(w), rt_(w.template_dir, w.config, kStartMs) {}

  void build() {
    w_.instance_id = rt_.store().instance_id();
    const char* handles[kMembers] = {"alice", "bob", "carol", "dr_martin"};
    for (int i = 0; i < kMembers; ++i) register_member(w_.members[i], handles[i]);
    Member& alice = w_.members[kAlice];
    must(rt_.await<Ok>([&](auto cb) { rt_.domain().identity().set_admin("alice", true, cb); }),
         "admin");
    must(rt_.await<Ok>([&](auto cb) {
      rt_.domain().identity().set_account_type(0, "dr_martin", AccountType::kProfessional, cb);
    }),
         "professional");
    w_.code = must(rt_.await<RegistrationCode>([&](auto cb) {
                rt_.domain().identity().create_registration_code(0, 0, cb);
              }),
                   "code")
                  .code;
    build_group();
    build_direct();
    Member& carol = w_.members[kCarol];
    w_.carol_packages = {carol.mls->key_package(), carol.mls->key_package(),
                         carol.mls->key_package()};
    upload(carol, {{w_.carol_packages[0], false},
                   {w_.carol_packages[1], false},
                   {w_.carol_packages[2], true}});
    w_.pro_package = w_.members[kPro].mls->key_package(true);
    upload(w_.members[kPro], {{w_.pro_package, false}});
    invite_pro();
    w_.contact_token = must(rt_.await<ContactLinkView>([&](auto cb) {
                         rt_.domain().contact_links().create(alice.device, "site", 0, cb);
                       }),
                            "contact link")
                           .token;
  }

 private:
  void register_member(Member& m, const char* handle) {
    m.handle = handle;
    crypto_sign_keypair(m.pk.data(), m.sk.data());
    const std::string code = must(rt_.await<RegistrationCode>([&](auto cb) {
                               rt_.domain().identity().create_registration_code(0, 0, cb);
                             }),
                                  "code")
                                 .code;
    const std::string t = wire::auth_transcript(w_.instance_id, "world", wire::kProtocolVersion);
    const auto link = testing::device_first_link(handle, m.public_key(),
                                                 testing::secret_bytes(m.sk.data(), m.sk.size()));
    auto info = must(rt_.await<AuthInfo>([&](auto cb) {
      rt_.domain().identity().register_account(handle, m.public_key(), m.sign(t), t, {code, ""},
                                               &link, cb);
    }),
                     "register");
    m.account = info.account_id;
    m.device = info.device_id;
    m.mls = std::make_unique<testing::MlsMember>(handle, m.sk.data());
  }

  void upload(const Member& m, std::vector<KeyPackageUpload> packages) {
    must(rt_.await<uint32_t>([&](auto cb) {
      rt_.domain().key_packages().upload(m.device, std::move(packages), cb);
    }),
         "upload");
  }

  // `by` commits adding `added` (one fresh key package each) with `rules`; everyone follows.
  // `by`'s first commit in `conv`, adding `added` (one fresh key package each) with `rules`; it
  // states the group's start (genesis), so the relay follows the group's public state and checks
  // the signature of every later handshake message. Everyone follows.
  void first_commit(Member& by, const ConvId& conv, std::vector<Member*> added,
                    std::optional<std::string> rules) {
    const std::string g = conv.str();
    std::vector<std::string> kps;
    std::vector<DeviceId> ids;
    for (Member* a : added) {
      kps.push_back(a->mls->key_package());
      upload(*a, {{kps.back(), false}});
      ids.push_back(a->device);
    }
    auto built = by.mls->commit(g, kps, {}, rules);
    by.mls->adopt(g);
    const auto& genesis = *built.genesis;
    CommitArgs args{conv, 0, built.message, ids, {}, built.welcome};
    args.genesis = CommitArgs::Genesis{genesis.group_context(), genesis.ratchet_tree(),
                                       genesis.confirmed_transcript_hash()};
    must(rt_.await<CommitOk>(
             [&](auto cb) { rt_.domain().conversations().commit(by.device, std::move(args), cb); }),
         "commit");
    for (Member* a : added) {
      if (!a->mls->join(g, built.welcome)) fail("building the world: join");
    }
  }

  void build_group() {
    Member& alice = w_.members[kAlice];
    w_.group = must(rt_.await<ConvView>([&](auto cb) {
                 rt_.domain().conversations().create(alice.device, ConvKind::kGroup, "", cb);
               }),
                    "group")
                   .id;
    alice.mls->create(w_.group.str());
    v1::GroupPolicy rules = policy::initial_policy("alice");
    rules.set_charter("Bienveillance");
    first_commit(alice, w_.group, {&w_.members[kBob]}, rules.SerializeAsString());
    const std::string text = alice.mls->encrypt(w_.group.str(), "bonjour");
    must(rt_.await<SendOk>([&](auto cb) {
      rt_.domain().conversations().send(
          alice.device,
          SendArgs{w_.group, alice.mls->epoch(w_.group.str()), text, EntryKind::kApplication}, cb);
    }),
         "send");
  }

  void build_direct() {
    Member& alice = w_.members[kAlice];
    w_.direct = must(rt_.await<ConvView>([&](auto cb) {
                  rt_.domain().conversations().create(alice.device, ConvKind::kDirect, "carol", cb);
                }),
                     "direct")
                    .id;
    alice.mls->create(w_.direct.str());
    first_commit(alice, w_.direct, {&w_.members[kCarol]}, std::nullopt);
  }

  void invite_pro() {
    const Member& alice = w_.members[kAlice];
    const Member& pro = w_.members[kPro];
    v1::Invitation i;
    i.set_conversation_id(w_.group.str());
    i.set_inviter("alice");
    i.set_invitee(pro.handle);
    i.set_invitee_type(v1::INVITEE_PROFESSIONAL);
    i.set_expires_at_ms(kStartMs + 7LL * 24 * 3600 * 1000);
    std::string nonce(16, '\0');
    randombytes_buf(nonce.data(), nonce.size());
    i.set_nonce(nonce);
    i.set_charter("Bienveillance");
    w_.pro_invitation = policy::sign_invitation(i, alice.sk.data());
    must(rt_.await<Ok>([&](auto cb) {
      rt_.domain().groups().create_invitation(alice.device, w_.pro_invitation.SerializeAsString(),
                                              cb);
    }),
         "invitation");
    must(rt_.await<Ok>([&](auto cb) {
      rt_.domain().groups().accept_invitation(pro.device, w_.group, nonce, cb);
    }),
         "accept");
  }

  World& w_;
  Runtime rt_;
};

void remove_scratch() {
  std::error_code ec;
  std::filesystem::remove_all(scratch_dir(), ec);
}

}  // namespace

std::string Member::public_key() const { return std::string(pk.begin(), pk.end()); }

std::string Member::sign(std::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<uint8_t*>(sig.data()), nullptr,
                       reinterpret_cast<const uint8_t*>(message.data()), message.size(), sk.data());
  return sig;
}

std::filesystem::path scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path shm("/dev/shm");
    std::error_code ec;
    const auto base =
        std::filesystem::is_directory(shm, ec) ? shm : std::filesystem::temp_directory_path();
    return base / ("cercle-relay-fuzz-" + std::to_string(::getpid()));
  }();
  return dir;
}

World& world() {
  static World* w = [] {
    use_deterministic_random(0);
    freeze_time(true);
    log::set_level("error");  // Refusals are what the fuzzer does all day.
    google::protobuf::SetLogHandler(nullptr);
    auto* out = new World;
    out->template_dir = scratch_dir() / "template";
    std::filesystem::remove_all(scratch_dir());
    std::filesystem::create_directories(out->template_dir);
    std::atexit(remove_scratch);
    out->config.instance_name = "fuzz";
    out->config.registration = RegistrationPolicy::kInviteCode;
    out->config.max_key_packages = 8;
    out->config.max_conversation_devices = 16;
    out->config.max_conversations_per_device = 16;
    out->config.max_contact_links = 4;
    Builder(*out).build();
    // Opened once more, the store moves its write-ahead log into tables: each input's copy then
    // opens without replaying it.
    Runtime(out->template_dir, out->config, kStartMs).drain();
    freeze_time(false);
    return out;
  }();
  return *w;
}

}  // namespace cercle::relay_fuzz
