// Safety numbers and device fingerprints (docs/safety-numbers.md), and noticing the devices that
// join a conversation for someone already in it. Internal to the SDK; one thread, as the Client.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "client/sdk/client.h"

namespace cercle::client {

struct Conv;

// One account's side of a safety number: its handle and its devices' signature keys (any order,
// duplicates allowed: the computation sorts them and drops duplicates).
struct AccountDevices {
  std::string handle;
  std::vector<std::string> keys;
};

// docs/safety-numbers.md: 12 groups of 5 digits, the same whichever account is given first.
// The two handles must differ.
std::string safety_number_of(const AccountDevices& a, const AccountDevices& b);
// 3 groups of 5 digits over one device's signature key.
std::string device_fingerprint(std::string_view signature_key);

// Compares the conversation's leaves with the devices seen there last time, and announces
// (Event::Kind::kDeviceAdded) each new device of an account that was already in it; the first
// look only remembers them. Call whenever the conversation's MLS state changed.
void note_device_changes(Client::Impl& impl, Conv& conv);

}  // namespace cercle::client
