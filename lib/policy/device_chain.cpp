#include "cercle/policy/device_chain.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>

namespace cercle::policy {

namespace {

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Length-prefixed fields keep every transcript unambiguous (no two field lists encode alike).
void put_u8_bytes(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>(s.size()));
  out.append(s);
}

void put_u16_bytes(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>(s.size() >> 8));
  out.push_back(static_cast<char>(s.size() & 0xff));
  out.append(s);
}

void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::string labelled(std::string_view label) {
  std::string out(label);
  out.push_back('\0');
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), u8(data), data.size());
  return out;
}

std::string sign(std::string_view message, std::string_view secret) {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr, u8(message),
                       message.size(), u8(secret));
  return sig;
}

bool verify(std::string_view message, std::string_view signature, std::string_view key) {
  return signature.size() == crypto_sign_BYTES && key.size() == crypto_sign_PUBLICKEYBYTES &&
         crypto_sign_verify_detached(u8(signature), u8(message), message.size(), u8(key)) == 0;
}

ChainCheck refuse(ChainErrc code, std::string message) {
  return ChainRefusal{code, std::move(message)};
}

bool is_key(std::string_view key) { return key.size() == crypto_sign_PUBLICKEYBYTES; }

// Field sizes and the rules of link 0; nullopt when the link's shape is right.
std::optional<ChainRefusal> check_shape(const ChainView& view, const v1::DeviceLink& link) {
  if (link.op() != v1::DEVICE_ADD && link.op() != v1::DEVICE_REMOVE) {
    return ChainRefusal{ChainErrc::kMalformed, "a link either adds or removes a device"};
  }
  if (!is_key(link.device_key()) || !is_key(link.mls_key()) || !is_key(link.signer_key())) {
    return ChainRefusal{ChainErrc::kMalformed, "device, MLS and signer keys are 32 bytes"};
  }
  if (view.empty() && (link.op() != v1::DEVICE_ADD || link.signer_key() != link.device_key())) {
    return ChainRefusal{ChainErrc::kMalformed, "link 0 adds the device that signs it"};
  }
  if (link.op() == v1::DEVICE_REMOVE && !link.possession().empty()) {
    return ChainRefusal{ChainErrc::kMalformed, "a removal carries no possession proof"};
  }
  return std::nullopt;
}

std::optional<ChainRefusal> check_place(const ChainView& view, const v1::DeviceLink& link) {
  if (view.hashes.size() >= kMaxChainLinks) {
    return ChainRefusal{ChainErrc::kTooLong, "the chain has too many links"};
  }
  if (link.seq() != view.hashes.size()) {
    return ChainRefusal{ChainErrc::kBrokenLink, "the link's seq does not follow the chain"};
  }
  const std::string_view previous = view.empty() ? std::string_view() : view.hashes.back();
  if (link.previous_hash() != previous) {
    return ChainRefusal{ChainErrc::kBrokenLink, "the link does not name the previous link's hash"};
  }
  return std::nullopt;
}

ChainCheck apply_add(ChainView next, std::string_view handle, const v1::DeviceLink& link) {
  if (!verify_possession(handle, link.device_key(), link.mls_key(), link.possession())) {
    return refuse(ChainErrc::kBadSignature, "the new device's possession proof does not verify");
  }
  const auto& removed = next.removed_keys;
  if (next.find(link.device_key()) != nullptr || next.find(link.mls_key(), true) != nullptr ||
      std::find(removed.begin(), removed.end(), link.device_key()) != removed.end()) {
    return refuse(ChainErrc::kDuplicate, "this key is already in the chain");
  }
  next.devices.push_back({link.device_key(), link.mls_key(), link.seq()});
  return next;
}

ChainCheck apply_remove(ChainView next, const v1::DeviceLink& link) {
  auto it = std::find_if(next.devices.begin(), next.devices.end(), [&](const ChainDevice& d) {
    return d.device_key == link.device_key() && d.mls_key == link.mls_key();
  });
  if (it == next.devices.end()) {
    return refuse(ChainErrc::kUnknownDevice, "the removed device is not a current device");
  }
  if (next.devices.size() == 1) {
    return refuse(ChainErrc::kMalformed, "an account keeps at least one device");
  }
  next.removed_keys.push_back(it->device_key);
  next.devices.erase(it);
  return next;
}

}  // namespace

const ChainDevice* ChainView::find(std::string_view key, bool by_mls_key) const {
  for (const auto& d : devices) {
    if ((by_mls_key ? d.mls_key : d.device_key) == key) return &d;
  }
  return nullptr;
}

