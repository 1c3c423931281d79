// Array-based tree arithmetic of RFC 9420 appendix C. Node indices: leaves are even (2 * leaf),
// parents odd. The ratchet tree always has a power-of-two number of leaves.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace cercle::mls::tree_math {

inline uint32_t level(uint32_t x) {
  uint32_t k = 0;
  while ((x >> k) & 1) ++k;
  return k;
}
inline uint32_t log2_floor(uint32_t x) {
  uint32_t k = 0;
  while ((x >> (k + 1)) > 0) ++k;
  return k;
}
inline uint32_t node_width(uint32_t n_leaves) { return n_leaves == 0 ? 0 : 2 * (n_leaves - 1) + 1; }
inline uint32_t root(uint32_t n_leaves) { return (1u << log2_floor(node_width(n_leaves))) - 1; }
inline bool is_leaf(uint32_t x) { return (x & 1) == 0; }
inline uint32_t leaf_to_node(uint32_t leaf) { return 2 * leaf; }
inline uint32_t node_to_leaf(uint32_t node) { return node / 2; }
inline std::optional<uint32_t> left(uint32_t x) {
  uint32_t k = level(x);
  if (k == 0) return std::nullopt;
  return x ^ (1u << (k - 1));
}
inline std::optional<uint32_t> right(uint32_t x) {
  uint32_t k = level(x);
  if (k == 0) return std::nullopt;
  return x ^ (3u << (k - 1));
}
inline uint32_t parent_step(uint32_t x) {
  uint32_t k = level(x);
  uint32_t b = (x >> (k + 1)) & 1;
  return (x | (1u << k)) ^ (b << (k + 1));
}
inline std::optional<uint32_t> parent(uint32_t x, uint32_t n_leaves) {
  if (x == root(n_leaves) || x >= node_width(n_leaves)) return std::nullopt;
  uint32_t p = parent_step(x);
  while (p >= node_width(n_leaves)) p = parent_step(p);
  return p;
}
inline std::optional<uint32_t> sibling(uint32_t x, uint32_t n_leaves) {
  auto p = parent(x, n_leaves);
  if (!p) return std::nullopt;
  return x < *p ? right(*p) : left(*p);
}
// Direct path of x, from its parent up to the root.
inline std::vector<uint32_t> direct_path(uint32_t x, uint32_t n_leaves) {
  std::vector<uint32_t> out;
  for (auto p = parent(x, n_leaves); p; p = parent(*p, n_leaves)) out.push_back(*p);
  return out;
}
// Copath: sibling of x and of each direct-path node except the root.
inline std::vector<uint32_t> copath(uint32_t x, uint32_t n_leaves) {
  std::vector<uint32_t> out;
  std::vector<uint32_t> path = {x};
  auto dp = direct_path(x, n_leaves);
  if (!dp.empty()) dp.pop_back();
  path.insert(path.end(), dp.begin(), dp.end());
  for (uint32_t y : path) out.push_back(*sibling(y, n_leaves));
  return out;
}
// Whether node y lies in the subtree rooted at x.
inline bool in_subtree(uint32_t x, uint32_t y) {
  uint32_t half = (1u << level(x)) - 1;
  return y >= x - half && y <= x + half;
}
inline uint32_t common_ancestor(uint32_t x, uint32_t y) {
  uint32_t lx = level(x) + 1, ly = level(y) + 1;
  if (lx <= ly && (x >> ly) == (y >> ly)) return y;
  if (ly <= lx && (x >> lx) == (y >> lx)) return x;
  uint32_t xn = x, yn = y, k = 0;
  while (xn != yn) {
    xn >>= 1;
    yn >>= 1;
    ++k;
  }
  return (xn << k) + (1u << (k - 1)) - 1;
}

}  // namespace cercle::mls::tree_math
