// Writes seed inputs for the relay's fuzz targets into <dir>/session and <dir>/handshake: requests
// of every kind from each starting point, and real MLS messages of the world's members (commits
// adding and removing, proposals, application messages, key packages, Welcomes), which the relay
// accepts because the world is the same in every run.
#include <algorithm>
#include <fstream>
#include <functional>
#include <string_view>

#include "cercle/policy/policy.h"
#include "proto/wire.h"
#include "server/fuzz/handshake_input.h"
#include "server/fuzz/harness.h"
#include "server/fuzz/session_input.h"
#include "testing/device_links.h"

using namespace cercle;
using namespace cercle::relay_fuzz;
using cercle::testing::MlsMember;

namespace {

std::string g_dir;
int g_count = 0;

void write(const std::string& kind, const std::string& input) {
  std::ofstream out(g_dir + "/" + kind + "/seed" + std::to_string(g_count++), std::ios::binary);
  out << input;
}

using Fill = std::function<void(v1::ClientFrame&)>;

std::string frame(uint64_t id, const Fill& fill) {
  v1::ClientFrame f;
  f.set_request_id(id);
  fill(f);
  return f.SerializeAsString();
}

// One session seed: the start, then one frame per filler.
void session(Start start, const std::vector<Fill>& fills) {
  std::string input(1, static_cast<char>(start));
  uint64_t id = 1;
  for (const auto& fill : fills) append_op(input, kFrame, frame(id++, fill));
  write("session", input);
}

std::string u8(uint8_t v) { return std::string(1, static_cast<char>(v)); }

std::string header(Mode mode, bool direct, Who who, uint8_t adds, uint8_t removes,
                   Who proposer = kAlice) {
  return u8(mode) + u8((direct ? 1 : 0) | (who << 1)) + u8(adds | (removes << 4)) + u8(0) +
         u8(proposer);
}

uint8_t bit(Who w) { return static_cast<uint8_t>(1u << w); }

Fill commit_frame(const std::string& conv, uint64_t at, const MlsMember::Commit& c,
                  std::vector<DeviceId> add, std::vector<DeviceId> remove) {
  return [=](v1::ClientFrame& f) {
    auto* r = f.mutable_commit();
    r->set_conversation_id(conv);
    r->set_epoch(at);
    r->set_commit(c.message);
    for (DeviceId d : add) r->add_add_devices(d);
    for (DeviceId d : remove) r->add_remove_devices(d);
    r->set_welcome(c.welcome);
  };
}

Fill send_frame(const std::string& conv, uint64_t at, const std::string& payload,
                v1::DeliveryKind kind) {
  return [=](v1::ClientFrame& f) {
    f.mutable_send()->set_conversation_id(conv);
    f.mutable_send()->set_epoch(at);
    f.mutable_send()->set_payload(payload);
    f.mutable_send()->set_kind(kind);
  };
}

// A device key that is none of the world's, made from `name` (the same in every run).
Member seeded_member(std::string_view name) {
  Member m;
  unsigned char seed[crypto_sign_SEEDBYTES] = {};
  std::copy(name.begin(), name.end(), seed);
  crypto_sign_seed_keypair(m.pk.data(), m.sk.data(), seed);
  return m;
}

std::string secret_of(const Member& m) { return testing::secret_bytes(m.sk.data(), m.sk.size()); }

// A new device asks to join `handle`'s account.
Fill ask_device(std::string handle, std::string device_key, std::string possession,
                std::string commitment) {
  return [=](v1::ClientFrame& f) {
    auto* r = f.mutable_request_device();
    r->set_handle(handle);
    r->set_device_public_key(device_key);
    r->set_mls_key(device_key);
    r->set_possession(possession);
    r->set_commitment(commitment);
  };
}

Fill get_device_request(std::string id) {
  return [=](v1::ClientFrame& f) { f.mutable_get_device_request()->set_request_id(id); };
}

Fill post_pairing_nonce(std::string id, std::string nonce) {
  return [=](v1::ClientFrame& f) {
    f.mutable_post_pairing_nonce()->set_request_id(id);
    f.mutable_post_pairing_nonce()->set_nonce(nonce);
  };
}

}  // namespace

