// cercle::mls::State: one member's view of an MLS group (RFC 9420) as an immutable value.
// Every operation that changes the group returns a new State and leaves the receiver intact,
// so a caller can keep the current state until the server has accepted a commit, and drop a
// state whose message was rejected. Commits and proposals are sent as PublicMessage (so the
// server can check membership changes, RFC 9750 6.4); application data as PrivateMessage.
// Thread-safety: State is immutable and thread-compatible; concurrent const calls are safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "cercle/mls/key_package.h"
#include "cercle/mls/key_schedule.h"
#include "cercle/mls/treekem.h"

namespace cercle::mls {

struct Member {
  uint32_t leaf_index = 0;
  Credential credential;
  Bytes signature_key;
};

// A proposal received (or sent) in the current epoch, which a commit may include by reference.
struct CachedProposal {
  Bytes ref;
  Proposal proposal;
  uint32_t sender = 0;
};

// What a member changes in its own leaf, in an Update proposal or in a commit's UpdatePath, beyond
// its fresh encryption key. Honest clients never set it: a member's identity does not change inside
// a group, and receivers refuse a changed credential (RFC 9420 5.3.1 leaves credential changes to
// the application). It exists so that tests can play a member who tries.
struct LeafChange {
  std::optional<Credential> credential = std::nullopt;
  std::optional<std::vector<Extension>> extensions = std::nullopt;
  std::optional<Capabilities> capabilities = std::nullopt;
  std::optional<SignaturePrivateKey> signer =
      std::nullopt;  // The leaf then carries (and is signed by) this key.
};

struct CommitOptions {
  // KeyPackages to add, each MLSMessage(KeyPackage) or a bare KeyPackage.
  std::vector<Bytes> add_key_packages;
  std::vector<uint32_t> remove_leaves;
  // Replaces the group context extensions (GroupContextExtensions proposal).
  std::optional<std::vector<Extension>> group_context_extensions;
  // External PSKs to inject (must be known to every member, see State::with_external_psk).
  std::vector<Bytes> external_psk_ids;
  // Include an UpdatePath even when the proposals do not require one.
  bool force_path = true;
  // Tests only: no UpdatePath even where RFC 9420 12.4 requires one (a GroupContextExtensions
  // commit as ts-mls 1.6 makes it, or a malicious member's pathless Remove).
  bool omit_path = false;
  // Commit the proposals received in this epoch (by reference).
  bool include_pending_proposals = true;
  // Which pending proposals to commit when include_pending_proposals is set (all when unset): a
  // client commits only those its application's rules allow.
  std::function<bool(const CachedProposal&)> pending_filter;
  // Further proposals carried by value, of any type (tests play malicious members with them).
  std::vector<Proposal> extra_proposals;
  // Changes to the committer's leaf in the UpdatePath (see LeafChange; tests only).
  std::optional<LeafChange> path_leaf;
  Bytes authenticated_data;
};

// How a group starts (State::create).
struct CreateOptions {
  std::vector<Extension> group_context_extensions;
  // Non-default extension types the application supports, advertised in the creator's leaf as in
  // its KeyPackages (KeyPackageOptions::extension_types); those of group_context_extensions are
  // advertised too.
  std::vector<uint16_t> extension_types;
  // Extensions of the creator's leaf (their types are advertised in its capabilities too), as its
  // KeyPackages would carry them: an application that marks every leaf marks the creator's too.
  std::vector<Extension> leaf_extensions;
};

enum class ContentKind { kApplication, kProposal, kCommit };

struct CommitOutput;
struct ProposalOutput;
struct ProcessOutput;
struct ResolvedProposal;
struct AppliedProposals;
struct NextEpoch;

class State {
 public:
  // Creates a one-member group at epoch 0. kInvalid if the extensions are inconsistent (a group
  // context extension the creator's leaf does not support, a leaf extension given twice).
  static Result<State> create(Bytes group_id, const Credential& credential,
                              SignaturePrivateKey signer, CreateOptions options);
  static Result<State> create(Bytes group_id, const Credential& credential,
                              SignaturePrivateKey signer, std::vector<Extension> gce = {});
  // Joins from MLSMessage(Welcome) with the KeyPackage it was made for. The ratchet tree comes
  // from the GroupInfo's ratchet_tree extension unless given. `external_psks` resolves PSKs the
  // Welcome refers to. kNotFound if the Welcome is not for this KeyPackage; kVerify on any bad
  // signature, tag or hash.
  static Result<State> join(BytesView welcome, const KeyPackageBundle& key_package,
                            std::optional<BytesView> ratchet_tree = {},
                            const std::vector<std::pair<Bytes, Bytes>>& external_psks = {});

