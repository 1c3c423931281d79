// Secret tree generation limits and key deletion (RFC 9420 9.1-9.2).
#include "cercle/mls/key_schedule.h"

#include <gtest/gtest.h>

namespace cercle::mls {
namespace {

Secret root() { return Secret(Bytes(32, 7)); }

TEST(SecretTree, OutOfOrderWithinWindowThenReplayRefused) {
  SecretTree sender(root(), 4);
  SecretTree receiver(root(), 4);
  std::vector<KeyAndNonce> sent;
  for (int i = 0; i < 5; ++i) sent.push_back(sender.next(2, RatchetKind::kApplication).value());
  auto k4 = receiver.get(2, RatchetKind::kApplication, 4);
  ASSERT_TRUE(k4.ok());
  EXPECT_EQ(k4->key, sent[4].key);
  auto k1 = receiver.get(2, RatchetKind::kApplication, 1);
  ASSERT_TRUE(k1.ok());
  EXPECT_EQ(k1->nonce, sent[1].nonce);
  EXPECT_EQ(receiver.get(2, RatchetKind::kApplication, 1).error().code, Errc::kLimit);
  EXPECT_EQ(receiver.get(2, RatchetKind::kApplication, 4).error().code, Errc::kLimit);
  // Handshake and application ratchets are independent.
  EXPECT_TRUE(receiver.get(2, RatchetKind::kHandshake, 0).ok());
}

TEST(SecretTree, ForwardJumpLimitAndSkippedKeyWindow) {
  SecretTree tree(root(), 2);
  EXPECT_EQ(tree.get(0, RatchetKind::kApplication, kMaxForwardGenerations + 1).error().code,
            Errc::kLimit);
  ASSERT_TRUE(tree.get(0, RatchetKind::kApplication, kMaxForwardGenerations).ok());
  // Only the most recent kMaxSkippedKeys skipped keys are kept.
  EXPECT_EQ(tree.get(0, RatchetKind::kApplication, 0).error().code, Errc::kLimit);
  EXPECT_TRUE(tree.get(0, RatchetKind::kApplication, kMaxForwardGenerations - 1).ok());
  EXPECT_EQ(tree.get(5, RatchetKind::kApplication, 0).error().code, Errc::kInvalid);
}

TEST(SecretTree, SerializeKeepsPosition) {
  SecretTree tree(root(), 8);
  ASSERT_TRUE(tree.get(3, RatchetKind::kApplication, 2).ok());
  Writer w;
  tree.encode(w);
  auto restored = decode_exact<SecretTree>(w.bytes());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->get(3, RatchetKind::kApplication, 2).error().code, Errc::kLimit);
  EXPECT_EQ(restored->get(3, RatchetKind::kApplication, 1)->key,
            tree.get(3, RatchetKind::kApplication, 1)->key);
}

}  // namespace
}  // namespace cercle::mls
