// base64url without padding (RFC 4648 section 5), the encoding of every key and token in Web Push
// (the subscription's p256dh and auth, the VAPID key and JWT). Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cercle::push {

std::string base64url_encode(std::string_view bytes);

// Accepts the unpadded form and, since some clients send it, trailing '=' padding. Returns nothing
// for any other character or an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace cercle::push
