// The input format of the handshake target (fuzz_handshake.cpp), shared with the corpus generator.
// A 5-byte header, then the bodies:
//   [mode][who][masks][epoch][proposer] body...
// mode % 7: 0 mls_checks::key_package, 1 mls_checks::handshake, 2 mls_checks::welcome_targets
//   (body: the bytes); 3 handshake::read_proposal (body: the proposal); 4 handshake::read_commit
//   (body: [u16 length][commit][welcome: the rest]); 5 read_proposal then, with the proposal cached
//   if the relay accepted it, read_commit (body: [u16 length][proposal][u16
//   length][commit][welcome]).
// who: bit 0 the conversation (0 the group, 1 the direct one), bits 1-2 the acting member (Who).
// masks: the members the commit says it adds (bits 0-3) and removes (bits 4-7).
// epoch: 0 the conversation's epoch, else epoch - 1. proposer: bits 0-1 the member proposing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cercle::relay_fuzz {

inline constexpr size_t kHandshakeHeader = 5;
enum Mode : uint8_t {
  kKeyPackage,
  kHandshake,
  kWelcome,
  kProposal,
  kCommit,
  kProposalCommit,
  kApplication,
  kModes
};

inline void append_sized(std::string& out, std::string_view body) {
  out.push_back(static_cast<char>(body.size() & 0xff));
  out.push_back(static_cast<char>((body.size() >> 8) & 0xff));
  out.append(body);
}

}  // namespace cercle::relay_fuzz
