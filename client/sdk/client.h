// cercle::client::Client: an end-to-end encrypted Cercle client. It keeps the device's keys and
// every conversation's MLS state in an encrypted local store, talks to the server, publishes and
// replenishes KeyPackages, creates direct conversations and groups, adds and removes members, sends
// and receives text, leaves, and catches up after being offline: in order, each entry once.
//
// Concurrent commits are resolved: when the server answers STALE_EPOCH the client processes the
// winning commit, rebuilds its own change on the new epoch and retries. Membership comes from MLS,
// never from the server: a member is who the group's ratchet tree says, named by its credential.
//
// Nothing runs in the background: work happens inside calls, and incoming messages are processed
// in poll() (and while waiting in other calls, where needed to stay in step). One thread; not
// thread-safe. Conversation ids are 32 lowercase hex characters.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/sdk/result.h"

namespace cercle::client {

struct Options {
  std::string server_url;  // ws://HOST:PORT/ws or wss://...
  std::string data_dir;    // The local store; created if missing.
  std::string passphrase;  // Unlocks the local store (Argon2id).
  std::string ca_file;     // wss:// only: PEM CAs to trust instead of the system's.
  std::chrono::milliseconds timeout{10000};
  std::string client_name = "cercle-sdk";
};

struct Message {
  std::string conversation;  // Hex id.
  uint64_t seq = 0;
  std::string sender;   // The sender's handle, from its MLS credential.
  int64_t time_ms = 0;  // The server's time of receipt.
  std::string text;
  bool own = false;
  bool professional = false;  // The sender is a professional (from its MLS leaf).
};

enum class Role { kMember, kFacilitator, kInvitedProfessional };

struct Member {
  std::string handle;
  uint32_t leaf = 0;
  bool self = false;
  // The account type the member's own leaf declares (the instance checks it against the account).
  bool professional = false;
  Role role = Role::kMember;  // From the group's rules.
  std::string accompanying;   // kInvitedProfessional: the member they accompany, if any.
};

// A groupe de parole's rules, as the group's MLS state holds them (every member verifies changes).
struct GroupRules {
  bool open_to_peers = false;       // Peers of the instance may ask to join; professionals never.
  bool relatives_admitted = false;  // Proches (relatives, caregivers) may be invited.
  uint32_t retention_days = 0;      // Messages older than this are erased everywhere; 0: kept.
  std::string charter;              // Every invitee reads and accepts it before joining.
  uint32_t objection_hours = 0;     // A professional joins only after this long without objection.
  std::vector<std::string> facilitators;
  std::vector<std::string> banned;
  std::vector<std::string> muted;
  // Séances (meetings): nullopt, the group has none. Facilitators are never constrained.
  struct Seances {
    bool write_only_in_seance = false;  // Messages only while a séance is open.
    bool turn_taking = false;           // While the floor is given, only its holder writes.
    bool erase_after = false;           // A séance's messages are erased...
    uint32_t erase_delay_minutes = 0;   // ...this long after it closes.
  };
  std::optional<Seances> seances;
};

// The group's séance as this device applied its signed events (each checked with its own keys).
struct Seance {
  bool open = false;
  int64_t since_ms = 0;                // The server's time of the opening (open only).
  std::string floor;                   // Who holds the floor; empty: nobody (everyone may write).
  std::vector<std::string> hands;      // Raised hands.
  std::vector<std::string> confirmed;  // Who confirmed the charter in this séance.
};

struct Invitation {
  std::string id;            // Hex.
  std::string conversation;  // Hex id.
  std::string inviter;
  std::string invitee;
  bool professional = false;
  std::string accompanying;
  int64_t expires_at_ms = 0;
  std::string charter;
};

struct OpenGroup {
  std::string conversation;
  std::string charter;
  uint32_t members = 0;
  std::string public_name;  // What a facilitator published (publish_group); empty: unnamed.
  std::string public_description;
};

// A report a member sent to this facilitator (sealed to this device; the server could not read it).
struct Report {
  std::string conversation;
  std::string reporter;
  uint64_t seq = 0;  // The message reported.
  std::string text;  // What the reporter's device showed for it.
  std::string reason;
};

// The kWarning detail of a report that reached this facilitator but is never shown: it did not open
// with this device's keys, or no leaf of the member it names signed it (a relay sealing a report of
// its own in a member's name), or it was altered. The relay is told to forget it all the same.
inline constexpr std::string_view kReportDropped =
    "a report was ignored: it could not be checked as coming from the member it names";

// What only a group's members read about it (the relay never sees it): set by a facilitator,
// signed with their leaf key, sent to the group encrypted; each client keeps the newest it
// accepted.
// A planned séance (GroupProfile.schedule).
struct SeanceSlot {
  int64_t start_ms = 0;
  uint32_t duration_minutes = 0;
  bool weekly = false;  // Again every week at the same hour in the profile's time zone.
};

struct GroupProfile {
  std::string name;                  // At most 80 bytes.
  std::string description;           // At most 1000 bytes.
  uint64_t version = 0;              // Grows with each change.
  std::string signer;                // The facilitator who set it.
  std::vector<SeanceSlot> schedule;  // The séances planned (members only read it).
  std::string time_zone;             // IANA zone of the schedule ("Europe/Paris").
};

struct ConversationSummary {
  std::string id;
  bool direct = false;
  std::string name;  // A group's name, once this device has its profile (else empty).
  uint64_t epoch = 0;
  std::vector<std::string> members;  // Handles, from MLS.
  bool left = false;
};

struct Event {
  enum class Kind {
    kMessage,
    kJoined,
    kMembersChanged,
    kLeft,
    kWarning,             // Something was refused or failed: `detail` says what, in plain words.
    kInvited,             // Someone was invited to the group: `invitation`, `by`.
    kInvitation,          // This account is invited to a group: `invitation`.
    kInvitationAccepted,  // `invitation`'s invitee accepted the charter.
    kInvitationRevoked,   // `invitation` was revoked, `by`.
    kObjection,           // `by` objected to `invitation`.
    kJoinRequest,         // `by` asks to join this open group.
    kMessageDeleted,      // A facilitator (`by`) deleted message `seq` for everyone.
    kReport,              // A member reported a message to this facilitator: `report`.
    kAdminAnswer,         // The instance admins answered a report: `detail`.
    // Someone already in the conversation (`by`, maybe this account) has a device more: `detail`
    // is its fingerprint; `verify_again` when the user had verified `by` (client_verify.cpp).
    kDeviceAdded,
    // The group's name or description changed (a facilitator's signed profile): `detail` is the
    // new name, `by` the facilitator who signed it.
    kGroupProfile,
    // `invitation`'s invitee declined it (the relay says so: the invitee has no leaf to sign with).
    kInvitationDeclined,
    // A facilitator (`by`) published the group's public listing under the name `detail` (checked:
    // signed with their leaf key); an empty `detail`: the listing was withdrawn.
    kListingPublished,
    // A séance event checked and applied: `detail` says which ("opened", "closed", "floor_given",
    // "floor_back", "hand_raised", "hand_lowered", "charter_confirmed"), `by` its author, `seq` its
    // log seq; for floor_given and hand_lowered, `message.sender` is whom it names. seance() gives
    // the state now.
    kSeance,
  };
  Kind kind = Kind::kMessage;
  std::string conversation;
  Message message;     // kMessage.
  std::string detail;  // kWarning, kAdminAnswer.
  Invitation invitation;
  Report report;
  std::string by;
  uint64_t seq = 0;
  bool verify_again = false;  // kDeviceAdded.
  // kDeviceAdded: the account's signed device chain does not list this device (or the chain itself
  // was refused): a device its owner never approved.
  bool unapproved = false;
};

// One device of a conversation, as its MLS leaves show it (never as the server lists it).
struct Device {
  std::string handle;
  uint32_t leaf = 0;
  std::string fingerprint;  // 3 groups of 5 digits over its signature key (docs/safety-numbers.md).
  bool self = false;        // This device.
};

// A new device asking to become a device of this account (Client::device_requests).
struct DeviceRequest {
  std::string id;           // Hex.
  std::string fingerprint;  // Of the new device's key (docs/safety-numbers.md).
  int64_t created_ms = 0;   // The server's time.
  bool started = false;     // A device of the account posted its nonce: the code is shown.
};

// One device of this account, as its verified device chain lists it.
struct AccountDevice {
  std::string fingerprint;
  uint64_t added_seq = 0;  // The chain link that added it (0: the account's first device).
  bool self = false;
};

// kChanged: verified once, but this account's or the other's devices changed since: verify again.
enum class Verification { kUnverified, kVerified, kChanged };

// What two people compare to check that nobody sits between them (docs/safety-numbers.md).
struct SafetyNumber {
  std::string handle;                // The other person.
  std::string number;                // 12 groups of 5 digits, separated by spaces.
  std::vector<std::string> devices;  // Their devices' fingerprints, in this conversation.
  std::vector<std::string> own_devices;
  Verification verification = Verification::kUnverified;
};

class Client {
 public:
  // Opens (or creates) the local store. Errors: kBadPassphrase, kStorage, kInvalidArgument.
  static Result<std::unique_ptr<Client>> open(const Options& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool registered() const;
  const std::string& handle() const;

  // Connects; when registered, authenticates, tops up KeyPackages and catches up.
  // Errors: kNetwork, kServer, kProtocol.
  Status connect();
  void disconnect();
  // Creates the account (connect() first) and publishes KeyPackages. `code`: a registration code,
  // `contact_token`: a contact link's token (either may be empty). Errors: kServer, kNetwork.
  Status register_account(std::string_view handle, std::string_view code = {},
                          std::string_view contact_token = {});

  // Starts an encrypted one-to-one conversation with the account `handle`; returns its id.
  Result<std::string> start_direct(std::string_view handle);
  // Creates a group with this device alone; returns its id. With a `name`, sets the group's
  // profile as set_group_profile() does (errors as there; the group exists even then).
  Result<std::string> create_group(std::string_view name = {}, std::string_view description = {});
  // Adds every device of `handle` that has a KeyPackage. Errors: kNotFound, kServer, kProtocol.
  Status add_member(const std::string& conversation, std::string_view handle);
  // Removes every leaf whose credential is `handle`. Errors: kNotFound, kServer.
  Status remove_member(const std::string& conversation, std::string_view handle);

  // ---- Groupes de parole (only facilitators change a group; every member's client checks) ----
  // The group's rules. Errors: kNotFound (also: a conversation without rules, such as a direct
  // one).
  Result<GroupRules> rules(const std::string& conversation) const;
  // Changes the join rule, relatives, retention, charter, objection delay and séance rules (not the
  // roles, bans
  // or mutes, which have their own calls). Errors: kRefused, kServer (FORBIDDEN: not a
  // facilitator).
  Status set_rules(const std::string& conversation, const GroupRules& rules);
  // Names the group (facilitators): a new profile, one version above the one held, signed with this
  // device's leaf key and sent encrypted to the members; whoever adds someone later hands it on.
  // Errors: kInvalidArgument (empty name, name over 80 bytes, description over 1000), kRefused
  // (not a facilitator here), kNotFound, kServer, kNetwork.
  Status set_group_profile(const std::string& conversation, std::string_view name,
                           std::string_view description = {});
  // Plans the group's séances (facilitators): a new profile with this schedule, signed and sent as
  // set_group_profile() does. Errors: as there; kInvalidArgument (the group has no name yet).
  Status set_seance_schedule(const std::string& conversation, const std::vector<SeanceSlot>& slots,
                             std::string_view time_zone);
  // The newest profile this device accepted. Errors: kNotFound (no such conversation, or no
  // profile known yet: a group never named, or a newcomer whose adder has not sent it yet).
  Result<GroupProfile> group_profile(const std::string& conversation) const;
  // Séances (client_seances.cpp). Each signs an event with this device's leaf key and posts it;
  // after SEANCE_CONFLICT (another came first) it waits for that one and signs once more; it
  // returns once this device applied its own event. Facilitators open, close and give or take back
  // the floor; any member raises or lowers their hand and confirms the charter in force (needed
  // before writing in a séance). Errors: kNotFound (no such group, or no rules), kServer
  // (FORBIDDEN: the relay refused it; SEANCE_CONFLICT twice), kNetwork (not applied in time).
  Status open_seance(const std::string& conversation, uint32_t planned_minutes = 0);
  Status close_seance(const std::string& conversation);
  Status give_floor(const std::string& conversation, std::string_view handle);
  Status take_floor_back(const std::string& conversation);
  Status raise_hand(const std::string& conversation);
  // Lowers `handle`'s hand (empty: one's own; another's: facilitators).
  Status lower_hand(const std::string& conversation, std::string_view handle = {});
  Status confirm_charter(const std::string& conversation);
  // Errors: kNotFound.
  Result<Seance> seance(const std::string& conversation) const;
  // Gives (kFacilitator) or takes back (kMember) the facilitator role.
  Status set_role(const std::string& conversation, std::string_view handle, Role role);
  // Removes every device of `handle` and bans the account from the group; unban() lifts it.
  Status ban(const std::string& conversation, std::string_view handle);
  Status unban(const std::string& conversation, std::string_view handle);
  // A muted member's messages are refused by the server in this group.
  Status mute(const std::string& conversation, std::string_view handle, bool muted);

  // Invites the account `handle` (a peer or a professional, as the instance knows it), valid for
  // `valid_for`; a professional may accompany a member. The invitee accepts the charter, then the
  // inviter's client adds them. Errors: kNotFound, kServer (FORBIDDEN, NOT_FOUND).
  Result<Invitation> invite(const std::string& conversation, std::string_view handle,
                            std::string_view accompanying = {},
                            std::chrono::hours valid_for = std::chrono::hours(72));
  Status revoke_invitation(const std::string& conversation, const std::string& invitation_id);
  // Invitations addressed to this account, still pending.
  Result<std::vector<Invitation>> invitations();
  // Accepts the invitation's charter: the inviter's client may now add this account.
  Status accept_invitation(const Invitation& invitation);
  // Declines the invitation: the group is told, and nobody can use it any more.
  // Errors: kServer (FORBIDDEN: not this account's; INVALID_ARGUMENT: no longer pending), kNetwork.
  Status decline_invitation(const Invitation& invitation);
  // Objects to a professional's invitation (groups with an objection delay).
  Status object_to_invitation(const std::string& conversation, const std::string& invitation_id);

  // Groups open to peers, and asking to join one (a member's client then adds this account).
  Result<std::vector<OpenGroup>> open_groups();
  Status request_join(const std::string& conversation);
  // Lists an open group on the instance under a public name and description (facilitators). The
  // hosting association and every peer of the instance read them: say so to the user first.
  // Errors: kInvalidArgument (empty name, over 80 bytes, description over 1000), kServer
  // (FORBIDDEN: not a facilitator; INVALID_ARGUMENT: the group is not open to peers).
  Status publish_group(const std::string& conversation, std::string_view name,
                       std::string_view description = {});
  // Takes the public listing back. Errors: kServer (FORBIDDEN: not a facilitator).
  Status withdraw_listing(const std::string& conversation);

  // Deletes message `seq` for everyone (facilitators): the server erases it, clients hide it.
  Status delete_message(const std::string& conversation, uint64_t seq);
  // Reports message `seq` to the group's facilitators, sealed to their devices (to each device's
  // report key, or its device key when its leaf has none) and signed with this device's leaf key:
  // the server learns only that a report exists, and cannot make one in this member's name. Errors:
  // kNotFound (no such message here, or no facilitator).
  Status report(const std::string& conversation, uint64_t seq, std::string_view reason);
  // Reports message `seq` to the instance's admins, revealing its text to them. Call only with the
  // reporter's explicit consent to that. Returns the report's id.
  Result<uint64_t> report_to_admins(const std::string& conversation, uint64_t seq,
                                    std::string_view reason);
  // Asks to leave (a self-removal proposal that another member's client commits).
  Status leave(const std::string& conversation);
  // Encrypts and sends; returns the message's sequence number. Errors: kInvalidArgument (a text
  // starting with U+0000, which marks typed content), kRefused, kServer, kNetwork.
  Result<uint64_t> send_text(const std::string& conversation, std::string_view text);

  // Waits up to `timeout` for incoming entries, processes them in order, and returns what
  // happened. Errors: kNetwork (connection lost), kStorage.
  Result<std::vector<Event>> poll(std::chrono::milliseconds timeout);

  std::vector<ConversationSummary> conversations() const;
  Result<std::vector<Message>> history(const std::string& conversation) const;
  Result<std::vector<Member>> members(const std::string& conversation) const;
  Result<uint64_t> epoch(const std::string& conversation) const;
  Result<std::string> epoch_authenticator(const std::string& conversation) const;

  // ---- Devices and safety numbers (client_verify.cpp) ----
  // Every device of the conversation, one per MLS leaf. Errors: kNotFound.
  Result<std::vector<Device>> devices(const std::string& conversation) const;
  // The safety number of this account and `handle` from the conversation's leaves, and whether
  // the user verified it. Errors: kNotFound (no such conversation, or `handle` not in it),
  // kInvalidArgument (`handle` is this account).
  Result<SafetyNumber> safety_number(const std::string& conversation,
                                     std::string_view handle) const;
  // Records that the user compared `number` with `handle` and found it equal (kept on this device
  // with the devices it stands for). Errors: kRefused (`number` is not the current safety number:
  // the devices changed since it was shown), kNotFound, kInvalidArgument, kStorage.
  Status mark_verified(const std::string& conversation, std::string_view handle,
                       std::string_view number);

  // ---- Device approval (client_pairing.cpp; docs/SECURITY.md, "Device approval") ----
  // On a new device (connected, no account yet): asks to become a device of the account `handle`
  // and returns the request's id (hex). Errors: kInvalidArgument (this device has an account),
  // kNetwork, kServer (NOT_FOUND: no such account).
  Result<std::string> request_device(std::string_view handle);
  // On the new device: waits up to `wait` for a device of the account to start the approval, then
  // reveals this device's nonce and returns the six-digit code to show ("123 456").
  // Errors: kNetwork (not started in time), kInvalidArgument (no request), kServer.
  Result<std::string> pairing_code(std::chrono::milliseconds wait);
  // On the new device: waits up to `wait` for the approval, then signs in as a device of the
  // account, publishes KeyPackages and pins the account's chain. Errors: kNetwork (not approved
  // in time), kRefused (the account's chain does not list this device), kServer, kStorage.
  Status await_approval(std::chrono::milliseconds wait);
  // On a device of the account: the pending requests of new devices.
  Result<std::vector<DeviceRequest>> device_requests();
  // Starts approving `request_id`: posts this device's nonce (kept on this device), after which
  // the new device shows its code. Errors: kInvalidArgument, kServer (NOT_FOUND).
  Status start_approval(const std::string& request_id);
  // Approves the new device if `code` (what the user read on the new device and typed here; spaces
  // ignored) is the code both devices compute; then signs its link in the account's chain.
  // Waits up to `wait` for the new device to reveal its nonce. Errors: kRefused (another code,
  // or the new device's nonce or key proof does not hold: nothing is added), kInvalidArgument
  // (start_approval was not called on this device), kNetwork, kServer.
  Status approve_device(const std::string& request_id, std::string_view code,
                        std::chrono::milliseconds wait = std::chrono::seconds(10));
  // This account's devices, from its verified device chain (empty when the relay keeps none).
  // Errors: kRefused (the chain is not valid or not the pinned one), kNetwork, kServer.
  Result<std::vector<AccountDevice>> account_devices();

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cercle::client
