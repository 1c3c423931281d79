// DeviceRequests: new devices asking to join an account (pairing), kept in memory only.
//
// A new device, on a connection that has not authenticated, asks to become a device of a handle and
// commits to a nonce. The account's devices list the pending requests; one of them posts its own
// nonce, then the new device reveals the nonce it committed to, so both can show the same
// policy::pairing_code. A person who finds the two codes equal approves the new device with
// AddDevice (Identity), which tells this service the device's id; the new device, polling its
// request, learns it and authenticates with its key.
//
// Requests expire after Config::device_request_ttl_ms and are bounded per account and per server:
// nothing here is written to disk, and a restart forgets every request. Lives on the domain's
// thread; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cercle/base/clock.h"
#include "server/common/result.h"
#include "server/domain/accounts.h"
#include "server/domain/types.h"

namespace cercle::domain {

class DeviceRequests {
 public:
  // Whether an MLS key is already a device's (KeyPackages knows).
  using MlsKeyTaken = std::function<bool(std::string_view mls_key)>;

  // Reads accounts and devices from `accounts` (Identity's).
  DeviceRequests(const Config& config, const Accounts& accounts, MlsKeyTaken mls_key_taken,
                 const Clock& clock)
      : config_(config),
        accounts_(accounts),
        mls_key_taken_(std::move(mls_key_taken)),
        clock_(clock) {}

  struct NewRequest {
    std::string_view handle;
    std::string_view device_key;
    std::string_view mls_key;
    std::string_view possession;  // policy::sign_possession by device_key.
    std::string_view commitment;  // policy::commitment of the new device's nonce.
  };

  // Records a request; `requester` is a nonzero token of the asking connection, which alone (with
  // the account's devices) sees the request afterwards. Errors: kInvalidArgument (key or
  // commitment sizes), kInvalidHandle, kNotFound (no such account), kForbidden (the possession
  // proof does not verify), kDeviceKeyTaken (the key is already a device's), kLimitReached (too
  // many pending requests for the account or the server).
  Result<DeviceRequestView> request(const NewRequest& r, uint64_t requester);

  // The pending requests of the actor's account, oldest first.
  std::vector<DeviceRequestView> list(DeviceId actor);

  // Posts a nonce: from a device of the account, the approver's (once); from the requester, the
  // nonce behind its commitment, once the approver's exists. Errors: kNotFound (no such request,
  // or neither the requester nor a device of its account: the two are not told apart),
  // kInvalidArgument (not 32 bytes, posted already, or the approver's nonce is missing),
  // kForbidden (the nonce does not match the commitment).
  Result<DeviceRequestView> post_nonce(std::string_view request_id, std::string_view nonce,
                                       DeviceId actor, uint64_t requester);

  // The request, for its requester or a device of its account. Errors: kNotFound.
  Result<DeviceRequestView> get(std::string_view request_id, DeviceId actor, uint64_t requester);

  // `device` was just added with `key`: the account's pending requests for that key learn its id.
  void approved(const PublicKey& key, DeviceId device);

  // Drops every pending request to join `account` (it was deleted).
  void forget_account(AccountId account);
  size_t pending() const { return requests_.size(); }

 private:
  struct Pending {
    DeviceRequestView view;
    AccountId account = 0;
    uint64_t requester = 0;
  };
  // Drops the requests past their lifetime.
  void expire();
  // The request if `requester` made it or `actor` is a device of its account, else null.
  Pending* visible(std::string_view request_id, DeviceId actor, uint64_t requester);
  bool is_device_of(DeviceId actor, AccountId account) const;

  const Config& config_;
  const Accounts& accounts_;
  MlsKeyTaken mls_key_taken_;
  const Clock& clock_;
  std::unordered_map<std::string, Pending> requests_;   // By request id.
  std::deque<std::pair<int64_t, std::string>> by_age_;  // (created_ms, id), oldest first.
  std::unordered_map<AccountId, std::vector<std::string>> by_account_;  // Ids, oldest first.
};

}  // namespace cercle::domain
