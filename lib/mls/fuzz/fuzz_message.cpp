// libFuzzer target: the MLSMessage decoder and the other top-level decoders, plus the inspect
// helpers. Invariant: whatever decodes re-encodes to the same bytes (the codec is canonical).
#include <cstdlib>

#include "cercle/mls/inspect.h"
#include "cercle/mls/key_package.h"
#include "cercle/mls/tree.h"

using namespace cercle::mls;

template <typename T>
static void round_trip(BytesView data) {
  auto v = decode_exact<T>(data);
  if (v.ok() && encode(*v) != Bytes(data.begin(), data.end())) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  BytesView in(data, size);
  round_trip<MlsMessage>(in);
  round_trip<RatchetTreeData>(in);
  round_trip<GroupInfo>(in);
  round_trip<Commit>(in);
  round_trip<AuthenticatedContent>(in);
  auto tree = RatchetTree::decode_bytes(in);
  if (tree.ok()) {
    (void)tree->root_hash();
    (void)tree->validate(to_bytes("g"));
  }
  (void)inspect::public_message_info(in);
  (void)inspect::commit_summary(in);
  (void)inspect::proposal_summary(in);
  (void)inspect::welcome_targets(in);
  auto kp = parse_key_package(in);
  if (kp.ok()) (void)validate_key_package(*kp, 0);
  return 0;
}
