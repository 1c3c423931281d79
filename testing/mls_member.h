// MlsMember: one device's side of MLS (client/mls) for tests that need real handshake messages:
// KeyPackages the relay accepts, commits and Welcomes it can read, application messages. The
// device's Ed25519 key signs its MLS leaves too; the credential is the account's handle. A member
// may be in several groups; each group's MLS group id is its conversation id.
// One thread; values only. Failures of MLS operations throw std::runtime_error (tests only).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cercle/mls/state.h"
#include "proto/cercle.pb.h"

namespace cercle::testing {

class MlsMember {
 public:
  // `secret_key`: a libsodium Ed25519 secret key (64 bytes: seed then public key).
  MlsMember(std::string handle, const unsigned char* secret_key);

  // A fresh KeyPackage (MLSMessage); its private keys are kept to join from a Welcome later. A
  // professional's packages say so in their leaf (the relay checks it against the account).
  std::string key_package(bool professional = false);

  // Creates the group of conversation `conv` with this member alone.
  void create(const std::string& conv);

  struct Commit {
    std::string message;  // MLSMessage(PublicMessage)
    std::string welcome;  // Empty when nobody is added.
    // A group's first commit (from epoch 0): the group's start, which the relay requires with it
    // (mls::genesis, server/domain/public_groups.h). Tests of a missing or false one change it.
    std::optional<v1::GroupGenesis> genesis;
  };
  // Builds a commit on the group's current epoch; adopt() makes it current once the relay
  // accepted it, discard() forgets it.
  // `policy`: a new encoded GroupPolicy (a GroupContextExtensions proposal); `data`: the commit's
  // authenticated data (an encoded CommitData).
  Commit commit(const std::string& conv, const std::vector<std::string>& add_key_packages,
                const std::vector<uint32_t>& remove_leaves = {},
                const std::optional<std::string>& policy = std::nullopt,
                const std::string& data = {});
  // A commit whose GroupContextExtensions proposal carries no extension at all (no rules).
  Commit commit_without_extensions(const std::string& conv);
  // The group's current policy (encoded), or nullopt.
  std::optional<std::string> policy(const std::string& conv) const;
  void adopt(const std::string& conv);
  void discard(const std::string& conv);
  // A proposal to remove `leaf` (a member leaving proposes its own removal).
  std::string propose_remove(const std::string& conv, uint32_t leaf);

  // Joins from a Welcome made for one of this member's KeyPackages. False on failure.
  bool join(const std::string& conv, const std::string& welcome);
  // Processes a handshake message of the group's current epoch. False on failure.
  bool process(const std::string& conv, const std::string& message);
  // An application message (PrivateMessage); `authenticated_data` travels in the clear with it.
  std::string encrypt(const std::string& conv, const std::string& text,
                      const std::string& authenticated_data = {});
  // An application message of exactly `size` bytes (for tests of payload limits), its text made of
  // `fill`. Throws if no message has that size.
  std::string encrypt_sized(const std::string& conv, size_t size, char fill = 'x');
  std::optional<std::string> decrypt(const std::string& conv, const std::string& message);

  bool in_group(const std::string& conv) const { return groups_.contains(conv); }
  uint64_t epoch(const std::string& conv) const;
  uint32_t leaf(const std::string& conv) const;
  std::string epoch_authenticator(const std::string& conv) const;
  // The leaf of the member whose credential is `handle` (first match), or -1.
  int64_t leaf_of(const std::string& conv, const std::string& handle) const;

  // Playing a malicious member, for tests of what the relay refuses. Messages are signed (and
  // tagged, where the library makes them) with this member's keys unless said otherwise.
  const mls::SignaturePrivateKey& signer() const { return signer_; }
  const mls::State& state(const std::string& conv) const { return group(conv); }
  // Any proposal by value (a PublicMessage); adopt() it once the relay accepted it (the member's
  // state then remembers it), else discard() it.
  std::string propose(const std::string& conv, const mls::Proposal& proposal);
  // An Update proposal of this member's leaf changed as `change` says; adopt() or discard() it.
  std::string propose_update(const std::string& conv, const mls::LeafChange& change = {});
  // The leaf an honest Update of this member would carry (fresh encryption key), not signed yet.
  mls::LeafNode update_leaf(const std::string& conv) const;
  // Signs `leaf` as this member's leaf in `conv` (with `key`, else the member's own).
  void sign_leaf(const std::string& conv, mls::LeafNode& leaf,
                 const mls::SignaturePrivateKey* key = nullptr) const;
  // A commit with any options; adopt() or discard() it as commit()'s.
  Commit commit_with(const std::string& conv, const mls::CommitOptions& options);
  // `message` (a PublicMessage) with its content changed by `edit` and signed again for the
  // group's current epoch with `key` (else the member's own). The membership tag and any
  // confirmation tag stay as they were: the relay cannot check them, members would refuse them.
  std::string resign(const std::string& conv, const std::string& message,
                     const std::function<void(mls::FramedContent&)>& edit,
                     const mls::SignaturePrivateKey* key = nullptr) const;
  // A copy of a PrivateMessage whose cleartext content type says `type` (its ciphertext no longer
  // opens: only the relay, which cannot open it anyway, is fooled).
  static std::string relabel(const std::string& private_message, mls::ContentType type);

 private:
  const mls::State& group(const std::string& conv) const;
  // Keeps `out.pending` until adopt() or discard() and returns what is sent.
  Commit pending(const std::string& conv, mls::CommitOutput out);

  std::string handle_;
  mls::SignaturePrivateKey signer_;
  std::map<std::string, mls::State> groups_;
  std::map<std::string, mls::State> pending_;
  std::vector<mls::KeyPackageBundle> bundles_;
};

// For tests about the relay's mechanics rather than the group rules: the policy a commit by
// `committer` carries so that it is allowed: the current one (or a new group's first) in which the
// committer and every handle in `added` facilitate. nullopt when nothing needs to change.
std::optional<std::string> facilitating_policy(const std::optional<std::string>& current,
                                               const std::string& committer,
                                               const std::vector<std::string>& added);

}  // namespace cercle::testing
