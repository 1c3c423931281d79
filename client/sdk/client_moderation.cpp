// Client: invitations, open groups, deleting a message for everyone, and reports.
#include <sodium.h>

#include <algorithm>
#include <optional>

#include "cercle/mls/messages.h"
#include "cercle/policy/extensions.h"
#include "client/sdk/client_internal.h"
#include "proto/policy.pb.h"

namespace cercle::client {

namespace {

constexpr size_t kNonceBytes = 16;

Result<std::string> raw_id(std::string_view hex, size_t bytes, std::string_view what) {
  auto raw = from_hex(hex);
  if (!raw || raw->size() != bytes)
    return make_error(Errc::kInvalidArgument, std::string(what) + " is not valid");
  return raw;
}

// Finds what this device showed for message `seq` (its own history).
Result<std::string> message_text(LocalStore& store, const Conv& conv, uint64_t seq) {
  auto records = store.read_log("history/" + to_hex(conv.id));
  if (!records) return std::move(records).error();
  for (const auto& raw : *records) {
    local::HistoryEntry e;
    if (e.ParseFromString(raw) && e.seq() == seq) return e.text();
  }
  return make_error(Errc::kNotFound, "no such message on this device");
}

constexpr std::string_view kReportLabel = "cercle-report-v1";

// What the reporter seals: an encoded v1::SignedReportContent, its content an encoded
// local::ReportContent signed with the reporter's leaf key over "cercle-report-v1" || 0x00 ||
// content.
std::string signed_report(const Client::Impl& impl, const Conv& conv, uint64_t seq,
                          const std::string& text, std::string_view reason) {
  local::ReportContent content;
  content.set_conversation_id(conv.id);
  content.set_seq(seq);
  content.set_text(text);
  content.set_reason(std::string(reason));
  content.set_reporter(impl.identity->handle());
  v1::SignedReportContent s;
  s.set_content(content.SerializeAsString());
  s.set_signature(
      sign_with_leaf_key(kReportLabel, s.content(), impl.identity->device_secret_key()));
  return s.SerializeAsString();
}

// The X25519 key a report to this leaf is sealed to: its report key (0xF0A2), else the X25519 form
// of its Ed25519 signature key; nullopt for a report key of another size (the relay refuses such
// leaves; a client that meets one seals nothing to it).
std::optional<std::string> report_key_of(const mls::LeafNode& leaf) {
  if (const auto* e = mls::find_extension(leaf.extensions, policy::kReportKeyExtensionType)) {
    if (e->extension_data.size() != policy::kReportKeyBytes) return std::nullopt;
    return to_string(e->extension_data);
  }
  std::string x25519(crypto_box_PUBLICKEYBYTES, '\0');
  if (leaf.signature_key.size() != crypto_sign_PUBLICKEYBYTES ||
      crypto_sign_ed25519_pk_to_curve25519(reinterpret_cast<unsigned char*>(x25519.data()),
                                           leaf.signature_key.data()) != 0) {
    return std::nullopt;
  }
  return x25519;
}

bool seal_open(std::string_view sealed, const unsigned char* pk, const unsigned char* sk,
               std::string& plain) {
  if (sealed.size() < crypto_box_SEALBYTES) return false;
  plain.assign(sealed.size() - crypto_box_SEALBYTES, '\0');
  return crypto_box_seal_open(reinterpret_cast<unsigned char*>(plain.data()),
                              reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
                              pk, sk) == 0;
}

// Opens with the device's report key if its own leaf in this group carries it, else with the X25519
// form of its device key (a leaf made before it had a report key); then with the other one, in case
// the reporter's tree was at another epoch.
std::optional<std::string> unseal_report(const local::Identity& id, const mls::State& state,
                                         std::string_view sealed) {
  std::string plain;
  const auto& ed = id.device_secret_key();
  unsigned char x_sk[crypto_box_SECRETKEYBYTES], x_pk[crypto_box_PUBLICKEYBYTES];
  const bool has_ed = ed.size() == crypto_sign_SECRETKEYBYTES &&
                      crypto_sign_ed25519_sk_to_curve25519(
                          x_sk, reinterpret_cast<const unsigned char*>(ed.data())) == 0 &&
                      crypto_sign_ed25519_pk_to_curve25519(
                          x_pk, reinterpret_cast<const unsigned char*>(ed.data()) + 32) == 0;
  const auto& rk = id.report_secret_key();
  unsigned char r_pk[crypto_box_PUBLICKEYBYTES];
  const bool has_report =
      rk.size() == crypto_box_SECRETKEYBYTES &&
      crypto_scalarmult_base(r_pk, reinterpret_cast<const unsigned char*>(rk.data())) == 0;
  const mls::LeafNode* own = state.tree().leaf(state.own_leaf());
  const auto* published =
      own ? mls::find_extension(own->extensions, policy::kReportKeyExtensionType) : nullptr;
  const bool report_first = has_report && published &&
                            to_string(published->extension_data) ==
                                std::string(reinterpret_cast<const char*>(r_pk), sizeof r_pk);
  auto with_report = [&] {
    return has_report &&
           seal_open(sealed, r_pk, reinterpret_cast<const unsigned char*>(rk.data()), plain);
  };
  auto with_ed = [&] { return has_ed && seal_open(sealed, x_pk, x_sk, plain); };
  const bool opened = report_first ? (with_report() || with_ed()) : (with_ed() || with_report());
  sodium_memzero(x_sk, sizeof x_sk);
  if (!opened) return std::nullopt;
  return plain;
}

}  // namespace

Invitation invitation_view(const v1::Invitation& i) {
  Invitation out;
  out.id = to_hex(i.nonce());
  out.conversation = to_hex(i.conversation_id());
  out.inviter = i.inviter();
  out.invitee = i.invitee();
  out.professional = i.invitee_type() == v1::INVITEE_PROFESSIONAL;
  out.accompanying = i.accompanying();
  out.expires_at_ms = i.expires_at_ms();
  out.charter = i.charter();
  return out;
}

Result<Invitation> Client::invite(const std::string& conversation, std::string_view handle,
                                  std::string_view accompanying, std::chrono::hours valid_for) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return std::move(s).error();
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  Conv& conv = **found;
  if (auto s = impl.process_incoming(); !s) return std::move(s).error();
  const auto rules = conv.state ? group_policy(*conv.state) : std::nullopt;
  if (!rules) return make_error(Errc::kNotFound, "this conversation has no group rules");
  v1::ClientFrame lookup;
  lookup.mutable_lookup_account()->set_handle(std::string(handle));
  auto account = impl.conn->call(lookup);
  if (!account) return std::move(account).error();
  v1::Invitation i;
  i.set_conversation_id(conv.id);
  i.set_inviter(impl.identity->handle());
  i.set_invitee(account->account().handle());
  i.set_invitee_type(account->account().type() == v1::PROFESSIONAL ? v1::INVITEE_PROFESSIONAL
                                                                   : v1::INVITEE_PEER);
  i.set_accompanying(std::string(accompanying));
  const auto expires = std::chrono::system_clock::now() + valid_for;
  i.set_expires_at_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(expires.time_since_epoch()).count());
  std::string nonce(kNonceBytes, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  i.set_nonce(nonce);
  i.set_charter(rules->charter());
  const auto signed_invitation = policy::sign_invitation(
      i, reinterpret_cast<const unsigned char*>(impl.identity->device_secret_key().data()));
  v1::ClientFrame f;
  f.mutable_create_invitation()->set_signed_invitation(signed_invitation.SerializeAsString());
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  return invitation_view(i);
}

