// The Client's implementation state, shared by client.cpp (account, keys), client_groups.cpp
// (membership changes) and client_sync.cpp (incoming entries, sending). Internal to the SDK.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cercle/mls/state.h"
#include "cercle/policy/device_chain.h"
#include "cercle/policy/policy.h"
#include "client/sdk/client.h"
#include "client/sdk/connection.h"
#include "client/sdk/local.pb.h"
#include "client/sdk/local_store.h"

namespace cercle::client {

inline constexpr size_t kKeyPackageStock = 20;  // Published at registration and topped up to.
inline constexpr int kMaxCommitAttempts = 6;    // Retries when another member committed first.
// Local store names "accepted/<conversation hex>": this account accepted an invitation there.
inline constexpr std::string_view kAcceptedPrefix = "accepted/";

std::string to_hex(std::string_view bytes);
// `utf8` in Unicode NFC, as the relay stores handles (unchanged when it cannot be normalised).
std::string nfc(std::string_view utf8);
Result<std::string> from_hex(std::string_view hex);
mls::Bytes to_bytes(std::string_view s);
std::string to_string(const mls::Bytes& b);

// One conversation as this device sees it.
struct Conv {
  std::string id;  // 16 raw bytes: the conversation id and the MLS group id.
  int kind = 0;
  std::optional<mls::State> state;
  std::optional<mls::State> pending;  // Our commit's next state, until adopted or dropped.
  std::string pending_message;
  uint64_t pending_seq = 0;
  uint64_t last_seq = 0;
  std::set<uint64_t> own_seqs;
  std::map<uint64_t, v1::Delivery> waiting;  // Arrived ahead of an entry not yet seen.
  bool left = false;
  bool broken = false;
  bool dirty = false;          // Changed since last saved.
  std::set<uint32_t> leaving;  // Leaves that proposed their own removal in this epoch.
  uint64_t acked = 0;
  std::map<std::string, local::TrackedInvitation> invitations;  // Groups, by nonce.
  std::set<std::string> join_requests;  // Open groups: handles that asked to join.
  std::set<std::string> tried;  // Invitations and join requests this session tried to add once.
  std::string profile;  // The newest group profile accepted (an encoded v1::SignedGroupProfile).
  local::SeanceRecord seance;  // The séance state this device applied (client_seances.cpp).
};

Invitation invitation_view(const v1::Invitation& i);  // client_moderation.cpp
// What a device's leaf key (its Ed25519 device key) signs for the group's members: `label`, a zero
// byte, then `encoded` (group profiles, listings, reports; client_profile.cpp).
std::string sign_with_leaf_key(std::string_view label, std::string_view encoded,
                               const std::string& secret_key);
bool verifies_leaf_signature(std::string_view label, std::string_view encoded,
                             std::string_view signature, std::string_view public_key);
// Whether one of `signer`'s leaves in this client's own tree verifies `signature` (never a key
// the relay could hand out).
bool signed_by_member(const Conv& conv, std::string_view signer, std::string_view label,
                      std::string_view encoded, std::string_view signature);
// A new report key (client_moderation.cpp): the X25519 secret key whose public key this device's
// leaves carry (policy::kReportKeyExtensionType), to open the reports sealed to it.
std::string new_report_secret_key();
// Whether a group's name and description fit (1 to 80 bytes, at most 1000): kInvalidArgument if
// not.
Status check_profile_words(std::string_view name, std::string_view description);
// Why a listing shown to the group (GroupEvent.published) cannot be believed ("" when it can): a
// facilitator of the group must have signed it with a leaf key of this client's tree. `name` gets
// its public name (empty: withdrawn, which the relay alone attests).
std::string listing_refusal(const Conv& conv, const v1::SignedPublicListing& s, std::string& name);
// The group's name from the profile this device holds; empty when it holds none
// (client_profile.cpp).
std::string profile_name(const Conv& conv);

// The account type a member's leaf declares (client_rules.cpp).
policy::Kind member_kind(const mls::State& state, uint32_t leaf);
// The group's rules from its MLS state; nullopt for a conversation without (a direct one).
std::optional<v1::GroupPolicy> group_policy(const mls::State& state);
// Why the member at `sender` may not propose `p` in `state`'s group ("" when it may): kinds of
// proposal Cercle never uses (PreSharedKey, ReInit, ExternalInit), an Update that changes who the
// member is (credential, signature key, account type), and what only facilitators may do (change
// the group's extensions, remove someone else, add someone unless a peer joins an open group).
std::string proposal_refusal(const mls::State& state, const mls::Proposal& p, uint32_t sender);
// Commit options that take only the pending proposals proposal_refusal() allows.
mls::CommitOptions rule_abiding_options(const mls::State& state);

struct Client::Impl {
  Options options;
  std::unique_ptr<LocalStore> store;
  std::optional<local::Identity> identity;
  std::unique_ptr<Connection> conn;
  std::map<std::string, Conv> convs;  // By raw id.
  std::vector<Event> events;          // Produced while processing, handed out by poll().

