// message-protection vectors: PublicMessage and PrivateMessage unprotect/protect round trips.
#include "cercle/mls/framing.h"
#include "lib/mls/test/vectors.h"

namespace cercle::mls::vectors {
namespace {

struct Env {
  GroupContext gc;
  Bytes sig_pub;
  Result<SignaturePrivateKey> sig_priv = make_error(Errc::kCrypto, "unset");
  Secret encryption_secret, sender_data_secret, membership_key;
};

using Content = std::variant<ApplicationData, Proposal, Commit>;

std::string check_public(const Env& env, const Content& raw, BytesView pub_bytes) {
  auto msg = decode_exact<MlsMessage>(pub_bytes);
  VEC_EXPECT(msg.ok() && msg->wire_format() == WireFormat::kPublicMessage, "decode pub");
  const auto& pm = std::get<PublicMessage>(msg->body);
  auto ac = from_public_message(pm, env.membership_key, env.gc);
  VEC_EXPECT(ac.ok(), "membership tag");
  VEC_EXPECT(verify_content_signature(*ac, env.sig_pub, env.gc).ok(), "signature");
  VEC_EXPECT(ac->content.content == raw, "content mismatch");
  // Protect our own and unprotect it again.
  FramedContent fc{env.gc.group_id, env.gc.epoch, Sender{SenderType::kMember, 1}, {}, raw};
  AuthenticatedContent own = sign_content(WireFormat::kPublicMessage, fc, *env.sig_priv, env.gc);
  own.auth.confirmation_tag = pm.auth.confirmation_tag;
  auto out = to_public_message(own, env.membership_key, env.gc);
  VEC_EXPECT(out.ok(), "protect pub");
  MlsMessage wrapped{1, *out};
  auto back = decode_exact<MlsMessage>(encode(wrapped));
  VEC_EXPECT(back.ok(), "re-decode pub");
  auto ac2 = from_public_message(std::get<PublicMessage>(back->body), env.membership_key, env.gc);
  VEC_EXPECT(ac2.ok() && verify_content_signature(*ac2, env.sig_pub, env.gc).ok(),
             "own pub does not verify");
  return {};
}

std::string check_private(const Env& env, const Content& raw, BytesView priv_bytes) {
  auto msg = decode_exact<MlsMessage>(priv_bytes);
  VEC_EXPECT(msg.ok() && msg->wire_format() == WireFormat::kPrivateMessage, "decode priv");
  SecretTree tree(env.encryption_secret, 2);
  auto ac =
      decrypt_private_message(std::get<PrivateMessage>(msg->body), tree, env.sender_data_secret);
  VEC_EXPECT(ac.ok(), "decrypt priv: " + (ac.ok() ? std::string() : ac.error().message));
  VEC_EXPECT(verify_content_signature(*ac, env.sig_pub, env.gc).ok(), "priv signature");
  VEC_EXPECT(ac->content.content == raw, "priv content mismatch");
  FramedContent fc{env.gc.group_id, env.gc.epoch, Sender{SenderType::kMember, 1}, {}, raw};
  AuthenticatedContent own = sign_content(WireFormat::kPrivateMessage, fc, *env.sig_priv, env.gc);
  own.auth.confirmation_tag = ac->auth.confirmation_tag;
  SecretTree send_tree(env.encryption_secret, 2);
  auto pm = encrypt_private_message(own, send_tree, env.sender_data_secret, 7);
  VEC_EXPECT(pm.ok(), "protect priv");
  SecretTree recv_tree(env.encryption_secret, 2);
  auto back = decode_exact<MlsMessage>(encode(MlsMessage{1, *pm}));
  VEC_EXPECT(back.ok(), "re-decode priv");
  auto ac2 = decrypt_private_message(std::get<PrivateMessage>(back->body), recv_tree,
                                     env.sender_data_secret);
  VEC_EXPECT(ac2.ok() && verify_content_signature(*ac2, env.sig_pub, env.gc).ok() &&
                 ac2->content.content == raw,
             "own priv does not unprotect");
  return {};
}

}  // namespace

std::string message_protection(const json::object& v) {
  Env env;
  env.gc.cipher_suite = static_cast<uint16_t>(num(v, "cipher_suite"));
  env.gc.group_id = hex(v, "group_id");
  env.gc.epoch = num(v, "epoch");
  env.gc.tree_hash = hex(v, "tree_hash");
  env.gc.confirmed_transcript_hash = hex(v, "confirmed_transcript_hash");
  env.sig_pub = hex(v, "signature_pub");
  env.sig_priv = SignaturePrivateKey::from_seed(hex(v, "signature_priv"));
  VEC_EXPECT(env.sig_priv.ok(), "signature key");
  env.encryption_secret = Secret(hex(v, "encryption_secret"));
  env.sender_data_secret = Secret(hex(v, "sender_data_secret"));
  env.membership_key = Secret(hex(v, "membership_key"));

  auto proposal = decode_exact<Proposal>(hex(v, "proposal"));
  VEC_EXPECT(proposal.ok(), "decode proposal");
  auto commit = decode_exact<Commit>(hex(v, "commit"));
  VEC_EXPECT(commit.ok(), "decode commit");
  Content app = ApplicationData{hex(v, "application")};

  std::string why = check_public(env, *proposal, hex(v, "proposal_pub"));
  if (why.empty()) why = check_public(env, *commit, hex(v, "commit_pub"));
  if (why.empty()) why = check_private(env, *proposal, hex(v, "proposal_priv"));
  if (why.empty()) why = check_private(env, *commit, hex(v, "commit_priv"));
  if (why.empty()) why = check_private(env, app, hex(v, "application_priv"));
  if (!why.empty()) return why;
  FramedContent fc{env.gc.group_id, env.gc.epoch, Sender{SenderType::kMember, 1}, {}, app};
  AuthenticatedContent own = sign_content(WireFormat::kPublicMessage, fc, *env.sig_priv, env.gc);
  VEC_EXPECT(!to_public_message(own, env.membership_key, env.gc).ok(),
             "application PublicMessage accepted");
  return {};
}

}  // namespace cercle::mls::vectors
