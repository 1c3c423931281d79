// PublicGroup: an MLS group's public state (RFC 9420), as a party that holds none of its secrets
// can follow it: the ratchet tree, the GroupContext and the interim transcript hash, plus the
// proposals of the current epoch. It authenticates every member PublicMessage (the signature over
// FramedContentTBS, RFC 9420 6.1, which needs the GroupContext) and moves to the next epoch with
// each commit it accepts: proposals applied by value and by reference, the UpdatePath's public keys
// and leaf merged with parent hashes checked (7.9), tree hash and both transcript hashes recomputed
// (8.2). It cannot check membership tags or confirmation tags (they are MACs under epoch secrets),
// nor the encrypted path secrets.
//
// The relay keeps one per conversation so that it refuses a proposal or commit that is not signed
// by its sender's leaf before any member processes it. The checks on proposals and UpdatePaths are
// those a receiving member makes (state_commit.cpp, state_process.cpp) that need no secret, so that
// the view never refuses what honest members accept.
//
// A group followed from its creation cannot know its epoch-0 interim transcript hash (it is derived
// from the epoch-0 confirmation tag, a MAC under a secret): the first commit is then applied with
// the confirmed transcript hash its committer states (see apply_commit).
//
// Thread-safety: an immutable value; every change returns a new PublicGroup.
#pragma once

#include <optional>
#include <vector>

#include "cercle/mls/messages.h"
#include "cercle/mls/result.h"
#include "cercle/mls/tree.h"

namespace cercle::mls {

// Clock skew tolerated on the lifetime of an added KeyPackage: what receiving members tolerate.
inline constexpr uint64_t kPublicLifetimeSkewSeconds = 24 * 3600;
// Proposals remembered per epoch, in number and in encoded bytes: more are refused (kLimit), so
// that one epoch cannot grow the view without bound (honest proposals are a few hundred bytes).
inline constexpr size_t kMaxPublicProposals = 256;
inline constexpr size_t kMaxPublicProposalBytes = 256 * 1024;

struct PublicCommit;

// A member as the ratchet tree shows it: its leaf index and leaf node (credential, signature and
// encryption keys, extensions). `node` points into the PublicGroup it was read from.
struct PublicMember {
  uint32_t leaf = 0;
  const LeafNode* node = nullptr;
};

class PublicGroup {
 public:
  // No group (epoch 0, empty tree): a placeholder until one of the factories below gives one.
  PublicGroup() = default;
  // A group at any epoch from its public state; `interim_transcript_hash` is nullopt when unknown.
  // kInvalid when the tree hash does not match `context` or the tree is invalid (RFC
  // 9420 12.4.3.1).
  static Result<PublicGroup> create(GroupContext context, RatchetTree tree,
                                    std::optional<Bytes> interim_transcript_hash);
  // A new group at epoch 0, from its creator's encoded GroupContext and ratchet tree (ratchet_tree
  // extension encoding): the group id must be `group_id`, the tree one valid leaf at index 0 whose
  // hash is the context's, the confirmed transcript hash empty. The interim transcript hash is
  // unknown (see above). Errors: kDecode, kInvalid, kVerify (leaf signature, tree hash),
  // kUnsupported (version or cipher suite).
  static Result<PublicGroup> from_genesis(BytesView group_context, BytesView ratchet_tree,
                                          BytesView group_id);

  // Decodes an MLSMessage and authenticates it as a member's proposal or commit of this group's
  // current epoch: signed by the key of the sender's leaf over this epoch's GroupContext. The
  // membership tag is not checked (it needs the membership key). Errors: kDecode (malformed),
  // kWrongEpoch (another group or epoch), kInvalid (not a PublicMessage, application content, blank
  // sender leaf, confirmation tag of the wrong size), kUnsupported (non-member sender, other
  // version), kVerify (bad signature).
  Result<AuthenticatedContent> verify(BytesView mls_message) const;

  // Checks a verified proposal alone (as a receiving member does) and returns the group that
  // remembers it for this epoch's commits. Errors: kInvalid, kVerify, kUnsupported, kLimit.
  Result<PublicGroup> add_proposal(const AuthenticatedContent& proposal) const;

  // Applies a verified commit; returns the next epoch's group. `confirmed_transcript_hash` is
  // required when the interim transcript hash is unknown (a group's first commit) and then taken as
  // the next epoch's; otherwise, if given, it must equal the computed one (kVerify). `now_s`: time
  // for KeyPackage lifetimes (skipped when nullopt). Errors: kInvalid (proposal list or UpdatePath
  // members would refuse, missing path), kNotFound (a proposal reference unknown in this epoch),
  // kVerify (leaf signature, parent hash), kUnsupported (ReInit).
  Result<PublicCommit> apply_commit(const AuthenticatedContent& commit,
                                    std::optional<BytesView> confirmed_transcript_hash = {},
                                    std::optional<uint64_t> now_s = {}) const;

  const GroupContext& context() const { return context_; }
  uint64_t epoch() const { return context_.epoch; }
  const RatchetTree& tree() const { return tree_; }
  const std::optional<Bytes>& interim_transcript_hash() const { return interim_; }
  size_t pending_proposals() const { return proposals_.size(); }
  // The members, in leaf order (blank leaves skipped): who the relay's view says is in the group.
  std::vector<PublicMember> members() const;
  // The leaf whose signature key is `signature_key`, if a member's (a tree holds each key once).
  std::optional<uint32_t> leaf_of(BytesView signature_key) const;

  // For storage: context, tree and interim transcript hash (public values). The proposals of the
  // epoch are not kept: a commit referring to one after a reload is refused (kNotFound).
  Bytes serialize() const;
  static Result<PublicGroup> deserialize(BytesView data);

 private:
  struct Cached {
    Bytes ref;
    Proposal proposal;
    uint32_t sender = 0;
  };
  struct Resolved {
    const Proposal* proposal = nullptr;
    uint32_t sender = 0;
  };
  Result<std::vector<Resolved>> resolve(const Commit& commit, uint32_t committer) const;

  GroupContext context_;
  RatchetTree tree_;
  std::optional<Bytes> interim_;
  std::vector<Cached> proposals_;
  size_t proposal_bytes_ = 0;
};

// A commit applied to a PublicGroup.
struct PublicCommit {
  PublicGroup next;
  uint32_t committer = 0;
  std::vector<uint32_t> added_leaves;     // Leaves the Adds took, in commit order.
  std::vector<Bytes> added_key_packages;  // Their KeyPackageRefs, parallel to added_leaves.
  std::vector<uint32_t> removed_leaves;   // In commit order.

  // The leaf the Add of the KeyPackage whose KeyPackageRef is `key_package_ref` took (RFC 9420
  // 12.1.1: the leftmost blank leaf once the commit's removes are applied), if the commit added it.
  std::optional<uint32_t> added_leaf(BytesView key_package_ref) const;
};

// Merges the public part of `path`, sent by `committer`, into `tree` (proposals already applied):
// checks the new leaf (signature, source commit, fits the group, fresh encryption key), that no
// path key repeats or is already in the tree, the path length against the filtered direct path, and
// the leaf's parent hash (RFC 9420 7.9). Errors: kInvalid, kVerify.
Status merge_public_update_path(RatchetTree& tree, uint32_t committer, const UpdatePath& path,
                                BytesView group_id, const std::vector<Extension>& extensions);

}  // namespace cercle::mls
