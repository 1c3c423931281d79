// libFuzzer target: processing an arbitrary message against a fixed group state (and a few
// other entry points that take untrusted bytes: join, state restore). The first input byte
// selects the entry point; modes 4 and 5 decode a Proposal / Commit from the input and have a
// member (alice) sign and MAC it, so the insider-attack paths are reached.
#include "lib/mls/fuzz/fuzz_fixture.h"

using namespace cercle::mls;

static const fuzz::Fixture& fixture() {
  static const fuzz::Fixture f = [] {
    fuzz::use_deterministic_random();
    return fuzz::make_fixture();
  }();
  return f;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& f = fixture();
  if (size == 0) return 0;
  BytesView in(data + 1, size - 1);
  switch (data[0] % 6) {
    case 0: {
      // Process after the earlier sample messages too, to reach commits by reference.
      State s = f.bob;
      auto r = s.process(in);
      if (r.ok()) (void)r->state.serialize();
      break;
    }
    case 1: {
      State s = f.bob;
      for (size_t i = 0; i + 1 < f.messages_for_bob.size(); ++i) {
        auto r = s.process(f.messages_for_bob[i]);
        if (r.ok()) s = r->state;
      }
      (void)s.process(in);
      break;
    }
    case 2:
      (void)State::join(in, f.carol_kp);
      break;
    case 4:
    case 5: {
      FramedContent fc;
      if (data[0] % 6 == 4) {
        auto p = decode_exact<Proposal>(in);
        if (!p.ok()) break;
        fc.content = std::move(*p);
      } else {
        auto c = decode_exact<Commit>(in);
        if (!c.ok()) break;
        fc.content = std::move(*c);
      }
      Bytes msg = FuzzAccess::frame_as_member(f.alice, std::move(fc));
      auto r = f.bob.process(msg);
      if (r.ok()) {
        CommitOptions opts;
        (void)r->state.commit(opts);
      }
      break;
    }
    default: {
      auto s = State::deserialize(in);
      if (s.ok()) (void)s->members();
      break;
    }
  }
  return 0;
}
