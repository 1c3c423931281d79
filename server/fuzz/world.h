// World: the seeded relay every fuzz input starts from, built once per process in a template
// folder (deterministically: see runtime.h) and copied for each input.
//
//   alice  instance admin, facilitator of `group`, member of `direct` (with carol)
//   bob    peer, member of `group`
//   carol  peer, member of `direct`, key packages stored (normal and last resort)
//   pro    professional, invited to `group` by alice and accepted, one key package stored
//
// `group` has alice's rules (initial policy with a charter) and one application message; `code` is
// an unused registration code; alice has a contact link. Members keep their MLS state, so the
// corpus generator builds commits, proposals and messages the relay accepts.
// One thread; the world lives until the process ends.
#pragma once

#include <sodium.h>

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "proto/policy.pb.h"
#include "server/common/ids.h"
#include "server/domain/types.h"
#include "testing/mls_member.h"

namespace cercle::relay_fuzz {

struct Member {
  std::string handle;
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
  AccountId account = 0;
  DeviceId device = 0;
  std::unique_ptr<testing::MlsMember> mls;

  std::string public_key() const;
  std::string sign(std::string_view message) const;
};

enum Who { kAlice, kBob, kCarol, kPro, kMembers };

struct World {
  std::filesystem::path template_dir;
  domain::Config config;
  std::string instance_id;
  std::array<Member, kMembers> members;
  ConvId group;
  ConvId direct;
  std::vector<std::string> carol_packages;  // Stored, unused (the last is last resort).
  std::string pro_package;                  // Stored, unused; says professional.
  v1::SignedInvitation pro_invitation;      // Accepted by pro.
  std::string code;                         // An unused registration code.
  std::string contact_token;                // alice's link.

  const Member& operator[](Who w) const { return members[w]; }
};

// The process's world, built on first use (after use_deterministic_random).
World& world();

// Where this process keeps its folders (under /dev/shm when it exists); removed at exit.
std::filesystem::path scratch_dir();

}  // namespace cercle::relay_fuzz
