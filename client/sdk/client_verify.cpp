// Devices, safety numbers and verification (docs/safety-numbers.md). Every device comes from the
// conversation's MLS leaves, never from the server's lists: what two people compare is what their
// groups' trees hold, so a device the server slipped into one account shows in the number.
#include "client/sdk/client_verify.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "client/sdk/client_internal.h"

namespace cercle::client {
namespace {

constexpr std::string_view kSafetyLabel = "cercle safety number v1";
constexpr std::string_view kFingerprintLabel = "cercle device fingerprint v1";
constexpr std::string_view kVerifiedPrefix = "verified/";
constexpr std::string_view kSeenPrefix = "devices/";
constexpr size_t kSafetyGroups = 12;
constexpr size_t kFingerprintGroups = 3;

void put_u16(std::string& out, size_t n) {
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
}

std::string part(const AccountDevices& a) {
  const std::set<std::string> keys(a.keys.begin(), a.keys.end());  // Sorted bytewise, once each.
  std::string out;
  put_u16(out, a.handle.size());
  out += a.handle;
  put_u16(out, keys.size());
  for (const auto& k : keys) {
    put_u16(out, k.size());
    out += k;
  }
  return out;
}

// SHA-512 of label || 0x00 || body, as groups of 5 digits: each from 40 bits of the digest.
std::string digits(std::string_view label, const std::string& body, size_t groups) {
  std::string input(label);
  input.push_back('\0');
  input += body;
  unsigned char digest[crypto_hash_sha512_BYTES];
  crypto_hash_sha512(digest, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  std::string out;
  for (size_t g = 0; g < groups; ++g) {
    uint64_t v = 0;
    for (size_t i = 0; i < 5; ++i) v = (v << 8) | digest[g * 5 + i];
    char text[8];
    std::snprintf(text, sizeof text, "%05u", static_cast<unsigned>(v % 100000));
    if (g) out.push_back(' ');
    out += text;
  }
  return out;
}

// Each account's devices in the group: handle -> sorted signature keys.
std::map<std::string, std::vector<std::string>> keys_by_handle(const mls::State& state) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& m : state.members()) {
    out[to_string(m.credential.identity)].push_back(to_string(m.signature_key));
  }
  for (auto& [handle, keys] : out) std::sort(keys.begin(), keys.end());
  return out;
}

std::optional<local::Verified> load_verified(const LocalStore& store, std::string_view handle) {
  auto got = store.get(std::string(kVerifiedPrefix) + std::string(handle));
  if (!got || !*got) return std::nullopt;
  local::Verified v;
  if (!v.ParseFromString(**got)) return std::nullopt;
  return v;
}

std::vector<std::string> fingerprints(const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(device_fingerprint(k));
  return out;
}

}  // namespace

std::string safety_number_of(const AccountDevices& a, const AccountDevices& b) {
  const bool a_first = a.handle < b.handle;  // std::string compares bytes (as unsigned char).
  return digits(kSafetyLabel, part(a_first ? a : b) + part(a_first ? b : a), kSafetyGroups);
}

std::string device_fingerprint(std::string_view signature_key) {
  return digits(kFingerprintLabel, std::string(signature_key), kFingerprintGroups);
}

Result<std::vector<Device>> Client::devices(const std::string& conversation) const {
  const Conv* c = impl_->lookup(conversation);
  if (!c || !c->state) return make_error(Errc::kNotFound, "no such conversation on this device");
  std::vector<Device> out;
  for (const auto& m : c->state->members()) {
    Device d;
    d.handle = to_string(m.credential.identity);
    d.leaf = m.leaf_index;
    d.fingerprint = device_fingerprint(to_string(m.signature_key));
    d.self = m.leaf_index == c->state->own_leaf();
    out.push_back(std::move(d));
  }
  return out;
}

Result<SafetyNumber> Client::safety_number(const std::string& conversation,
                                           std::string_view handle) const {
  const Conv* c = impl_->lookup(conversation);
  if (!c || !c->state) return make_error(Errc::kNotFound, "no such conversation on this device");
  const std::string& me = impl_->identity->handle();
  if (handle == me) {
    return make_error(Errc::kInvalidArgument, "a safety number is between two different people");
  }
  const auto keys = keys_by_handle(*c->state);
  const auto theirs = keys.find(std::string(handle));
  const auto mine = keys.find(me);
  if (theirs == keys.end() || mine == keys.end()) {
    return make_error(Errc::kNotFound, std::string(handle) + " is not in this conversation");
  }
  SafetyNumber out;
  out.handle = std::string(handle);
  out.number = safety_number_of({me, mine->second}, {out.handle, theirs->second});
  out.devices = fingerprints(theirs->second);
  out.own_devices = fingerprints(mine->second);
  if (auto v = load_verified(*impl_->store, handle)) {
    out.verification = v->number() == out.number ? Verification::kVerified : Verification::kChanged;
  }
  return out;
}

Status Client::mark_verified(const std::string& conversation, std::string_view handle,
                             std::string_view number) {
  auto current = safety_number(conversation, handle);
  if (!current) return std::move(current).error();
  if (current->number != number) {
    return make_error(
        Errc::kRefused,
        "this is not the safety number of these devices: they changed; compare again");
  }
  const auto keys = keys_by_handle(*impl_->lookup(conversation)->state);
  local::Verified v;
  v.set_handle(std::string(handle));
  v.set_number(current->number);
  for (const auto& k : keys.at(std::string(handle))) v.add_their_keys(k);
  for (const auto& k : keys.at(impl_->identity->handle())) v.add_own_keys(k);
  v.set_verified_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count());
  return impl_->store->put(std::string(kVerifiedPrefix) + std::string(handle),
                           v.SerializeAsString());
}

void note_device_changes(Client::Impl& impl, Conv& conv) {
  if (!conv.state) return;
  const std::string name = std::string(kSeenPrefix) + to_hex(conv.id);
  std::set<std::pair<std::string, std::string>> now;
  for (const auto& m : conv.state->members()) {
    now.emplace(to_string(m.credential.identity), to_string(m.signature_key));
  }
  std::set<std::pair<std::string, std::string>> seen;
  std::set<std::string> seen_handles;
  auto got = impl.store->get(name);
  local::SeenDevices record;
  const bool first_look = !got || !*got || !record.ParseFromString(**got);
  for (const auto& d : record.devices()) {
    seen.emplace(d.handle(), d.signature_key());
    seen_handles.insert(d.handle());
  }
  if (!first_look && now == seen) return;
  for (const auto& [handle, key] : now) {
    // Someone joining is a member change, told as such; a device more for someone already here
    // is what a server slipping in a device would look like, so it is said on its own.
    if (first_look || seen.contains({handle, key}) || !seen_handles.contains(handle)) continue;
    Event e;
    e.kind = Event::Kind::kDeviceAdded;
    e.conversation = to_hex(conv.id);
    e.by = handle;
    e.detail = device_fingerprint(key);
    e.verify_again = handle != impl.identity->handle() && load_verified(*impl.store, handle);
    // The relay could have slipped it in: its owner's signed chain must list it.
    e.unapproved = impl.in_chain(handle, key) == false;
    impl.events.push_back(std::move(e));
  }
  local::SeenDevices next;
  for (const auto& [handle, key] : now) {
    auto* d = next.add_devices();
    d->set_handle(handle);
    d->set_signature_key(key);
  }
  if (auto s = impl.store->put(name, next.SerializeAsString()); !s) {
    impl.warn(conv, "the devices of this conversation could not be remembered");
  }
}

}  // namespace cercle::client