// Sends a request naming a conversation and an invitation; `fill` sets the request's fields.
template <class Fill>
static Status invitation_request(Client::Impl& impl, const std::string& conversation,
                                 const std::string& invitation_id, Fill fill) {
  if (auto s = impl.require_connection(); !s) return s;
  auto conv = raw_id(conversation, 16, "the conversation id");
  if (!conv) return std::move(conv).error();
  auto nonce = raw_id(invitation_id, kNonceBytes, "the invitation id");
  if (!nonce) return std::move(nonce).error();
  v1::ClientFrame f;
  fill(f, *conv, *nonce);
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  return impl.process_incoming();
}

Status Client::revoke_invitation(const std::string& conversation,
                                 const std::string& invitation_id) {
  return invitation_request(*impl_, conversation, invitation_id,
                            [](v1::ClientFrame& f, auto& c, auto& n) {
                              f.mutable_revoke_invitation()->set_conversation_id(c);
                              f.mutable_revoke_invitation()->set_nonce(n);
                            });
}

Status Client::accept_invitation(const Invitation& invitation) {
  // Remembered first: the Welcome may come at once, and a professional's client joins a group only
  // if it accepted an invitation to it.
  if (auto s =
          impl_->store->put(std::string(kAcceptedPrefix) + invitation.conversation, invitation.id);
      !s) {
    return s;
  }
  return invitation_request(*impl_, invitation.conversation, invitation.id,
                            [](v1::ClientFrame& f, auto& c, auto& n) {
                              f.mutable_accept_invitation()->set_conversation_id(c);
                              f.mutable_accept_invitation()->set_nonce(n);
                            });
}

