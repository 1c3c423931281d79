// Value types of the server's domain: configuration, enums mirroring the wire protocol, and the
// views that domain services return to the api layer. Plain values; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/common/ids.h"

namespace cercle::domain {

// Numbering mirrors cercle.v1 enums.
enum class AccountType : int { kPeer = 1, kProfessional = 2 };
enum class RegistrationPolicy : int { kInviteCode = 1, kOpen = 2 };
enum class ConvKind : int { kDirect = 1, kGroup = 2 };
enum class EntryKind : int {
  kApplication = 1,
  kProposal = 2,
  kCommit = 3,
  kWelcome = 4,
  kEvent = 5,   // A GroupEvent the relay records (proto/policy.proto).
  kErased = 6,  // Entries erased (never stored: made when reading across them).
};

// What the association hosting the instance publishes (cercle.toml [association]), sent in every
// HelloResult; empty name: none configured.
struct AssociationContact {
  std::string name;
  std::string details;
  std::string phone;
  std::string sms;
  std::string url;
};
struct Association {
  std::string name;
  std::string page;  // https:// only.
  std::string answer_times;
  std::vector<AssociationContact> contacts;
};

struct Config {
  std::string instance_name = "Cercle";
  RegistrationPolicy registration = RegistrationPolicy::kInviteCode;
  uint32_t max_payload_bytes = 200 * 1024;
  uint32_t max_key_packages = 100;
  uint32_t max_devices_per_account = 10;
  uint32_t max_conversation_devices = 1000;
  uint32_t max_conversations_per_device = 10000;
  int64_t registration_code_ttl_ms = 7LL * 24 * 3600 * 1000;
  // Visitors arriving through a valid contact link may register without a code.
  bool contact_link_registration = true;
  uint32_t max_contact_links = 20;  // Active (not revoked, not expired) per account.
  uint32_t contact_link_registrations_per_hour =
      30;  // Per link: a published link is not a spam gate.
  // A new device's request to join an account (pairing) lives this long, in memory only.
  int64_t device_request_ttl_ms = 10 * 60 * 1000;
  uint32_t max_device_requests_per_account = 4;  // Pending at once.
  uint32_t max_device_requests = 10000;          // Pending at once on the whole server.
  Association association;
};

using PublicKey = std::array<uint8_t, 32>;

struct AuthInfo {
  AccountId account_id = 0;
  DeviceId device_id = 0;
  std::string handle;
  AccountType type = AccountType::kPeer;
  bool admin = false;
};

struct DeviceView {
  DeviceId id = 0;
  PublicKey public_key{};
};

struct AccountView {
  AccountId id = 0;
  std::string handle;
  AccountType type = AccountType::kPeer;
  std::vector<DeviceView> devices;
  std::vector<std::string> chain =
      {};  // Its device chain: encoded cercle.v1.DeviceLink, from seq 0.
};

struct MemberView {
  DeviceId device_id = 0;
  AccountId account_id = 0;
  std::string handle;
  AccountType type = AccountType::kPeer;
  uint32_t leaf = 0;
};

struct ConvView {
  ConvId id;
  ConvKind kind = ConvKind::kGroup;
  uint64_t epoch = 0;
  uint64_t head_seq = 0;            // Last durable entry.
  uint64_t cursor = 0;              // The asking device's cursor.
  std::vector<MemberView> members;  // Current members only.
};

struct FetchedKeyPackage {
  DeviceId device_id = 0;
  std::string data;  // Empty: the device has none left.
  bool last_resort = false;
};

struct FetchedKeyPackages {
  AccountView account;
  std::vector<FetchedKeyPackage> packages;
};

struct KeyPackageUpload {
  std::string data;
  bool last_resort = false;
};

struct KeyPackageCount {
  uint32_t stored = 0;
  bool has_last_resort = false;
};

struct CommitArgs {
  ConvId conv;
  uint64_t epoch = 0;
  std::string commit;
  std::vector<DeviceId> add;
  std::vector<DeviceId> remove;
  std::string welcome;
  // The group's first commit only: what its creator states of the group's start (cercle.proto
  // GroupGenesis, public_groups.h).
  struct Genesis {
    std::string group_context;
    std::string ratchet_tree;
    std::string confirmed_transcript_hash;
  };
  std::optional<Genesis> genesis = std::nullopt;
};

struct CommitOk {
  uint64_t seq = 0;
  uint64_t epoch = 0;
};

struct SendArgs {
  ConvId conv;
  uint64_t epoch = 0;
  std::string payload;
  EntryKind kind = EntryKind::kApplication;
};

struct SendOk {
  uint64_t seq = 0;
  int64_t time_ms = 0;
};

struct RegistrationCode {
  std::string code;  // Shown once to the admin; only its hash is stored.
  int64_t expires_ms = 0;
};

// A new device's pending request to join an account (DeviceRequests).
struct DeviceRequestView {
  std::string request_id;  // 16 random bytes.
  std::string handle;      // The account's, as stored.
  std::string device_key;
  std::string mls_key;
  std::string possession;
  std::string commitment;
  std::string approver_nonce;  // Empty until a device of the account posts it.
  std::string device_nonce;    // Empty until the new device reveals it.
  int64_t created_ms = 0;
  DeviceId device_id = 0;  // Set once AddDevice added this key.
};

struct ContactLinkView {
  std::string token;
  std::string label;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // 0: never.
  bool revoked = false;
  uint32_t registrations = 0;
  std::optional<AccountView> owner;  // Filled by resolve only.
  std::string presentation;          // Shown to visitors (CreateContactLink.presentation).
};

struct AccountSummary {
  std::string handle;
  AccountType type = AccountType::kPeer;
  bool admin = false;
  bool suspended = false;
  size_t devices = 0;
  int64_t created_ms = 0;
};

// Counts only, for the instance admin: never who or what.
struct InstanceStats {
  size_t accounts = 0;
  size_t professionals = 0;
  size_t suspended = 0;
  size_t devices = 0;
  size_t direct_conversations = 0;
  size_t group_conversations = 0;
  uint64_t log_entries = 0;
  size_t key_packages = 0;
  size_t contact_links = 0;
  size_t registration_codes_unused = 0;
};

// Sizes of the domain's tables, for the server's metrics.
struct DomainCounts {
  size_t accounts = 0;
  size_t devices = 0;
  size_t conversations = 0;
  size_t contact_links = 0;  // Ended ones included.
};

struct OpenGroupView {
  ConvId id;
  std::string charter;
  uint32_t members = 0;  // Accounts.
  // What a facilitator published (Groups::publish_group); empty when the group is not named.
  std::string public_name;
  std::string public_description;
};

struct SealedReportView {
  uint64_t id = 0;
  ConvId conv;
  std::string reporter;  // Handle.
  std::string sealed;
  int64_t created_ms = 0;
};

struct AdminReportView {
  uint64_t id = 0;
  std::string reporter;  // Handle.
  ConvId conv;
  uint64_t seq = 0;
  std::string revealed_text;
  std::string reason;
  int64_t created_ms = 0;
  std::string answer;
};

// Where a device's delivery stream of one conversation starts and ends.
struct StreamStart {
  ConvId conv;
  uint64_t cursor = 0;         // Last entry the device acknowledged.
  uint64_t readable_upto = 0;  // 0: no end (a member); else the commit that removed the device.
};

}  // namespace cercle::domain