  // Builds a Commit; see CommitOutput. kInvalid for an invalid proposal list.
  Result<CommitOutput> commit(const CommitOptions& options) const;
  // Proposals (sent as PublicMessage); the returned state caches them for a later commit.
  // propose_remove(own_leaf()) is how a member leaves: another member commits it.
  Result<ProposalOutput> propose_remove(uint32_t leaf) const;
  Result<ProposalOutput> propose_update(const LeafChange& change = {}) const;
  // Any proposal, by value, as a PublicMessage. kInvalid for an ExternalInit (never proposed).
  Result<ProposalOutput> propose(Proposal proposal) const;
  // The proposals received in this epoch, not yet committed.
  const std::vector<CachedProposal>& pending_proposals() const { return proposals_; }
  Result<ProposalOutput> propose_add(BytesView key_package) const;
  // Processes an incoming MLSMessage (PublicMessage or PrivateMessage) of the current epoch.
  Result<ProcessOutput> process(BytesView mls_message) const;
  // Encrypts application data as MLSMessage(PrivateMessage); returns it with the new state
  // (the sender's ratchet advanced).
  Result<std::pair<Bytes, State>> encrypt(BytesView plaintext, BytesView authenticated_data = {},
                                          size_t padding = 0) const;

  uint64_t epoch() const { return context_.epoch; }
  Bytes epoch_authenticator() const { return secrets_.epoch_authenticator.copy_bytes(); }
  // MLS-Exporter(label, context, length); kLimit if length > 255 * 32.
  Result<Bytes> export_secret(std::string_view label, BytesView context, size_t length) const;
  std::vector<Member> members() const;
  uint32_t own_leaf() const { return priv_.own_leaf(); }
  const Bytes& group_id() const { return context_.group_id; }
  std::vector<Extension> group_context_extensions() const { return context_.extensions; }
  const GroupContext& group_context() const { return context_; }
  const RatchetTree& tree() const { return *tree_; }
  // Set by join(): the leaf of the member who signed the Welcome's GroupInfo (the committer who
  // added us), so that the joiner can check they were allowed to. Read it right after join():
  // states derived from that one keep it, and it is not serialised (nullopt after deserialize()).
  std::optional<uint32_t> joined_from() const { return joined_from_; }
  // Returns a copy that also knows an external PSK (for PreSharedKey proposals / Welcomes).
  State with_external_psk(Bytes id, Bytes psk) const;

  // Whole state for local storage (holds private keys: store encrypted).
  Bytes serialize() const;
  static Result<State> deserialize(BytesView data);

