// Deterministic fixture shared by the fuzz targets and the corpus generator: libsodium's random
// source is replaced by a seeded stream so the same group (and valid seed messages) is built
// on every run, letting mutations reach the checks behind decoding.
#pragma once

#include <vector>

#include "cercle/mls/state.h"

namespace cercle::mls::fuzz {

// Installs the deterministic random source (call before any other libsodium use).
void use_deterministic_random();

struct Fixture {
  State alice;  // leaf 0, creator
  State bob;    // leaf 1
  KeyPackageBundle carol_kp;
  std::vector<Bytes> messages_for_bob;  // valid messages bob can process in order
  Bytes welcome_for_carol;
};

// Builds the two-member group and sample messages.
Fixture make_fixture();

}  // namespace cercle::mls::fuzz

namespace cercle::mls {

// Frames arbitrary content as a member would (signed, membership tag), so fuzzed proposals and
// commits get past authentication and reach proposal validation and path processing.
struct FuzzAccess {
  static Bytes frame_as_member(const State& sender, FramedContent content);
};

}  // namespace cercle::mls