// Seeds from the world's state; the commits and proposals are kept for the handshake seeds.
class Seeds {
 public:
  explicit Seeds(World& w)
      : w(w),
        alice(w.members[kAlice]),
        bob(w.members[kBob]),
        carol(w.members[kCarol]),
        pro(w.members[kPro]),
        group(w.group.str()),
        direct(w.direct.str()),
        epoch(alice.mls->epoch(group)),
        direct_epoch(alice.mls->epoch(direct)) {
    pro_invitation.ParseFromString(w.pro_invitation.invitation());
  }

  void write_all() {
    unauthenticated();
    reading();
    administration();
    links_and_devices();
    invitations();
    commits();
    members();
    handshakes();
  }

 private:
  void unauthenticated() {
    // Before authentication.
    auto hello = [](v1::ClientFrame& f) {
      f.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
      f.mutable_hello()->set_client_name("fuzz");
    };
    session(Start::kNew, {hello, [](auto& f) { f.mutable_get_challenge(); }});
    session(Start::kNew, {[](auto& f) { f.mutable_list_conversations(); }, hello, hello});
    std::string challenge;
    {
      Harness h(Start::kHello);
      challenge = h.challenge();
    }
    const std::string transcript =
        wire::auth_transcript(w.instance_id, challenge, wire::kProtocolVersion);
    {
      const Member eve = seeded_member("eve");
      const auto eve_link = testing::device_first_link("eve", eve.public_key(), secret_of(eve));
      session(Start::kHello, {[&](auto& f) {
                                auto* r = f.mutable_register_();
                                r->set_handle("eve");
                                r->set_device_public_key(eve.public_key());
                                r->set_signature(eve.sign(transcript));
                                r->set_registration_code(w.code);
                                *r->mutable_link() = eve_link;
                              },
                              [](auto& f) { f.mutable_list_conversations(); }});
      session(Start::kHello, {[&](auto& f) {
                auto* r = f.mutable_register_();
                r->set_handle("eve");
                r->set_device_public_key(eve.public_key());
                r->set_signature(eve.sign(transcript));
                r->set_contact_token(w.contact_token);
                *r->mutable_link() = eve_link;
              }});
    }
    session(Start::kHello,
            {[&](auto& f) {
               f.mutable_authenticate()->set_device_public_key(carol.public_key());
               f.mutable_authenticate()->set_signature(carol.sign(transcript));
             },
             [&](auto& f) { f.mutable_get_conversation()->set_conversation_id(direct); }});
    session(Start::kHello,
            {[&](auto& f) { f.mutable_resolve_contact_link()->set_token(w.contact_token); },
             [](auto& f) { f.mutable_get_challenge(); }});
    pairing(transcript);
  }

  // The pairing mailbox: a new device asks to join alice's account and follows its request, then
  // the same connection authenticates as alice and adds it. (The approver's nonce comes only from
  // another connection of the account, which no input drives.)
  void pairing(const std::string& transcript) {
    const Member tablet = seeded_member("tab");
    const std::string key = tablet.public_key();
    const std::string secret = secret_of(tablet);
    const std::string nonce(policy::kNonceBytes, 'd');
    const Fill request =
        ask_device("alice", key, policy::sign_possession("alice", key, key, secret),
                   policy::commitment(nonce));
    // The request's id comes from the relay's random stream, the same in every run: read it once.
    std::string id;
    {
      Harness h(Start::kHello);
      h.frame(frame(1, request));
      id = h.last_response().device_request().request_id();
    }
    const auto link = alice_adds(key, secret);
    session(Start::kHello, {request, get_device_request(id), post_pairing_nonce(id, nonce),
                            [&](auto& f) {
                              f.mutable_authenticate()->set_device_public_key(alice.public_key());
                              f.mutable_authenticate()->set_signature(alice.sign(transcript));
                            },
                            [](auto& f) { f.mutable_list_device_requests(); },
                            post_pairing_nonce(id, std::string(32, 'a')),
                            [&](auto& f) {
                              f.mutable_add_device()->set_device_public_key(key);
                              *f.mutable_add_device()->mutable_link() = link;
                            },
                            get_device_request(id)});
    pairing_refusals(key, secret, nonce);
    session(Start::kAlice, {[](auto& f) { f.mutable_list_device_requests(); },
                            get_device_request(id), post_pairing_nonce(id, nonce)});
    session(Start::kNew, {request});
  }

