// ContactLinks: web addresses (/c/<token>) through which a visitor reaches a peer helper
// one-to-one, registering in one step (no code) when the instance allows it. The owner creates,
// lists and revokes them; anyone holding a token can see whom it leads to. Registrations through
// one link are rate-limited, so that a published link cannot be used to flood the instance with
// accounts. A link that ended (revoked or expired) stops working at once and is kept a while only
// so that its owner sees it in the list: each account keeps its newest kEndedKept ended links, and
// the others are forgotten, in memory and on disk. Owns the links (in memory and their records):
// every change is staged in a Change, so memory and disk move together. Lives on the domain's
// thread; not thread-safe. Callbacks run on that thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/domain/context.h"
#include "server/domain/identity.h"

namespace cercle::domain {

struct ContactLinkState {
  AccountId owner = 0;
  std::string label;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // 0: never.
  bool revoked = false;
  uint32_t registrations = 0;
  std::vector<int64_t> recent_registrations;  // Times within the last hour, for the rate limit.
  std::string presentation;                   // Shown to visitors: a few words by the owner.

  bool usable(int64_t now_ms) const { return !revoked && (expires_ms == 0 || now_ms < expires_ms); }
};

class ContactLinks {
 public:
  static constexpr size_t kEndedKept = 5;  // Ended links each account keeps, newest first.

  template <class T>
  using Done = std::function<void(Result<T>)>;

  ContactLinks(Context ctx, const Identity& identity) : ctx_(ctx), identity_(identity) {}

  // Reads every stored link; call once at start-up, after the accounts. Errors: kInternal (a read
  // failed, or a link whose owner is no account: the data folder was damaged).
  [[nodiscard]] Status load();
  // Links kept, ended ones included.
  size_t size() const { return links_.size(); }

  // Creates a link owned by the actor's account. expires_in_ms 0: never. Links are for peer
  // helpers: a professional meets people only through groups that invite them.
  // Errors: kInvalidArgument (label over 64 bytes, presentation over 500), kLimitReached (too many
  // active links), kForbidden (a professional account).
  void create(DeviceId actor, std::string_view label, int64_t expires_in_ms,
              std::string_view presentation, Done<ContactLinkView> done);
  void create(DeviceId actor, std::string_view label, int64_t expires_in_ms,
              Done<ContactLinkView> done) {
    create(actor, label, expires_in_ms, {}, std::move(done));
  }
  // The actor's account's links, newest first.
  std::vector<ContactLinkView> list(DeviceId actor) const;
  // Errors: kNotFound (unknown, or not the actor's).
  void revoke(DeviceId actor, std::string_view token, Done<Ok> done);
  // Forgets, for every account, the ended links beyond its newest kEndedKept, and deletes their
  // records. Returns how many. Run at start-up and periodically (links also end by expiring).
  size_t forget_ended();
  // The link with its owner. Errors: kNotFound (unknown, expired or revoked, or its owner is now a
  // professional: not told apart).
  Result<ContactLinkView> resolve(std::string_view token) const;

  // Ends every link of `account` (revoked, kept as ended links are), as part of `change`: its
  // owner became a professional.
  void end_links_of(Change& change, AccountId account);
  // Forgets every link of `account`, in memory and on disk, as part of `change`: it was deleted.
  void erase_links_of(Change& change, AccountId account);

  // Whether a visitor may register through this link now. Errors: kRegistrationCodeRequired
  // (the instance does not allow it), kRegistrationCodeInvalid (unusable link), kRateLimited.
  Status check_registration(std::string_view token) const;
  // Counts a registration through the link, as part of `change`.
  void record_registration(std::string_view token, Change& change);

 private:
  ContactLinkView view(const std::string& token, const ContactLinkState& link) const;
  // Whether the link works now: not ended, and its owner still a peer helper.
  bool works(const ContactLinkState& link, int64_t now_ms) const;
  // Stages `link` under `token`: its record and its place in memory.
  void put(Change& change, const std::string& token, ContactLinkState link);
  // Stages forgetting `token`, in memory and on disk.
  void erase(Change& change, const std::string& token);
  // Forgets the ended links of `account` (`ending`, if not empty, counts as ended: the change
  // revokes it) beyond its newest kEndedKept, as part of `change`; returns how many.
  size_t forget_ended(AccountId account, int64_t now_ms, Change& change,
                      std::string_view ending = {});
  // Forgets the links of `ended` (one account's ended tokens) beyond the newest kEndedKept, as
  // part of `change`.
  size_t forget_oldest(std::vector<std::string>& ended, Change& change);

  Context ctx_;
  const Identity& identity_;
  std::unordered_map<std::string, ContactLinkState> links_;  // Token -> link.
  int64_t last_created_ms_ = 0;  // The newest link's creation time: each new one is later.
};

}  // namespace cercle::domain
