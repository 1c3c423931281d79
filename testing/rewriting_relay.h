// RewritingRelay: the tampering relay (tamper_proxy.h) used only as a server lying in its answers
// (TamperingRelay::set_rewrite), under the name the device-chain tests give it.
#pragma once

#include "testing/tamper_proxy.h"

namespace cercle::testing {

using RewritingRelay = TamperingRelay;

}  // namespace cercle::testing
