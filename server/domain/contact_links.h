// ContactLinks: web addresses (/c/<token>) through which a visitor reaches a peer helper
// one-to-one, registering in one step (no code) when the instance allows it. The owner creates,
// lists and revokes them; anyone holding a token can see whom it leads to. Registrations through
// one link are rate-limited, so that a published link cannot be used to flood the instance with
// accounts. A link that ended (revoked or expired) stops working at once and is kept a while only
// so that its owner sees it in the list: each account keeps its newest kEndedKept ended links, and
// the others are forgotten, in memory and on disk. Lives on the domain's thread; not thread-safe.
// Callbacks run on that thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/domain/identity.h"
#include "server/domain/state.h"

namespace cercle::domain {

class ContactLinks {
 public:
  static constexpr size_t kEndedKept = 5;  // Ended links each account keeps, newest first.

  template <class T>
  using Done = std::function<void(Result<T>)>;

  ContactLinks(Context ctx, const Identity& identity) : ctx_(ctx), identity_(identity) {}

  // Creates a link owned by the actor's account. expires_in_ms 0: never.
  // Errors: kInvalidArgument (label over 64 bytes), kLimitReached (too many active links).
  void create(DeviceId actor, std::string_view label, int64_t expires_in_ms,
              Done<ContactLinkView> done);
  // The actor's account's links, newest first.
  std::vector<ContactLinkView> list(DeviceId actor) const;
  // Errors: kNotFound (unknown, or not the actor's).
  void revoke(DeviceId actor, std::string_view token, Done<Ok> done);
  // Forgets, for every account, the ended links beyond its newest kEndedKept, and deletes their
  // records. Returns how many. Run at start-up and periodically (links also end by expiring).
  size_t forget_ended();
  // The link with its owner. Errors: kNotFound (unknown, expired or revoked: not told apart).
  Result<ContactLinkView> resolve(std::string_view token) const;

  // Whether a visitor may register through this link now. Errors: kRegistrationCodeRequired
  // (the instance does not allow it), kRegistrationCodeInvalid (unusable link), kRateLimited.
  Status check_registration(std::string_view token) const;
  // Counts a registration through the link; the change joins `batch`.
  void record_registration(std::string_view token, storage::WriteBatch& batch);

 private:
  ContactLinkView view(const std::string& token, const ContactLinkState& link) const;
  static void write(std::string_view token, const ContactLinkState& link,
                    storage::WriteBatch& batch);
  // Forgets the ended links of `account` beyond its newest kEndedKept; returns how many. Their
  // deletion joins `batch`.
  size_t forget_ended(AccountId account, int64_t now_ms, storage::WriteBatch& batch);
  // Forgets the links of `ended` (one account's ended tokens) beyond the newest kEndedKept; their
  // deletion joins `batch`.
  size_t forget_oldest(std::vector<std::string>& ended, storage::WriteBatch& batch);

  Context ctx_;
  const Identity& identity_;
};

}  // namespace cercle::domain
