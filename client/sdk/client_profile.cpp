// Client: a group's name and description, which only its members read (issue 13). A facilitator
// signs the profile with its leaf key and sends it as typed application content (0x00 ||
// AppContent), so the relay stores only ciphertext; any member may hand it on to a newcomer, who
// checks the signature against the signer's leaf in its own ratchet tree. Each client keeps the
// newest profile it accepted in its local store, so erasing the carrying message loses nothing.
#include <sodium.h>

#include <functional>

#include "client/sdk/client_internal.h"

namespace cercle::client {

namespace {

constexpr std::string_view kProfileLabel = "cercle-profile-v1";
constexpr std::string_view kListingLabel = "cercle-listing-v1";
constexpr size_t kMaxNameBytes = 80;
constexpr size_t kMaxDescriptionBytes = 1000;

// Whether `signer` facilitates the group (its rules now) and one of its leaves in this client's
// own tree verifies `signature` (never a key the relay could hand out).
bool signed_by_a_facilitator(const Conv& conv, const std::string& signer, std::string_view label,
                             std::string_view encoded, std::string_view signature) {
  const auto rules = group_policy(*conv.state);
  return rules && policy::role_of(*rules, signer) == v1::FACILITATOR &&
         signed_by_member(conv, signer, label, encoded, signature);
}

// The profile inside an encoded SignedGroupProfile this device already accepted (or made).
std::optional<v1::GroupProfile> held(const Conv& conv, v1::SignedGroupProfile* s = nullptr) {
  v1::SignedGroupProfile signed_profile;
  v1::GroupProfile p;
  if (conv.profile.empty() || !signed_profile.ParseFromString(conv.profile) ||
      !p.ParseFromString(signed_profile.profile())) {
    return std::nullopt;
  }
  if (s) *s = std::move(signed_profile);
  return p;
}

bool fits(const v1::GroupProfile& p) {
  return !p.name().empty() && p.name().size() <= kMaxNameBytes &&
         p.description().size() <= kMaxDescriptionBytes;
}

// Why `s` may not be this group's profile ("" when it may): its signer must facilitate the group
// under the rules of the epoch it arrived in, and the signature must verify with one of the
// signer's leaf keys in this client's own tree.
std::string refusal(const Conv& conv, const v1::SignedGroupProfile& s, v1::GroupProfile& out) {
  if (!out.ParseFromString(s.profile()) || !fits(out))
    return "a group name that could not be read was ignored";
  if (out.conversation_id() != conv.id) return "a group name meant for another group was ignored";
  const auto rules = group_policy(*conv.state);
  if (!rules || policy::role_of(*rules, s.signer()) != v1::FACILITATOR)
    return "a group name not set by one of its facilitators was ignored";
  if (!signed_by_a_facilitator(conv, s.signer(), kProfileLabel, s.profile(), s.signature()))
    return "a group name whose signature does not hold was ignored";
  return {};
}

std::string app_content(const v1::SignedGroupProfile& s) {
  v1::AppContent content;
  *content.mutable_profile() = s;
  return std::string(1, '\0') + content.SerializeAsString();
}

// What a leaf key signs: a label, a zero byte, the encoded content (as invitations).
std::string leaf_transcript(std::string_view label, std::string_view encoded) {
  std::string out(label);
  out.push_back('\0');
  out.append(encoded);
  return out;
}

}  // namespace

std::string sign_with_leaf_key(std::string_view label, std::string_view encoded,
                               const std::string& secret_key) {
  const std::string t = leaf_transcript(label, encoded);
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                       reinterpret_cast<const unsigned char*>(secret_key.data()));
  return signature;
}

bool verifies_leaf_signature(std::string_view label, std::string_view encoded,
                             std::string_view signature, std::string_view public_key) {
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES)
    return false;
  const std::string t = leaf_transcript(label, encoded);
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                                     reinterpret_cast<const unsigned char*>(public_key.data())) ==
         0;
}

bool signed_by_member(const Conv& conv, std::string_view signer, std::string_view label,
                      std::string_view encoded, std::string_view signature) {
  for (const auto& m : conv.state->members()) {
    if (to_string(m.credential.identity) == signer &&
        verifies_leaf_signature(label, encoded, signature, to_string(m.signature_key))) {
      return true;
    }
  }
  return false;
}

Status check_profile_words(std::string_view name, std::string_view description) {
  if (name.empty() || name.size() > kMaxNameBytes || description.size() > kMaxDescriptionBytes) {
    return make_error(Errc::kInvalidArgument,
                      "a group's name takes 1 to 80 bytes and its description at most 1000");
  }
  return Ok{};
}

std::string listing_refusal(const Conv& conv, const v1::SignedPublicListing& s, std::string& name) {
  name.clear();
  if (s.listing().empty()) return {};  // Withdrawn: nothing is public any more.
  v1::PublicListing listing;
  if (!conv.state || !listing.ParseFromString(s.listing()) ||
      listing.conversation_id() != conv.id ||
      !signed_by_a_facilitator(conv, s.signer(), kListingLabel, s.listing(), s.signature())) {
    return "a public listing not signed by one of the group's facilitators was ignored";
  }
  name = listing.name();
  return {};
}

std::string profile_name(const Conv& conv) {
  const auto p = held(conv);
  return p ? p->name() : std::string();
}

