// The group rules a client applies to proposals, by code (cercle.v1.PolicyRefusal): which proposals
// it keeps pending and commits. client_internal.h's proposal_refusal() words the same decision.
// Pure functions over an MLS state; thread-compatible.
#pragma once

#include <cstdint>

#include "cercle/mls/state.h"
#include "proto/policy.pb.h"

namespace cercle::client {

// Why the member at `sender` may not propose `p` in `state`'s group (POLICY_REFUSAL_UNSPECIFIED
// when it may): kinds Cercle never uses, an Update that changes who the member is, and what only
// facilitators may do.
v1::PolicyRefusal proposal_refusal_code(const mls::State& state, const mls::Proposal& p,
                                        uint32_t sender);

}  // namespace cercle::client