  // client.cpp
  Status load();
  Status save_identity();
  Status authenticate();
  Status top_up_key_packages(size_t target);
  Result<mls::SignaturePrivateKey> signer() const;
  mls::Credential credential() const;
  // The extensions of every leaf this device makes (KeyPackages and the groups it creates): the
  // account's type, so that members see who is a professional and the relay can check it.
  // Also its report key's public half (0xF0A2), when the store has one (stores made before report
  // keys have none: their reports come sealed to the device key).
  std::vector<mls::Extension> leaf_extensions() const;
  // The X25519 public key of this device's report key; empty when it has none.
  std::string report_public_key() const;
  Status require_connection() const;
  Result<Conv*> find(const std::string& hex_id);
  const Conv* lookup(const std::string& hex_id) const;

  // client_sync.cpp
  Status save(Conv& conv);
  Status save_dirty();
  Status process_incoming();
  void accept(const v1::Delivery& d);
  void drain(Conv& conv);
  void apply(Conv& conv, const v1::Delivery& d);
  void apply_welcome(Conv& conv, const v1::Delivery& d);
  void apply_handshake(Conv& conv, const v1::Delivery& d);
  void adopt_proposal(Conv& conv, mls::ProcessOutput out);
  bool moved_on_without_us(Conv& conv, const v1::Delivery& d);
  void apply_application(Conv& conv, const v1::Delivery& d);
  // Encrypts `plaintext` for the group and sends it (retrying on a newer epoch); returns the
  // relay's answer. The entry is marked as our own, so it is not read back.
  Result<v1::SendResult> send_application(Conv& conv, const mls::Bytes& plaintext);
  // Checks that whoever added us to a group was allowed to; returns the refusal or "".
  std::string check_welcome(const mls::State& joined) const;
  // Checks an incoming commit against the group's rules; returns the refusal or "".
  std::string verify_commit(Conv& conv, const mls::ProcessOutput& out, int64_t time_ms);
  void adopt_pending(Conv& conv);
  Status acknowledge();
  void learn_kinds();
  Status wait_for_epoch(Conv& conv, uint64_t epoch);
  void warn(const Conv& conv, std::string detail);
  std::string sender_name(const Conv& conv, uint32_t leaf) const;

  // client_groups.cpp
  // Builds a commit on the conversation's current state, submits it, retries on STALE_EPOCH.
  using Build = std::function<mls::Result<mls::CommitOutput>(const mls::State&, v1::Commit&)>;
  Status change(Conv& conv, const Build& build);
  // Asks the relay for a new conversation (`create`, a CreateConversation request), then starts its
  // MLS group alone and saves it. Returns the stored conversation, owned by `convs`.
  Result<Conv*> open_conversation(const v1::ClientFrame& create);
  void commit_pending_self_removals(Conv& conv);

