// Wire structures of RFC 9420 with their TLS codecs: credentials, leaf and parent nodes, key
// packages, proposals, commits, framing (PublicMessage, PrivateMessage), GroupInfo, Welcome
// and MLSMessage. decode() reads from a Reader and marks it failed on any malformed input;
// use decode_exact<T>() for a whole buffer.
// Thread-safety: plain value types, thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "cercle/mls/bytes.h"
#include "cercle/mls/codec.h"
#include "cercle/mls/hpke.h"

namespace cercle::mls {

enum class WireFormat : uint16_t {
  kPublicMessage = 1,
  kPrivateMessage = 2,
  kWelcome = 3,
  kGroupInfo = 4,
  kKeyPackage = 5
};
enum class ContentType : uint8_t { kApplication = 1, kProposal = 2, kCommit = 3 };
enum class SenderType : uint8_t {
  kMember = 1,
  kExternal = 2,
  kNewMemberProposal = 3,
  kNewMemberCommit = 4
};
enum class LeafNodeSource : uint8_t { kKeyPackage = 1, kUpdate = 2, kCommit = 3 };
enum class ProposalType : uint16_t {
  kAdd = 1,
  kUpdate = 2,
  kRemove = 3,
  kPsk = 4,
  kReInit = 5,
  kExternalInit = 6,
  kGroupContextExtensions = 7
};
inline constexpr uint16_t kCredentialBasic = 1;
inline constexpr uint16_t kCredentialX509 = 2;
inline constexpr uint16_t kExtApplicationId = 1;
inline constexpr uint16_t kExtRatchetTree = 2;
inline constexpr uint16_t kExtRequiredCapabilities = 3;
inline constexpr uint16_t kExtExternalPub = 4;
inline constexpr uint16_t kExtExternalSenders = 5;

struct Uint16 {
  uint16_t value = 0;
  void encode(Writer& w) const { w.u16(value); }
  static Uint16 decode(Reader& r) { return Uint16{r.u16()}; }
  bool operator==(const Uint16&) const = default;
};
struct Uint32 {
  uint32_t value = 0;
  void encode(Writer& w) const { w.u32(value); }
  static Uint32 decode(Reader& r) { return Uint32{r.u32()}; }
  bool operator==(const Uint32&) const = default;
};

struct Extension {
  uint16_t extension_type = 0;
  Bytes extension_data;
  void encode(Writer& w) const;
  static Extension decode(Reader& r);
  bool operator==(const Extension&) const = default;
};

// A credential. The group-state API only creates BasicCredentials (identity); X.509 chains are
// decoded and re-encoded so foreign messages round-trip.
struct Credential {
  Credential() = default;
  explicit Credential(Bytes basic_identity) : identity(std::move(basic_identity)) {}

  Bytes identity;
  uint16_t credential_type = kCredentialBasic;
  std::vector<Opaque> certificates;
  void encode(Writer& w) const;
  static Credential decode(Reader& r);
  bool operator==(const Credential&) const = default;
};

struct Capabilities {
  std::vector<Uint16> versions;
  std::vector<Uint16> cipher_suites;
  std::vector<Uint16> extensions;
  std::vector<Uint16> proposals;
  std::vector<Uint16> credentials;
  void encode(Writer& w) const;
  static Capabilities decode(Reader& r);
  bool operator==(const Capabilities&) const = default;
};

struct Lifetime {
  uint64_t not_before = 0;
  uint64_t not_after = 0;
  bool operator==(const Lifetime&) const = default;
};

struct LeafNode {
  Bytes encryption_key;
  Bytes signature_key;
  Credential credential;
  Capabilities capabilities;
  LeafNodeSource source = LeafNodeSource::kKeyPackage;
  Lifetime lifetime;  // key_package only
  Bytes parent_hash;  // commit only
  std::vector<Extension> extensions;
  Bytes signature;

  void encode(Writer& w) const;
  static LeafNode decode(Reader& r);
  // LeafNodeTBS; group_id and leaf_index are used for update and commit sources.
  Bytes to_be_signed(BytesView group_id, uint32_t leaf_index) const;
  bool operator==(const LeafNode&) const = default;

