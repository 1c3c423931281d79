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

#include "client-lib/sdk/result.h"

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
  std::string sender;        // The sender's handle, from its MLS credential.
  int64_t time_ms = 0;       // The server's time of receipt.
  std::string text;
  bool own = false;
};

struct Member {
  std::string handle;
  uint32_t leaf = 0;
  bool self = false;
};

struct ConversationSummary {
  std::string id;
  bool direct = false;
  uint64_t epoch = 0;
  std::vector<std::string> members;  // Handles, from MLS.
  bool left = false;
};

struct Event {
  enum class Kind { kMessage, kJoined, kMembersChanged, kLeft, kWarning };
  Kind kind = Kind::kMessage;
  std::string conversation;
  Message message;     // kMessage.
  std::string detail;  // kWarning: what went wrong, in plain words.
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
  // Creates a group with this device alone; returns its id.
  Result<std::string> create_group();
  // Adds every device of `handle` that has a KeyPackage. Errors: kNotFound, kServer, kProtocol.
  Status add_member(const std::string& conversation, std::string_view handle);
  // Removes every leaf whose credential is `handle`. Errors: kNotFound, kServer.
  Status remove_member(const std::string& conversation, std::string_view handle);
  // Asks to leave (a self-removal proposal that another member's client commits).
  Status leave(const std::string& conversation);
  // Encrypts and sends; returns the message's sequence number.
  Result<uint64_t> send_text(const std::string& conversation, std::string_view text);

  // Waits up to `timeout` for incoming entries, processes them in order, and returns what
  // happened. Errors: kNetwork (connection lost), kStorage.
  Result<std::vector<Event>> poll(std::chrono::milliseconds timeout);

  std::vector<ConversationSummary> conversations() const;
  Result<std::vector<Message>> history(const std::string& conversation) const;
  Result<std::vector<Member>> members(const std::string& conversation) const;
  Result<uint64_t> epoch(const std::string& conversation) const;
  Result<std::string> epoch_authenticator(const std::string& conversation) const;

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cercle::client