Status Client::decline_invitation(const Invitation& invitation) {
  return invitation_request(*impl_, invitation.conversation, invitation.id,
                            [](v1::ClientFrame& f, auto& c, auto& n) {
                              f.mutable_decline_invitation()->set_conversation_id(c);
                              f.mutable_decline_invitation()->set_nonce(n);
                            });
}

Status Client::object_to_invitation(const std::string& conversation,
                                    const std::string& invitation_id) {
  return invitation_request(*impl_, conversation, invitation_id,
                            [](v1::ClientFrame& f, auto& c, auto& n) {
                              f.mutable_object_to_invitation()->set_conversation_id(c);
                              f.mutable_object_to_invitation()->set_nonce(n);
                            });
}

Result<std::vector<Invitation>> Client::invitations() {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return std::move(s).error();
  v1::ClientFrame f;
  f.mutable_list_invitations();
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  std::vector<Invitation> out;
  for (const auto& bytes : r->invitations().signed_invitations()) {
    v1::SignedInvitation s;
    v1::Invitation i;
    if (s.ParseFromString(bytes) && i.ParseFromString(s.invitation()))
      out.push_back(invitation_view(i));
  }
  return out;
}

Result<std::vector<OpenGroup>> Client::open_groups() {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return std::move(s).error();
  v1::ClientFrame f;
  f.mutable_list_open_groups();
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  std::vector<OpenGroup> out;
  for (const auto& g : r->open_groups().groups()) {
    out.push_back({to_hex(g.conversation_id()), g.charter(), g.members(), g.public_name(),
                   g.public_description()});
  }
  return out;
}

Status Client::request_join(const std::string& conversation) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto conv = raw_id(conversation, 16, "the conversation id");
  if (!conv) return std::move(conv).error();
  v1::ClientFrame f;
  f.mutable_request_join()->set_conversation_id(*conv);
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  return Ok{};
}

Status Client::delete_message(const std::string& conversation, uint64_t seq) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  v1::ClientFrame f;
  f.mutable_delete_entry()->set_conversation_id((*found)->id);
  f.mutable_delete_entry()->set_seq(seq);
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  return impl.process_incoming();
}

// The report travels sealed (crypto_box_seal) to each facilitator device, with the report key its
// leaf carries (0xF0A2), or for a leaf without one the X25519 form of its Ed25519 signature key:
// the reporter's client takes the keys from the group's ratchet tree, not from the server. Inside,
// the reporter's leaf key signs the content, so that a relay cannot seal a report in a member's
// name.
Status Client::report(const std::string& conversation, uint64_t seq, std::string_view reason) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  Conv& conv = **found;
  const auto rules = conv.state ? group_policy(*conv.state) : std::nullopt;
  if (!rules) return make_error(Errc::kNotFound, "this conversation has no group rules");
  auto text = message_text(*impl.store, conv, seq);
  if (!text) return std::move(text).error();
  const std::string plain = signed_report(impl, conv, seq, *text, reason);
  v1::ClientFrame get;
  get.mutable_get_conversation()->set_conversation_id(conv.id);
  auto info = impl.conn->call(get);
  if (!info) return std::move(info).error();
  v1::ClientFrame f;
  auto* req = f.mutable_report_to_facilitators();
  req->set_conversation_id(conv.id);
  for (const auto& m : info->conversation().members()) {
    if (policy::role_of(*rules, m.handle()) != v1::FACILITATOR ||
        m.device_id() == impl.identity->device_id())
      continue;
    const mls::LeafNode* leaf = conv.state->tree().leaf(m.leaf());
    if (!leaf || to_string(leaf->credential.identity) != m.handle()) continue;
    const auto key = report_key_of(*leaf);
    if (!key) continue;
    std::string sealed(plain.size() + crypto_box_SEALBYTES, '\0');
    crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data()),
                    reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                    reinterpret_cast<const unsigned char*>(key->data()));
    auto* out = req->add_reports();
    out->set_device_id(m.device_id());
    out->set_sealed(std::move(sealed));
  }
  if (req->reports_size() == 0)
    return make_error(Errc::kNotFound, "this group has no other facilitator to report to");
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  return Ok{};
}

