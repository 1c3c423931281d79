// Helpers shared by the server and every C++ client for the wire protocol of proto/cercle.proto.
// Pure functions; safe on any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/cercle.pb.h"

namespace cercle::wire {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr std::string_view kAuthLabel = "cercle-auth-v1";

// Returns the byte string a device signs to authenticate (see Authenticate in cercle.proto).
// instance_id and challenge must each be at most 255 bytes; longer inputs are truncated to 255,
// which the server never produces.
[[nodiscard]] std::string auth_transcript(std::string_view instance_id, std::string_view challenge,
                                          uint32_t protocol_version);

// Returns the dotted path of the first field that `message` (or any message inside it) carries but
// this build's schema does not define, or an empty string when there is none. The path names the
// enclosing message and the unknown field number, e.g. "cercle.v1.Send#42".
[[nodiscard]] std::string first_unknown_field(const google::protobuf::Message& message);

}  // namespace cercle::wire