std::string link_transcript(std::string_view handle, const v1::DeviceLink& link) {
  std::string out = labelled(kLinkLabel);
  put_u16_bytes(out, handle);
  put_u64(out, link.seq());
  put_u8_bytes(out, link.previous_hash());
  out.push_back(static_cast<char>(link.op()));
  put_u8_bytes(out, link.device_key());
  put_u8_bytes(out, link.mls_key());
  put_u64(out, link.time_ms());
  put_u8_bytes(out, link.signer_key());
  return out;
}

std::string link_hash(std::string_view handle, const v1::DeviceLink& link) {
  return sha256(link_transcript(handle, link) + link.signature());
}

std::string possession_transcript(std::string_view handle, std::string_view device_key,
                                  std::string_view mls_key) {
  std::string out = labelled(kPossessionLabel);
  put_u16_bytes(out, handle);
  put_u8_bytes(out, device_key);
  put_u8_bytes(out, mls_key);
  return out;
}

ChainCheck append(const ChainView& view, std::string_view handle, const v1::DeviceLink& link) {
  if (handle.size() > 0xffff) return refuse(ChainErrc::kMalformed, "the handle is too long");
  if (auto r = check_shape(view, link)) return *std::move(r);
  if (auto r = check_place(view, link)) return *std::move(r);
  if (!view.empty() && view.find(link.signer_key()) == nullptr) {
    return refuse(ChainErrc::kNotApproved, "the signer is not a current device of the account");
  }
  if (!verify(link_transcript(handle, link), link.signature(), link.signer_key())) {
    return refuse(ChainErrc::kBadSignature, "the link's signature does not verify");
  }
  ChainView next = view;
  next.hashes.push_back(link_hash(handle, link));
  if (link.op() == v1::DEVICE_ADD) return apply_add(std::move(next), handle, link);
  return apply_remove(std::move(next), link);
}

ChainCheck verify_chain(std::string_view handle, std::span<const v1::DeviceLink> links) {
  if (links.size() > kMaxChainLinks) return refuse(ChainErrc::kTooLong, "too many links");
  ChainView view;
  for (const auto& link : links) {
    auto check = append(view, handle, link);
    if (!check.ok()) return check;
    view = *std::move(check);
  }
  return view;
}

std::optional<ChainRefusal> check_pin(const ChainPin& pin, const ChainView& view) {
  if (view.empty() || view.root() != pin.root) {
    return ChainRefusal{ChainErrc::kRootChanged, "the chain does not start with the pinned link"};
  }
  if (view.hashes.size() < pin.length || view.hashes[pin.length - 1] != pin.head) {
    return ChainRefusal{ChainErrc::kRolledBack, "the chain is not an extension of the pinned one"};
  }
  return std::nullopt;
}

ChainPin pin_of(const ChainView& view) {
  return ChainPin{view.root(), view.hashes.size(), view.hashes.back()};
}

v1::DeviceLink make_link(const ChainView& view, std::string_view handle, v1::DeviceLinkOp op,
                         std::string_view device_key, std::string_view mls_key, uint64_t time_ms,
                         std::string_view signer_secret, std::string_view possession) {
  v1::DeviceLink link;
  link.set_seq(view.hashes.size());
  if (!view.empty()) link.set_previous_hash(view.hashes.back());
  link.set_op(op);
  link.set_device_key(std::string(device_key));
  link.set_mls_key(std::string(mls_key));
  link.set_time_ms(time_ms);
  // A libsodium Ed25519 secret key ends with its public key.
  link.set_signer_key(std::string(signer_secret.substr(crypto_sign_SEEDBYTES)));
  link.set_possession(std::string(possession));
  link.set_signature(sign(link_transcript(handle, link), signer_secret));
  return link;
}

std::string sign_possession(std::string_view handle, std::string_view device_key,
                            std::string_view mls_key, std::string_view device_secret) {
  return sign(possession_transcript(handle, device_key, mls_key), device_secret);
}

bool verify_possession(std::string_view handle, std::string_view device_key,
                       std::string_view mls_key, std::string_view possession) {
  return verify(possession_transcript(handle, device_key, mls_key), possession, device_key);
}

std::string commitment(std::string_view device_nonce) {
  return sha256(labelled(kCommitmentLabel) + std::string(device_nonce));
}

std::string pairing_code(std::string_view handle, std::string_view device_key,
                         std::string_view mls_key, std::string_view device_nonce,
                         std::string_view approver_nonce) {
  std::string input = labelled(kCodeLabel);
  put_u16_bytes(input, handle);
  put_u8_bytes(input, device_key);
  put_u8_bytes(input, mls_key);
  put_u8_bytes(input, device_nonce);
  put_u8_bytes(input, approver_nonce);
  const std::string h = sha256(input);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(h[i]);
  const unsigned code = v % 1000000;
  char text[8];
  std::snprintf(text, sizeof text, "%03u %03u", code / 1000, code % 1000);
  return text;
}

}  // namespace cercle::policy