  // No such account, a bad possession proof, a key that is a device already, a short commitment,
  // an unknown request.
  void pairing_refusals(const std::string& key, const std::string& secret,
                        const std::string& nonce) {
    const std::string unknown(16, 'x');
    session(Start::kHello,
            {ask_device("nobody", key, policy::sign_possession("nobody", key, key, secret),
                        policy::commitment(nonce)),
             ask_device("alice", key, std::string(64, 'p'), policy::commitment(nonce)),
             ask_device("alice", bob.public_key(), std::string(64, 'p'), policy::commitment(nonce)),
             ask_device("alice", key, policy::sign_possession("alice", key, key, secret), "c"),
             get_device_request(unknown), post_pairing_nonce(unknown, nonce)});
  }

  // The link by which alice's device adds `key`: her chain is link 0, as the world made it.
  v1::DeviceLink alice_adds(const std::string& key, const std::string& secret) const {
    const std::string alice_secret = secret_of(alice);
    const auto chain =
        policy::append({}, alice.handle,
                       testing::device_first_link(alice.handle, alice.public_key(), alice_secret));
    return testing::device_add_link(*chain, alice.handle, alice_secret, key, secret);
  }

  void reading() {
    // Reading, as alice (admin, facilitator).
    session(Start::kAlice,
            {[](auto& f) { f.mutable_list_conversations(); },
             [&](auto& f) { f.mutable_get_conversation()->set_conversation_id(group); },
             [&](auto& f) {
               f.mutable_fetch_log()->set_conversation_id(group);
               f.mutable_fetch_log()->set_limit(10);
             },
             [&](auto& f) {
               f.mutable_ack()->set_conversation_id(group);
               f.mutable_ack()->set_seq(2);
             },
             [&](auto& f) {
               f.mutable_delete_entry()->set_conversation_id(group);
               f.mutable_delete_entry()->set_seq(2);
             },
             [&](auto& f) {
               auto* r = f.mutable_report_to_admins();
               r->set_conversation_id(group);
               r->set_seq(2);
               r->set_revealed_text("bonjour");
               r->set_reason("test");
             }});
  }

  void administration() {
    // Administration and key packages, as alice.
    session(Start::kAlice, {[](auto& f) { f.mutable_create_registration_code()->set_ttl_hours(1); },
                            [](auto& f) {
                              f.mutable_set_account_type()->set_handle("carol");
                              f.mutable_set_account_type()->set_type(v1::PROFESSIONAL);
                            },
                            [](auto& f) { f.mutable_lookup_account()->set_handle("carol"); },
                            [](auto& f) { f.mutable_fetch_key_packages()->set_handle("carol"); },
                            [](auto& f) { f.mutable_count_key_packages(); },
                            [&](auto& f) {
                              auto* k = f.mutable_upload_key_packages()->add_key_packages();
                              k->set_data(alice.mls->key_package());
                            }});
  }

  void links_and_devices() {
    // Contact links, listings, a new device of alice's with the next link of her chain, new
    // conversations.
    const Member phone = seeded_member("phone");
    const auto phone_link = alice_adds(phone.public_key(), secret_of(phone));
    session(Start::kAlice,
            {[](auto& f) { f.mutable_create_contact_link()->set_label("x"); },
             [](auto& f) { f.mutable_list_contact_links(); },
             [&](auto& f) { f.mutable_revoke_contact_link()->set_token(w.contact_token); },
             [](auto& f) { f.mutable_list_open_groups(); },
             [](auto& f) { f.mutable_list_invitations(); },
             [&](auto& f) {
               f.mutable_add_device()->set_device_public_key(phone.public_key());
               *f.mutable_add_device()->mutable_link() = phone_link;
             },
             [](auto& f) {
               f.mutable_create_conversation()->set_kind(v1::DIRECT);
               f.mutable_create_conversation()->set_peer_handle("bob");
             },
             [](auto& f) { f.mutable_create_conversation()->set_kind(v1::GROUP); }});
  }

  void invitations() {
    v1::Invitation i = pro_invitation;
    i.set_invitee("carol");
    i.set_invitee_type(v1::INVITEE_PEER);
    i.set_nonce(std::string(16, 'n'));
    const std::string signed_i = policy::sign_invitation(i, alice.sk.data()).SerializeAsString();
    session(Start::kAlice,
            {[&](auto& f) { f.mutable_create_invitation()->set_signed_invitation(signed_i); },
             [&](auto& f) {
               f.mutable_revoke_invitation()->set_conversation_id(group);
               f.mutable_revoke_invitation()->set_nonce(pro_invitation.nonce());
             }});
  }