  // client_events.cpp
  void apply_event(Conv& conv, const v1::Delivery& d);
  void on_server_event(const v1::Event& e);
  // Hides message `seq` (deleted for everyone): it leaves this device's history.
  void forget_message(const Conv& conv, uint64_t seq);
  // Drops local messages older than the group's retention period.
  void prune_expired(const Conv& conv);
  // What this client does for the group without being asked: it adds the people it invited once
  // they accepted (and, for a professional, once the objection delay passed) and, in an open group,
  // the peers who asked to join when its leaf is the lowest.
  void act_on_requests(Conv& conv);
  Status add_with(Conv& conv, std::string_view handle, const v1::SignedInvitation* invitation);
  bool acting = false;  // Inside act_on_requests: no nested automatic commits.
  // The server's clock, as its deliveries show it (invitations expire and objection delays pass
  // by the server's time, which the relay also checks).
  int64_t server_now_ms() const;
  void saw_server_time(int64_t server_ms);
  int64_t server_offset_ms = INT64_MIN / 2;
  int64_t last_prune_ms = 0;

  // client_chain.cpp
  // Checks an account's device chain as the relay served it: valid, and the chain pinned for the
  // account or an extension of it (pinned at first contact; the pin follows it as it grows).
  // Returns its view, empty when the relay sent no chain and none is pinned or required.
  // Errors: kRefused (invalid, another first link, rolled back), kStorage.
  Result<policy::ChainView> check_chain(const v1::AccountInfo& account);
  Result<std::optional<policy::ChainPin>> load_pin(std::string_view handle) const;
  // LookupAccount, then check_chain. Errors: those, kServer, kNetwork.
  Result<policy::ChainView> lookup_chain(std::string_view handle);
  // Pins this account's own chain; a refused one, or one without this device, is a kWarning.
  void pin_own_chain();
  // Whether `handle`'s chain lists `mls_key` (false when its chain is refused); nullopt when it
  // cannot tell (no chain served, not connected, lookup failed).
  std::optional<bool> in_chain(std::string_view handle, std::string_view mls_key);

  // client_pairing.cpp: this device asking to join an account (request_device), until approved.
  struct NewDevice;
  std::shared_ptr<NewDevice> new_device;
  // AddDevice of an approved request, its link signed on the chain as read now (retried once).
  Status add_approved_device(const v1::DeviceRequestInfo& info);

  // client_profile.cpp
  // Typed content (0x00 || AppContent), already decrypted: a group profile is kept if a
  // facilitator of the group signed it and it is newer than the one held; other kinds are ignored.
  void apply_app_content(Conv& conv, const mls::Bytes& plaintext);
  // Sends the profile held (if any) to the group: after an Add, so that the newcomer learns it.
  void hand_on_profile(Conv& conv);

  // client_seances.cpp
  // A séance event the relay delivered (GroupEvent.seance): checked with this device's own facts
  // (its tree's leaf keys, the rules in force, the delivery's seq); refused: a kWarning, no change.
  void apply_seance(Conv& conv, const v1::GroupEvent& e, const v1::Delivery& d);
  // Deletes this device's copies of closed séances' messages whose erasure is due (by the
  // server's clock), as the relay does with its own.
  void erase_due_seances(Conv& conv);

  // client_moderation.cpp
  std::optional<Report> open_report(const v1::ReportReceived& r) const;
  // A report sealed to this device: shown if it opens and its reporter signed it, else a kWarning
  // (kReportDropped); acknowledged either way. One whose reporter has no leaf in this device's tree
  // yet waits in `waiting_reports`, unacknowledged: the relay pushes reports before the log that
  // may add the reporter. process_incoming tries them again after each pass; left to the relay
  // when the client closes, they come again at the next connection.
  void handle_report(const v1::ReportReceived& r);
  void retry_waiting_reports();
  std::vector<v1::ReportReceived> waiting_reports;

  // client_rules.cpp
  // Checks a processed commit against the rules in force before it; returns the refusal or "".
  std::string check_commit(const Conv& conv, const mls::State& before,
                           const mls::ProcessOutput& out, int64_t time_ms,
                           std::vector<std::string>& used) const;
  // A commit that changes the group's rules with `edit` (and removes every device of
  // `remove_handle`, if given), with retries.
  Status change_rules(Conv& conv, const std::function<Status(v1::GroupPolicy&)>& edit,
                      std::string_view remove_handle = {});
  // The devices of `handle` in the conversation, as the server lists them.
  Result<std::vector<uint64_t>> devices_of(const Conv& conv, std::string_view handle);
};

}  // namespace cercle::client