 private:
  void encode_content(Writer& w) const;
};

struct ParentNode {
  Bytes encryption_key;
  Bytes parent_hash;
  std::vector<Uint32> unmerged_leaves;
  void encode(Writer& w) const;
  static ParentNode decode(Reader& r);
  bool operator==(const ParentNode&) const = default;
};

struct Node {
  std::variant<LeafNode, ParentNode> value;
  void encode(Writer& w) const;
  static Node decode(Reader& r);
  bool operator==(const Node&) const = default;
};

// The ratchet_tree extension body: optional<Node> ratchet_tree<V>.
struct RatchetTreeData {
  std::vector<std::optional<Node>> nodes;
  void encode(Writer& w) const;
  static RatchetTreeData decode(Reader& r);
};

struct KeyPackage {
  uint16_t version = 1;
  uint16_t cipher_suite = 3;
  Bytes init_key;
  LeafNode leaf_node;
  std::vector<Extension> extensions;
  Bytes signature;
  void encode(Writer& w) const;
  static KeyPackage decode(Reader& r);
  Bytes to_be_signed() const;
  bool operator==(const KeyPackage&) const = default;
};

struct UpdatePathNode {
  Bytes encryption_key;
  std::vector<HpkeCiphertext> encrypted_path_secret;
  void encode(Writer& w) const;
  static UpdatePathNode decode(Reader& r);
  bool operator==(const UpdatePathNode&) const = default;
};

struct UpdatePath {
  LeafNode leaf_node;
  std::vector<UpdatePathNode> nodes;
  void encode(Writer& w) const;
  static UpdatePath decode(Reader& r);
  bool operator==(const UpdatePath&) const = default;
};

inline constexpr uint8_t kPskExternal = 1;
inline constexpr uint8_t kPskResumption = 2;
inline constexpr uint8_t kResumptionApplication = 1;

struct PreSharedKeyId {
  uint8_t psktype = kPskExternal;
  Bytes psk_id;            // external
  uint8_t usage = 0;       // resumption
  Bytes psk_group_id;      // resumption
  uint64_t psk_epoch = 0;  // resumption
  Bytes psk_nonce;
  void encode(Writer& w) const;
  static PreSharedKeyId decode(Reader& r);
  bool operator==(const PreSharedKeyId&) const = default;
};

struct AddProposal {
  KeyPackage key_package;
  void encode(Writer& w) const { key_package.encode(w); }
  static AddProposal decode(Reader& r) { return AddProposal{KeyPackage::decode(r)}; }
  bool operator==(const AddProposal&) const = default;
};
struct UpdateProposal {
  LeafNode leaf_node;
  void encode(Writer& w) const { leaf_node.encode(w); }
  static UpdateProposal decode(Reader& r) { return UpdateProposal{LeafNode::decode(r)}; }
  bool operator==(const UpdateProposal&) const = default;
};
struct RemoveProposal {
  uint32_t removed = 0;
  void encode(Writer& w) const { w.u32(removed); }
  static RemoveProposal decode(Reader& r) { return RemoveProposal{r.u32()}; }
  bool operator==(const RemoveProposal&) const = default;
};
struct PskProposal {
  PreSharedKeyId psk;
  void encode(Writer& w) const { psk.encode(w); }
  static PskProposal decode(Reader& r) { return PskProposal{PreSharedKeyId::decode(r)}; }
  bool operator==(const PskProposal&) const = default;
};
struct ReInitProposal {
  Bytes group_id;
  uint16_t version = 1;
  uint16_t cipher_suite = 3;
  std::vector<Extension> extensions;
  void encode(Writer& w) const;
  static ReInitProposal decode(Reader& r);
  bool operator==(const ReInitProposal&) const = default;
};
struct ExternalInitProposal {
  Bytes kem_output;
  void encode(Writer& w) const { w.opaque(kem_output); }
  static ExternalInitProposal decode(Reader& r) { return ExternalInitProposal{r.opaque()}; }
  bool operator==(const ExternalInitProposal&) const = default;
};
struct GroupContextExtensionsProposal {
  std::vector<Extension> extensions;
  void encode(Writer& w) const { w.list(extensions); }
  static GroupContextExtensionsProposal decode(Reader& r) {
    return GroupContextExtensionsProposal{r.list<Extension>()};
  }
  bool operator==(const GroupContextExtensionsProposal&) const = default;
};

struct Proposal {
  std::variant<AddProposal, UpdateProposal, RemoveProposal, PskProposal, ReInitProposal,
               ExternalInitProposal, GroupContextExtensionsProposal>
      value;
  ProposalType type() const { return static_cast<ProposalType>(value.index() + 1); }
  void encode(Writer& w) const;
  static Proposal decode(Reader& r);
  bool operator==(const Proposal&) const = default;
};

struct ProposalOrRef {
  std::variant<Proposal, Opaque> value;  // Opaque = ProposalRef
  void encode(Writer& w) const;
  static ProposalOrRef decode(Reader& r);
  bool operator==(const ProposalOrRef&) const = default;
};

struct Commit {
  std::vector<ProposalOrRef> proposals;
  std::optional<UpdatePath> path;
  void encode(Writer& w) const;
  static Commit decode(Reader& r);
  bool operator==(const Commit&) const = default;
};

struct Sender {
  SenderType sender_type = SenderType::kMember;
  uint32_t index = 0;  // leaf_index or sender_index
  void encode(Writer& w) const;
  static Sender decode(Reader& r);
  bool operator==(const Sender&) const = default;
};

struct ApplicationData {
  Bytes data;
  bool operator==(const ApplicationData&) const = default;
};

struct FramedContent {
  Bytes group_id;
  uint64_t epoch = 0;
  Sender sender;
  Bytes authenticated_data;
  std::variant<ApplicationData, Proposal, Commit> content;
  ContentType content_type() const { return static_cast<ContentType>(content.index() + 1); }
  void encode(Writer& w) const;
  static FramedContent decode(Reader& r);
  // The content_type and body only (used inside PrivateMessageContent).
  void encode_body(Writer& w) const;
  bool decode_body(Reader& r, ContentType type);
  bool operator==(const FramedContent&) const = default;
};

struct FramedContentAuthData {
  Bytes signature;
  Bytes confirmation_tag;  // commit only
  void encode(Writer& w, ContentType type) const;
  static FramedContentAuthData decode(Reader& r, ContentType type);
  bool operator==(const FramedContentAuthData&) const = default;
};

struct GroupContext {
  uint16_t version = 1;
  uint16_t cipher_suite = 3;
  Bytes group_id;
  uint64_t epoch = 0;
  Bytes tree_hash;
  Bytes confirmed_transcript_hash;
  std::vector<Extension> extensions;
  void encode(Writer& w) const;
  static GroupContext decode(Reader& r);
  bool operator==(const GroupContext&) const = default;
};

struct AuthenticatedContent {
  WireFormat wire_format = WireFormat::kPublicMessage;
  FramedContent content;
  FramedContentAuthData auth;
  void encode(Writer& w) const;
  static AuthenticatedContent decode(Reader& r);
  // FramedContentTBS; `context` is required for member and new_member_commit senders.
  Bytes to_be_signed(const GroupContext* context) const;
};

struct PublicMessage {
  FramedContent content;
  FramedContentAuthData auth;
  Bytes membership_tag;  // member senders only
  void encode(Writer& w) const;
  static PublicMessage decode(Reader& r);
  bool operator==(const PublicMessage&) const = default;
};

struct PrivateMessage {
  Bytes group_id;
  uint64_t epoch = 0;
  ContentType content_type = ContentType::kApplication;
  Bytes authenticated_data;
  Bytes encrypted_sender_data;
  Bytes ciphertext;
  void encode(Writer& w) const;
  static PrivateMessage decode(Reader& r);
  bool operator==(const PrivateMessage&) const = default;
};

struct GroupInfo {
  GroupContext group_context;
  std::vector<Extension> extensions;
  Bytes confirmation_tag;
  uint32_t signer = 0;
  Bytes signature;
  void encode(Writer& w) const;
  static GroupInfo decode(Reader& r);
  Bytes to_be_signed() const;
  bool operator==(const GroupInfo&) const = default;
};

struct GroupSecrets {
  Secret joiner_secret;
  std::optional<Secret> path_secret;
  std::vector<PreSharedKeyId> psks;
  void encode(Writer& w) const;
  static GroupSecrets decode(Reader& r);
};

struct EncryptedGroupSecrets {
  Bytes new_member;  // KeyPackageRef
  HpkeCiphertext encrypted_group_secrets;
  void encode(Writer& w) const;
  static EncryptedGroupSecrets decode(Reader& r);
  bool operator==(const EncryptedGroupSecrets&) const = default;
};

struct Welcome {
  uint16_t cipher_suite = 3;
  std::vector<EncryptedGroupSecrets> secrets;
  Bytes encrypted_group_info;
  void encode(Writer& w) const;
  static Welcome decode(Reader& r);
  bool operator==(const Welcome&) const = default;
};

struct MlsMessage {
  uint16_t version = 1;
  std::variant<PublicMessage, PrivateMessage, Welcome, GroupInfo, KeyPackage> body;
  WireFormat wire_format() const { return static_cast<WireFormat>(body.index() + 1); }
  void encode(Writer& w) const;
  static MlsMessage decode(Reader& r);
};

// Returns the first extension of `type`, or nullptr.
const Extension* find_extension(const std::vector<Extension>& exts, uint16_t type);
// Whether a list of extensions holds a duplicated type (RFC 9420 13.4 forbids it).
bool has_duplicate_extensions(const std::vector<Extension>& exts);

}  // namespace cercle::mls