Result<uint64_t> Client::report_to_admins(const std::string& conversation, uint64_t seq,
                                          std::string_view reason) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return std::move(s).error();
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  auto text = message_text(*impl.store, **found, seq);
  if (!text) return std::move(text).error();
  v1::ClientFrame f;
  auto* req = f.mutable_report_to_admins();
  req->set_conversation_id((*found)->id);
  req->set_seq(seq);
  req->set_revealed_text(*text);
  req->set_reason(std::string(reason));
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  return r->report().report_id();
}

std::string new_report_secret_key() {
  std::string pk(crypto_box_PUBLICKEYBYTES, '\0');
  std::string sk(crypto_box_SECRETKEYBYTES, '\0');
  crypto_box_keypair(reinterpret_cast<unsigned char*>(pk.data()),
                     reinterpret_cast<unsigned char*>(sk.data()));
  return sk;
}

// Opens a report sealed to this device and signed by its reporter; nullopt when it does not open,
// is not about this conversation and reporter, or no leaf of the reporter in this device's own
// tree signed it (a relay sealing a report of its own in a member's name).
std::optional<Report> Client::Impl::open_report(const v1::ReportReceived& r) const {
  const auto it = convs.find(r.conversation_id());
  if (it == convs.end() || !it->second.state) return std::nullopt;
  const Conv& conv = it->second;
  auto plain = unseal_report(*identity, *conv.state, r.sealed());
  v1::SignedReportContent signed_content;
  local::ReportContent content;
  // The relay names the account that sent the report, the sealed content the one that signed it:
  // a member cannot report in another's name, nor the relay pin a member's report on someone else.
  if (!plain || !signed_content.ParseFromString(*plain) ||
      !content.ParseFromString(signed_content.content()) ||
      content.conversation_id() != r.conversation_id() || content.reporter() != r.reporter() ||
      !signed_by_member(conv, r.reporter(), kReportLabel, signed_content.content(),
                        signed_content.signature())) {
    return std::nullopt;
  }
  return Report{to_hex(content.conversation_id()), r.reporter(), content.seq(), content.text(),
                content.reason()};
}

void Client::Impl::handle_report(const v1::ReportReceived& r) {
  const auto it = convs.find(r.conversation_id());
  std::vector<mls::Member> members;
  if (it != convs.end() && it->second.state) members = it->second.state->members();
  const bool known = std::any_of(members.begin(), members.end(), [&](const mls::Member& m) {
    return to_string(m.credential.identity) == r.reporter();
  });
  if (!known) {
    const bool held = std::any_of(waiting_reports.begin(), waiting_reports.end(),
                                  [&](const auto& w) { return w.report_id() == r.report_id(); });
    if (!held) waiting_reports.push_back(r);
    return;
  }
  Event out;
  out.conversation = to_hex(r.conversation_id());
  if (auto report = open_report(r)) {
    out.kind = Event::Kind::kReport;
    out.report = std::move(*report);
  } else {
    // Never shown: sealed to another key, altered, or not signed by the member it names.
    out.kind = Event::Kind::kWarning;
    out.detail = std::string(kReportDropped);
  }
  events.push_back(std::move(out));
  // Shown (or refused: it never will be): the relay may forget it.
  v1::ClientFrame ack;
  ack.mutable_ack_report()->set_report_id(r.report_id());
  (void)conn->call(ack);
}

void Client::Impl::retry_waiting_reports() {
  std::vector<v1::ReportReceived> waiting;
  waiting.swap(waiting_reports);
  for (const auto& r : waiting) handle_report(r);
}

}  // namespace cercle::client