  // Alice's public listing of the group (PublishGroup), signed with her key.
  std::string signed_listing() const {
    v1::PublicListing l;
    l.set_conversation_id(group);
    l.set_name("Deuil");
    v1::SignedPublicListing s;
    s.set_listing(l.SerializeAsString());
    s.set_signer("alice");
    const std::string t = std::string("cercle-listing-v1") + '\0' + s.listing();
    s.mutable_signature()->resize(crypto_sign_BYTES);
    crypto_sign_detached(reinterpret_cast<unsigned char*>(s.mutable_signature()->data()), nullptr,
                         reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                         alice.sk.data());
    return s.SerializeAsString();
  }

  void commits() {
    // Commits and messages, as alice: they reach the observer (bob).
    add_carol = alice.mls->commit(group, {w.carol_packages[0]});
    alice.mls->discard(group);
    session(Start::kAlice,
            {commit_frame(group, epoch, add_carol, {carol.device}, {}),
             [&](auto& f) { f.mutable_get_conversation()->set_conversation_id(group); }});
    add_last_resort = alice.mls->commit(group, {w.carol_packages[2]});
    alice.mls->discard(group);
    session(Start::kAlice, {commit_frame(group, epoch, add_last_resort, {carol.device}, {})});
    v1::CommitData data;
    *data.add_invitations() = w.pro_invitation;
    add_pro = alice.mls->commit(group, {w.pro_package}, {}, std::nullopt, data.SerializeAsString());
    alice.mls->discard(group);
    session(Start::kAlice, {commit_frame(group, epoch, add_pro, {pro.device}, {})});
    remove_bob = alice.mls->commit(group, {}, {bob.mls->leaf(group)});
    alice.mls->discard(group);
    session(Start::kAlice, {commit_frame(group, epoch, remove_bob, {}, {bob.device}),
                            [&](auto& f) { f.mutable_list_conversations(); }});
    v1::GroupPolicy rules = policy::initial_policy("alice");
    rules.set_charter("Bienveillance");
    rules.set_join_rule(v1::OPEN_TO_PEERS);
    rules.set_retention_days(1);
    new_rules = alice.mls->commit(group, {}, {}, rules.SerializeAsString());
    alice.mls->discard(group);
    session(Start::kAlice,
            {commit_frame(group, epoch, new_rules, {}, {}),
             [&](auto& f) {
               f.mutable_publish_group()->set_conversation_id(group);
               f.mutable_publish_group()->set_listing(signed_listing());
             },
             [](auto& f) { f.mutable_list_open_groups(); },
             [&](auto& f) { f.mutable_publish_group()->set_conversation_id(group); },
             [&](auto& f) { f.mutable_post_seance_event()->set_conversation_id(group); }});
    no_rules = alice.mls->commit_without_extensions(group);
    alice.mls->discard(group);
    session(Start::kAlice, {commit_frame(group, epoch, no_rules, {}, {})});
    direct_remove = alice.mls->commit(direct, {}, {carol.mls->leaf(direct)});
    alice.mls->discard(direct);
    session(Start::kAlice, {commit_frame(direct, direct_epoch, direct_remove, {}, {carol.device})});
    hello_group = alice.mls->encrypt(group, "salut");
    session(Start::kAlice, {send_frame(group, epoch, hello_group, v1::APPLICATION)});
  }

