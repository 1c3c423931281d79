// Domain: the relay's rules, without transport or storage engine. Owns the services (Identity,
// DeviceRequests, KeyPackages, Conversations, ContactLinks, Groups), each of which owns its own
// state in memory and its records; there is no shared state.
//
// Lives on one thread (the server's io_context thread): every call and every completion callback
// runs there. The Store, GroupCommitter, Clock and Outbox outlive it.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "server/domain/contact_links.h"
#include "server/domain/conversations.h"
#include "server/domain/device_requests.h"
#include "server/domain/groups.h"
#include "server/domain/identity.h"
#include "server/domain/key_packages.h"
#include "server/domain/outbox.h"
#include "server/domain/push_subscriptions.h"

namespace cercle::domain {

class Domain {
 public:
  Domain(Config config, storage::Store& store, storage::GroupCommitter& committer,
         const Clock& clock, Outbox& outbox, KeyPackages::LowStock low_stock = nullptr)
      : config_(std::move(config)),
        ctx_{config_, store, committer, clock},
        identity_(ctx_),
        device_requests_(
            config_, identity_.accounts(),
            [this](std::string_view key) {
              return key_packages_.mls_key_owner(std::string(key)) != 0;
            },
            clock),
        key_packages_(ctx_, identity_, std::move(low_stock)),
        conversations_(ctx_, identity_, key_packages_, outbox),
        contact_links_(ctx_, identity_),
        groups_(ctx_, identity_, conversations_, outbox),
        push_subscriptions_(ctx_, identity_) {
    identity_.set_contact_links(&contact_links_);
    identity_.set_key_packages(&key_packages_);
    identity_.set_device_requests(&device_requests_);
  }

  // Loads the state from the store. Call once, before anything else. Errors: kInternal (a read
  // failed, or a record is damaged: start-up stops rather than run without it).
  [[nodiscard]] Status load();

  const Config& config() const { return config_; }
  const std::string& instance_id() const { return ctx_.store.instance_id(); }
  Identity& identity() { return identity_; }
  const Identity& identity() const { return identity_; }
  DeviceRequests& device_requests() { return device_requests_; }
  KeyPackages& key_packages() { return key_packages_; }
  const KeyPackages& key_packages() const { return key_packages_; }
  Conversations& conversations() { return conversations_; }
  const Conversations& conversations() const { return conversations_; }
  ContactLinks& contact_links() { return contact_links_; }
  Groups& groups() { return groups_; }
  PushSubscriptions& push_subscriptions() { return push_subscriptions_; }
  const PushSubscriptions& push_subscriptions() const { return push_subscriptions_; }
  template <class T>
  using Done = std::function<void(Result<T>)>;

  // Deletes an account (account_deletion.cpp), in two phases. At once, in one change: it can no
  // longer sign in (kAuthFailed) or be found (lookup, key packages, invitations: kNotFound), its
  // key packages, contact links, push subscriptions, pending device requests and the sealed reports
  // held for its devices go, and its handle is never given again. `done` gets its devices, whose
  // connections the caller closes. Then, once none of its devices is a member of any conversation
  // (the others commit their removal), purge_deleted_accounts() deletes its last records but its
  // handle's hash. `handle` must be the account's own, as a confirmation. actor 0: the server
  // machine's command line, which deletes the account of `handle`. Errors: kInvalidArgument (not
  // the actor's handle: nothing is deleted), kNotFound (actor 0, no such account),
  // kNotAuthenticated.
  void delete_account(DeviceId actor, std::string_view handle, Done<std::vector<DeviceId>> done);
  // Phase 2 for every deleted account whose devices left every conversation; returns how many
  // were purged. Run at start-up and periodically, with ContactLinks::forget_ended.
  size_t purge_deleted_accounts();
  // Accounts deleted since start-up, for the server's metrics.
  uint64_t accounts_deleted() const { return accounts_deleted_; }

  // Counts for the instance admin.
  InstanceStats stats() const;
  // Sizes for the server's metrics, cheap enough for every scrape.
  DomainCounts counts() const;

 private:
  Config config_;
  Context ctx_;
  Identity identity_;
  DeviceRequests device_requests_;
  KeyPackages key_packages_;
  Conversations conversations_;
  ContactLinks contact_links_;
  Groups groups_;
  PushSubscriptions push_subscriptions_;
  uint64_t accounts_deleted_ = 0;

  // The account `actor` may delete with `handle` (errors as delete_account).
  Result<const AccountState*> deletable(DeviceId actor, std::string_view handle) const;
  // Phase 2 for one deleted account, if its devices are members of nothing any more.
  bool purge_if_done(AccountId id);
  // Erases the reports sealed to these devices: nobody can open them any more.
  void drop_sealed_reports(const std::vector<DeviceId>& devices);
};

}  // namespace cercle::domain