 private:
  friend struct CommitOutput;
  friend struct ProposalOutput;
  friend struct ProcessOutput;
  // Lets the fuzz fixture act as a malicious insider (sign and MAC arbitrary content).
  friend struct FuzzAccess;
  State() = default;
  Result<AppliedProposals> apply_proposals(const std::vector<ResolvedProposal>& proposals,
                                           uint32_t committer) const;
  Result<std::vector<PskWithId>> resolve_psks(const std::vector<PreSharedKeyId>& ids) const;
  NextEpoch next_epoch(const RatchetTree& tree, const std::vector<Extension>& extensions,
                       const AuthenticatedContent& commit, const Secret& commit_secret,
                       const Secret& psk_secret) const;
  State successor(const NextEpoch& next, RatchetTree tree, PrivateTree priv) const;
  Result<std::vector<ResolvedProposal>> resolve_commit(const Commit& commit,
                                                       uint32_t committer) const;
  Result<ProcessOutput> process_commit(const AuthenticatedContent& content) const;
  Result<Secret> merge_update_path(RatchetTree& tree, PrivateTree& priv, uint32_t committer,
                                   const UpdatePath& path, const AppliedProposals& applied) const;
  Result<ProcessOutput> process_proposal(const AuthenticatedContent& content) const;
  Result<AuthenticatedContent> unprotect(const MlsMessage& message, State& next) const;
  Result<ProposalOutput> send_proposal(Proposal proposal,
                                       std::optional<HpkePrivateKey> new_key) const;
  Result<std::vector<ProposalOrRef>> commit_proposal_list(const CommitOptions& options) const;
  Result<Bytes> make_welcome(const State& next, const AppliedProposals& applied,
                             const std::optional<PreparedPath>& path,
                             const std::vector<PskWithId>& psks) const;
  static Result<State> join_from_secrets(const GroupInfo& info, RatchetTree tree,
                                         const KeyPackageBundle& kp, const KeyPackage& decoded,
                                         const GroupSecrets& secrets, const Secret& psk_secret);

  GroupContext context_;
  // Shared between the states of one epoch (copies of a State are cheap); never mutated.
  std::shared_ptr<const RatchetTree> tree_ = std::make_shared<const RatchetTree>();
  PrivateTree priv_;
  SignaturePrivateKey signer_;
  EpochSecrets secrets_;
  SecretTree secret_tree_;
  Bytes interim_transcript_hash_;
  std::vector<CachedProposal> proposals_;
  // Private keys of our own Update proposals, by public key, until one is committed.
  std::vector<HpkePrivateKey> pending_update_keys_;
  std::map<uint64_t, Secret> resumption_psks_;
  std::map<Bytes, Secret> external_psks_;
  std::optional<uint32_t> joined_from_;
};

struct CommitOutput {
  Bytes message;                 // MLSMessage(PublicMessage) carrying the Commit
  std::optional<Bytes> welcome;  // MLSMessage(Welcome) when members were added
  std::vector<uint32_t> added_leaves;
  // The group's next state; adopt it only once the server has accepted `message`.
  State pending;
};

struct ProposalOutput {
  Bytes message;  // MLSMessage(PublicMessage) carrying the Proposal
  State state;    // remembers the proposal (and any new private key)
};

// What a group's creator states with its first commit so that a party holding none of the group's
// secrets (the relay) can follow the group's public state from its start
// (PublicGroup::from_genesis, cercle.proto GroupGenesis): the epoch-0 interim transcript hash
// derives from a secret, so the confirmed transcript hash after that commit is given too.
struct Genesis {
  Bytes group_context;              // The epoch-0 GroupContext, MLS-encoded.
  Bytes ratchet_tree;               // The epoch-0 tree, ratchet_tree extension encoding.
  Bytes confirmed_transcript_hash;  // Epoch 1's, once the first commit is applied.
};

// The genesis of `before` (the creator's group at epoch 0) whose first commit gave `after`
// (CommitOutput::pending).
Genesis genesis(const State& before, const State& after);

struct ProcessOutput {
  ContentKind kind = ContentKind::kApplication;
  uint32_t sender = 0;     // leaf index of the sender
  Bytes application_data;  // kApplication only
  Bytes authenticated_data;
  // True when the commit removed this member: `state` is then the unchanged old state and the
  // group must be left.
  bool removed = false;
  // kCommit: the proposals it applied, each with its proposer (the committer for those carried by
  // value; `ref` empty then), so that the application can check them against its own rules.
  std::vector<CachedProposal> proposals;
  State state;
};

}  // namespace cercle::mls
