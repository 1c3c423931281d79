// The Client's implementation state, shared by client.cpp (account, keys), client_groups.cpp
// (membership changes) and client_sync.cpp (incoming entries, sending). Internal to the SDK.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client-lib/mls/state.h"
#include "client-lib/sdk/client.h"
#include "client-lib/sdk/connection.h"
#include "client-lib/sdk/local.pb.h"
#include "client-lib/sdk/local_store.h"

namespace cercle::client {

inline constexpr size_t kKeyPackageStock = 20;   // Published at registration and topped up to.
inline constexpr int kMaxCommitAttempts = 6;     // Retries when another member committed first.

std::string to_hex(std::string_view bytes);
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
  bool dirty = false;  // Changed since last saved.
  std::set<uint32_t> leaving;  // Leaves that proposed their own removal in this epoch.
  uint64_t acked = 0;
};

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
  void apply_application(Conv& conv, const v1::Delivery& d);
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
  void commit_pending_self_removals(Conv& conv);
};

}  // namespace cercle::client
