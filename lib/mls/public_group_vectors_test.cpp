// PublicGroup against the official RFC 9420 test vectors (tests/vectors/mls, cipher suite 3): a
// public view that follows the same messages as a passive client must reach the same GroupContext
// (epoch, tree hash, confirmed transcript hash, extensions) and ratchet tree; UpdatePaths merged
// publicly must give the tree hash the treekem vectors state.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "cercle/mls/key_package.h"
#include "cercle/mls/public_group.h"
#include "cercle/mls/state.h"
#include "cercle/mls/tree_math.h"

namespace cercle::mls {
namespace {

namespace json = boost::json;

std::vector<json::object> suite3_entries(const std::string& name) {
  std::ifstream in(std::string(CERCLE_MLS_VECTORS_DIR) + "/" + name + ".json");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<json::object> out;
  const json::value root = json::parse(ss.str());
  for (const auto& e : root.as_array()) {
    const auto& o = e.as_object();
    if (o.at("cipher_suite").as_int64() == 3) out.push_back(o);
  }
  return out;
}

Bytes hex(const json::value& v) { return from_hex(std::string(v.as_string())).value(); }
Bytes hex(const json::object& o, const char* key) { return hex(o.at(key)); }

State join(const json::object& v) {
  KeyPackageBundle bundle{hex(v, "key_package"),
                          HpkePrivateKey::from_private(hex(v, "init_priv")).value(),
                          HpkePrivateKey::from_private(hex(v, "encryption_priv")).value(),
                          SignaturePrivateKey::from_seed(hex(v, "signature_priv")).value()};
  std::vector<std::pair<Bytes, Bytes>> psks;
  for (const auto& p : v.at("external_psks").as_array()) {
    psks.emplace_back(hex(p.as_object(), "psk_id"), hex(p.as_object(), "psk"));
  }
  std::optional<Bytes> tree;
  if (!v.at("ratchet_tree").is_null()) tree = hex(v, "ratchet_tree");
  std::optional<BytesView> tree_view;
  if (tree) tree_view = BytesView(*tree);
  return State::join(hex(v, "welcome"), bundle, tree_view, psks).value();
}

// Follows one passive-client entry; returns how many epochs the view computed on its own (every
// commit after the first, whose confirmed transcript hash the view takes from the client).
int follow(const json::object& v) {
  State client = join(v);
  auto view = PublicGroup::create(client.group_context(), client.tree(), std::nullopt);
  EXPECT_TRUE(view.ok()) << view.error().message;
  if (!view.ok()) return 0;
  int computed = 0;
  for (const auto& ev : v.at("epochs").as_array()) {
    const auto& e = ev.as_object();
    for (const auto& p : e.at("proposals").as_array()) {
      client = client.process(hex(p)).value().state;
      auto ac = view->verify(hex(p));
      EXPECT_TRUE(ac.ok()) << ac.error().message;
      auto next = view->add_proposal(*ac);
      EXPECT_TRUE(next.ok()) << next.error().message;
      *view = std::move(*next);
    }
    const bool known = view->interim_transcript_hash().has_value();
    client = client.process(hex(e, "commit")).value().state;
    auto ac = view->verify(hex(e, "commit"));
    EXPECT_TRUE(ac.ok()) << ac.error().message;
    std::optional<BytesView> stated;
    if (!known) stated = client.group_context().confirmed_transcript_hash;
    auto applied = view->apply_commit(*ac, stated);
    EXPECT_TRUE(applied.ok()) << applied.error().message;
    if (!applied.ok()) return computed;
    *view = std::move(applied->next);
    EXPECT_EQ(view->context(), client.group_context());
    EXPECT_EQ(view->tree(), client.tree());
    if (known) ++computed;
  }
  return computed;
}

TEST(PublicGroupVectors, FollowsPassiveClientCommits) {
  auto entries = suite3_entries("passive-client-handling-commit");
  ASSERT_FALSE(entries.empty());
  int computed = 0;
  for (const auto& v : entries) computed += follow(v);
  // Every entry has at least two commits: from the second on, the view computes the transcript.
  EXPECT_GE(computed, static_cast<int>(entries.size()));
}

TEST(PublicGroupVectors, StartsFromEveryWelcomedGroup) {
  auto entries = suite3_entries("passive-client-welcome");
  ASSERT_FALSE(entries.empty());
  for (const auto& v : entries) {
    State client = join(v);
    auto view = PublicGroup::create(client.group_context(), client.tree(), std::nullopt);
    ASSERT_TRUE(view.ok()) << view.error().message;
    GroupContext wrong = client.group_context();
    wrong.tree_hash[0] ^= 1;
    EXPECT_EQ(PublicGroup::create(wrong, client.tree(), std::nullopt).error().code, Errc::kVerify);
  }
}

TEST(PublicGroupVectors, MergesTreeKemUpdatePaths) {
  auto entries = suite3_entries("treekem");
  ASSERT_FALSE(entries.empty());
  int merged = 0;
  for (const auto& v : entries) {
    auto tree = RatchetTree::decode_bytes(hex(v, "ratchet_tree")).value();
    for (const auto& upv : v.at("update_paths").as_array()) {
      const auto& up = upv.as_object();
      auto path = decode_exact<UpdatePath>(hex(up, "update_path")).value();
      RatchetTree after = tree;
      auto sender = static_cast<uint32_t>(up.at("sender").as_int64());
      auto s = merge_public_update_path(after, sender, path, hex(v, "group_id"), {});
      ASSERT_TRUE(s.ok()) << s.error().message;
      EXPECT_EQ(after.root_hash(), hex(up, "tree_hash_after"));
      ++merged;
      if (path.nodes.empty()) continue;
      // A path key changed in transit breaks the leaf's parent hash.
      path.nodes.front().encryption_key[0] ^= 1;
      RatchetTree tampered = tree;
      EXPECT_EQ(
          merge_public_update_path(tampered, sender, path, hex(v, "group_id"), {}).error().code,
          Errc::kVerify);
    }
  }
  EXPECT_GT(merged, 0);
}

}  // namespace
}  // namespace cercle::mls