void Client::Impl::apply_app_content(Conv& conv, const mls::Bytes& plaintext) {
  v1::AppContent content;
  if (!content.ParseFromArray(plaintext.data() + 1, static_cast<int>(plaintext.size() - 1)))
    return warn(conv, "a message could not be read");
  if (!content.has_profile()) return;  // A kind this version does not know: ignored.
  const v1::SignedGroupProfile& s = content.profile();
  v1::GroupProfile p;
  if (auto why = refusal(conv, s, p); !why.empty()) return warn(conv, why);
  const auto current = held(conv);
  // The same or an older profile: handed on after an Add, or replayed. Nothing new.
  if (current && p.version() <= current->version()) return;
  conv.profile = s.SerializeAsString();
  conv.dirty = true;
  Event e;
  e.kind = Event::Kind::kGroupProfile;
  e.conversation = to_hex(conv.id);
  e.detail = p.name();
  e.by = s.signer();
  events.push_back(std::move(e));
}

void Client::Impl::hand_on_profile(Conv& conv) {
  v1::SignedGroupProfile s;
  if (!held(conv, &s)) return;
  if (auto sent = send_application(conv, to_bytes(app_content(s))); !sent) {
    warn(conv, "the group's name could not be sent to its new member: " + sent.error().message);
  }
}

// Changes the profile held with `edit` (one version above it), signs it with this device's leaf key
// and sends it to the group (facilitators).
static Status change_profile(Client::Impl& impl, const std::string& conversation,
                             const std::function<Status(v1::GroupProfile&)>& edit) {
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  Conv& conv = **found;
  if (auto s = impl.process_incoming(); !s) return s;
  const auto rules = conv.state ? group_policy(*conv.state) : std::nullopt;
  if (!rules) return make_error(Errc::kNotFound, "this conversation has no group rules");
  if (policy::role_of(*rules, impl.identity->handle()) != v1::FACILITATOR)
    return make_error(Errc::kRefused, "only a facilitator names the group");
  v1::GroupProfile p = held(conv).value_or(v1::GroupProfile{});  // Keeps what is not changed.
  if (auto s = edit(p); !s) return s;
  p.set_conversation_id(conv.id);
  p.set_version(p.version() + 1);
  v1::SignedGroupProfile s;
  s.set_profile(p.SerializeAsString());
  s.set_signer(impl.identity->handle());
  s.set_signature(
      sign_with_leaf_key(kProfileLabel, s.profile(), impl.identity->device_secret_key()));
  auto sent = impl.send_application(conv, to_bytes(app_content(s)));
  if (!sent) return std::move(sent).error();
  conv.profile = s.SerializeAsString();  // Our own entry is not read back: kept now.
  impl.drain(conv);
  return impl.save(conv);
}

Status Client::set_group_profile(const std::string& conversation, std::string_view name,
                                 std::string_view description) {
  if (auto s = check_profile_words(name, description); !s) return s;
  return change_profile(*impl_, conversation, [&](v1::GroupProfile& p) -> Status {
    p.set_name(std::string(name));
    p.set_description(std::string(description));
    return Ok{};
  });
}

Status Client::set_seance_schedule(const std::string& conversation,
                                   const std::vector<SeanceSlot>& slots,
                                   std::string_view time_zone) {
  return change_profile(*impl_, conversation, [&](v1::GroupProfile& p) -> Status {
    if (p.name().empty())
      return make_error(Errc::kInvalidArgument, "name the group before planning its séances");
    p.clear_schedule();
    for (const auto& slot : slots) {
      auto* out = p.add_schedule();
      out->set_start_ms(slot.start_ms);
      out->set_duration_minutes(slot.duration_minutes);
      out->set_weekly(slot.weekly);
    }
    p.set_time_zone(std::string(time_zone));
    return Ok{};
  });
}

Result<GroupProfile> Client::group_profile(const std::string& conversation) const {
  const Conv* conv = impl_->lookup(conversation);
  if (!conv) return make_error(Errc::kNotFound, "no such conversation on this device");
  v1::SignedGroupProfile s;
  const auto p = held(*conv, &s);
  if (!p) return make_error(Errc::kNotFound, "this device does not know the group's name yet");
  GroupProfile out{p->name(), p->description(), p->version(), s.signer(), {}, p->time_zone()};
  for (const auto& slot : p->schedule()) {
    out.schedule.push_back(SeanceSlot{slot.start_ms(), slot.duration_minutes(), slot.weekly()});
  }
  return out;
}

// PublishGroup with `signed_listing` (empty: withdrawn); the relay checks the signer's role and
// key, and shows the listing to the group.
static Status publish(Client::Impl& impl, const std::string& conversation,
                      const v1::SignedPublicListing& signed_listing) {
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  v1::ClientFrame f;
  f.mutable_publish_group()->set_conversation_id((*found)->id);
  f.mutable_publish_group()->set_listing(signed_listing.SerializeAsString());
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  return impl.process_incoming();
}

Status Client::publish_group(const std::string& conversation, std::string_view name,
                             std::string_view description) {
  if (auto s = check_profile_words(name, description); !s) return s;
  auto found = impl_->find(conversation);
  if (!found) return std::move(found).error();
  v1::PublicListing listing;
  listing.set_conversation_id((*found)->id);
  listing.set_name(std::string(name));
  listing.set_description(std::string(description));
  v1::SignedPublicListing s;
  s.set_listing(listing.SerializeAsString());
  s.set_signer(impl_->identity->handle());
  s.set_signature(
      sign_with_leaf_key(kListingLabel, s.listing(), impl_->identity->device_secret_key()));
  return publish(*impl_, conversation, s);
}

Status Client::withdraw_listing(const std::string& conversation) {
  return publish(*impl_, conversation, v1::SignedPublicListing{});
}

}  // namespace cercle::client
