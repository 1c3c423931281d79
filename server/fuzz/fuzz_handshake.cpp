// libFuzzer target: the relay's reading of MLS handshake messages. The decoders of
// server/domain/mls_checks.h on raw bytes, and handshake::read_proposal / read_commit against the
// seeded world's conversations (world.h), whose members' real messages seed the corpus. Input
// format in handshake_input.h. Besides crashes, it checks what the readers promise when they
// accept: facts that match the relay's state (the sender's own leaf, known devices, removed leaves
// held by the removed devices, the declared adds and removes).
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "server/domain/handshake.h"
#include "server/domain/public_groups.h"
#include "server/fuzz/handshake_input.h"
#include "server/fuzz/runtime.h"
#include "server/fuzz/world.h"

using namespace cercle;
using namespace cercle::relay_fuzz;

namespace {

constexpr uint64_t kNowS = kStartMs / 1000;

Runtime* g_runtime = nullptr;

// CERCLE_RELAY_FUZZ_TRACE=1 prints what the readers answer (to see how far a seed gets).
bool trace() {
  static const bool on = std::getenv("CERCLE_RELAY_FUZZ_TRACE") != nullptr;
  return on;
}

// The world's relay, loaded once; closed at exit before the scratch folder goes.
const domain::Domain& relay() {
  if (!g_runtime) {
    const World& w = world();
    const auto dir = scratch_dir() / "handshake";
    std::filesystem::remove_all(dir);
    std::filesystem::copy(w.template_dir, dir, std::filesystem::copy_options::recursive);
    g_runtime = new Runtime(dir, w.config, kStartMs);
    std::atexit([] {
      delete g_runtime;
      g_runtime = nullptr;
    });
  }
  return g_runtime->domain();
}

// What the readers look up, over the world's relay.
domain::Directory directory() {
  const domain::Domain& d = relay();
  return domain::Directory{d.identity(), d.key_packages()};
}

struct Reader {
  std::string_view in;
  std::string_view sized() {
    if (in.size() < 2) {
      in = {};
      return {};
    }
    size_t len = static_cast<uint8_t>(in[0]) | (size_t{static_cast<uint8_t>(in[1])} << 8);
    len = std::min(len, in.size() - 2);
    std::string_view out = in.substr(2, len);
    in.remove_prefix(2 + len);
    return out;
  }
};

std::vector<DeviceId> devices(uint8_t mask) {
  std::vector<DeviceId> out;
  for (int i = 0; i < kMembers; ++i) {
    if (mask & (1 << i)) out.push_back(world().members[i].device);
  }
  return out;
}

void check_proposal(const domain::ConvState& conv, DeviceId actor,
                    const domain::CachedProposal& p) {
  const domain::MemberState* me = conv.member(actor);
  if (!me || p.sender_leaf != me->leaf) fail("a proposal accepted from another leaf");
  if (p.ref.empty()) fail("an accepted proposal without its ref");
}

void check_commit(const domain::Directory& s, const domain::ConvState& conv, DeviceId actor,
                  const domain::CommitArgs& args, const domain::handshake::MembershipChange& c) {
  const domain::MemberState* me = conv.member(actor);
  if (!me || c.committer_leaf != me->leaf) fail("a commit accepted from another leaf");
  if (c.adds.size() != c.added_professional.size() || c.removes.size() != c.removed_leaves.size() ||
      c.removes.size() != c.self_requested.size()) {
    fail("a membership change whose lists disagree");
  }
  std::vector<DeviceId> added;
  for (const auto& [device, ref] : c.adds) {
    if (!s.identity.device(device)) fail("a commit adds an unknown device");
    added.push_back(device);
  }
  for (size_t i = 0; i < c.removes.size(); ++i) {
    if (conv.device_at(c.removed_leaves[i]) != c.removes[i]) {
      fail("a commit removes a device that is not at the removed leaf");
    }
  }
  auto sorted = [](std::vector<DeviceId> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  if (sorted(added) != sorted(args.add) || sorted(c.removes) != sorted(args.remove)) {
    fail("a commit accepted whose adds or removes differ from the declared ones");
  }
}

// A proposal as Conversations::send reads it: the relay's facts, then the public view; once both
// accept it the conversation remembers it (for commits by reference).
bool propose(const domain::Directory& s, domain::ConvState& conv, DeviceId actor,
             std::string_view payload) {
  auto p = domain::handshake::read_proposal(s, conv, actor, payload, kNowS);
  if (trace()) std::fprintf(stderr, "  proposal: %s\n", p ? "ok" : p.error().message.c_str());
  if (!p) return false;
  check_proposal(conv, actor, *p);
  auto view = domain::public_groups::check_proposal(conv, payload);
  if (trace()) std::fprintf(stderr, "  view: %s\n", view ? "ok" : view.error().message.c_str());
  if (!view) return false;
  if (*view) conv.public_group = std::move(*view);
  conv.proposals.push_back(std::move(*p));
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const domain::Directory s = directory();
  if (size < kHandshakeHeader) return 0;
  const World& w = world();
  const uint8_t mode = data[0] % kModes;
  const bool direct = data[1] & 1;
  const DeviceId actor = w.members[(data[1] >> 1) & 3].device;
  const DeviceId proposer = w.members[data[4] & 3].device;
  Reader r{std::string_view(reinterpret_cast<const char*>(data) + kHandshakeHeader,
                            size - kHandshakeHeader)};
  switch (mode) {
    case kKeyPackage: {
      auto kp = domain::mls_checks::key_package(r.in, kNowS, domain::handshake::kLifetimeSkewS);
      if (kp && (kp->ref.size() != 32 || kp->signature_key.size() != 32)) {
        fail("a key package accepted with a ref or key of the wrong size");
      }
      return 0;
    }
    case kHandshake: {
      auto f = domain::mls_checks::handshake(r.in, kNowS, domain::handshake::kLifetimeSkewS);
      if (f && !f->is_commit && f->by_value.size() != 1) fail("a proposal read as several");
      return 0;
    }
    case kWelcome:
      (void)domain::mls_checks::welcome_targets(r.in);
      return 0;
    default:
      break;
  }
  const auto& conversations = relay().conversations().all();
  const auto it = conversations.find(direct ? w.direct : w.group);
  if (it == conversations.end()) fail("the world lost a conversation");
  domain::ConvState conv = it->second;
  if (mode == kApplication) {
    (void)domain::handshake::check_application(conv, r.in);
    return 0;
  }
  if (mode == kProposal) {
    (void)propose(s, conv, actor, r.in);
    return 0;
  }
  if (mode == kProposalCommit) (void)propose(s, conv, proposer, r.sized());
  domain::CommitArgs args;
  args.conv = conv.id;
  args.epoch = data[3] == 0 ? conv.epoch : data[3] - 1u;
  args.add = devices(data[2] & 15);
  args.remove = devices(data[2] >> 4);
  args.commit = std::string(r.sized());
  args.welcome = std::string(r.in);
  auto c = domain::handshake::read_commit(s, conv, actor, args, kNowS);
  if (trace()) std::fprintf(stderr, "  commit: %s\n", c ? "ok" : c.error().message.c_str());
  if (!c) return 0;
  check_commit(s, conv, actor, args, *c);
  auto view = domain::public_groups::check_commit(s, conv, actor, args, kNowS);
  if (trace()) std::fprintf(stderr, "  view: %s\n", view ? "ok" : view.error().message.c_str());
  if (view && view->next && view->next->epoch() != conv.epoch + 1) {
    fail("the public view moved to another epoch than the next");
  }
  return 0;
}