  void members() {
    // As the other devices.
    bob_leaves = bob.mls->propose_remove(group, bob.mls->leaf(group));
    session(Start::kBob, {send_frame(group, epoch, bob_leaves, v1::PROPOSAL),
                          [&](auto& f) {
                            auto* r = f.mutable_report_to_facilitators();
                            r->set_conversation_id(group);
                            auto* sealed = r->add_reports();
                            sealed->set_device_id(alice.device);
                            sealed->set_sealed(std::string(80, 's'));
                          },
                          [&](auto& f) {
                            f.mutable_object_to_invitation()->set_conversation_id(group);
                            f.mutable_object_to_invitation()->set_nonce(pro_invitation.nonce());
                          }});
    session(Start::kAlice, {[](auto& f) { f.mutable_ack_report()->set_report_id(1); }});
    session(Start::kPro, {[&](auto& f) {
                            f.mutable_accept_invitation()->set_conversation_id(group);
                            f.mutable_accept_invitation()->set_nonce(pro_invitation.nonce());
                          },
                          [&](auto& f) {
                            f.mutable_decline_invitation()->set_conversation_id(group);
                            f.mutable_decline_invitation()->set_nonce(pro_invitation.nonce());
                          },
                          [](auto& f) { f.mutable_list_invitations(); },
                          [&](auto& f) { f.mutable_request_join()->set_conversation_id(group); }});
    carol_says = carol.mls->encrypt(direct, "coucou");
    carol_commit = carol.mls->commit(direct, {});
    carol.mls->discard(direct);
    session(Start::kCarol, {send_frame(direct, direct_epoch, carol_says, v1::APPLICATION),
                            commit_frame(direct, direct_epoch, carol_commit, {}, {}),
                            [&](auto& f) { f.mutable_request_join()->set_conversation_id(group); },
                            [&](auto& f) { f.mutable_fetch_log()->set_conversation_id(group); }});
    // Transport events: text, too large, written, the clock.
    {
      std::string input(1, static_cast<char>(Start::kBob));
      append_op(input, kText, "hello");
      append_op(input, kTooLarge, std::string("\x07\0\0\0\0\0\0\0", 8));
      append_op(input, kClock, std::string(60 * 24 * 8, '\0'));
      append_op(input, kFrame,
                frame(9, [&](auto& f) { f.mutable_fetch_log()->set_conversation_id(group); }));
      append_op(input, kDrained, "");
      write("session", input);
    }
    // A proposal by alice, then her commit that includes it by reference.
    alice_removes_bob = alice.mls->propose_remove(group, bob.mls->leaf(group));
    by_reference = alice.mls->commit(group, {});
    alice.mls->discard(group);
    session(Start::kAlice, {send_frame(group, epoch, alice_removes_bob, v1::PROPOSAL),
                            commit_frame(group, epoch, by_reference, {}, {bob.device})});
  }

  void handshakes() {
    // The handshake readers.
    g_count = 0;
    for (const auto& kp : {w.carol_packages[0], w.pro_package}) {
      write("handshake", header(kKeyPackage, false, kAlice, 0, 0) + kp);
    }
    write("handshake", header(kHandshake, false, kAlice, 0, 0) + add_pro.message);
    write("handshake", header(kHandshake, false, kBob, 0, 0) + bob_leaves);
    write("handshake", header(kWelcome, false, kAlice, 0, 0) + add_carol.welcome);
    write("handshake", header(kProposal, false, kBob, 0, 0) + bob_leaves);
    write("handshake", header(kApplication, false, kAlice, 0, 0) + hello_group);
    write("handshake", header(kApplication, true, kCarol, 0, 0) + carol_says);
    write("handshake", header(kProposal, false, kAlice, 0, 0) + alice_removes_bob);
    auto commit_input = [&](bool in_direct, Who who, uint8_t adds, uint8_t removes,
                            const MlsMember::Commit& c) {
      std::string in = header(kCommit, in_direct, who, adds, removes);
      append_sized(in, c.message);
      write("handshake", in + c.welcome);
    };
    commit_input(false, kAlice, bit(kCarol), 0, add_carol);
    commit_input(false, kAlice, bit(kPro), 0, add_pro);
    commit_input(false, kAlice, 0, bit(kBob), remove_bob);
    commit_input(false, kAlice, 0, 0, new_rules);
    commit_input(false, kAlice, 0, 0, no_rules);
    commit_input(true, kAlice, 0, bit(kCarol), direct_remove);
    commit_input(true, kCarol, 0, 0, carol_commit);
    {
      std::string in = header(kProposalCommit, false, kAlice, 0, bit(kBob), kAlice);
      append_sized(in, alice_removes_bob);
      append_sized(in, by_reference.message);
      write("handshake", in);
    }
  }

  World& w;
  Member& alice;
  Member& bob;
  Member& carol;
  const Member& pro;
  const std::string group;
  const std::string direct;
  const uint64_t epoch;
  const uint64_t direct_epoch;
  v1::Invitation pro_invitation;
  MlsMember::Commit add_carol, add_last_resort, add_pro, remove_bob, new_rules, no_rules,
      direct_remove, carol_commit, by_reference;
  std::string bob_leaves, alice_removes_bob, hello_group, carol_says;
};

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  g_dir = argv[1];
  World& w = world();
  freeze_time(true);  // The members' messages are made at the world's time.
  Seeds(w).write_all();
  return 0;
}
