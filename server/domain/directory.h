// Directory: the read-only view of who is who that the relay's readers of MLS messages and the
// group rules need (handshake.h, group_rules.h, public_groups.h): a device's account, handle and
// type (Identity's), the MLS key it signs its leaves with and which device uploaded a KeyPackage.
// It holds the owning services by const reference and changes nothing. Domain thread.
#pragma once

#include "server/domain/identity.h"
#include "server/domain/key_packages.h"

namespace cercle::domain {

struct Directory {
  const Identity& identity;
  const KeyPackages& key_packages;
};

}  // namespace cercle::domain
