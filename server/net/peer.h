// Who a connection is, for rate limits and the loopback-only /metrics: the TCP peer's address, with
// IPv4-mapped IPv6 addresses (a dual-stack listener's IPv4 clients) read as the IPv4 addresses they
// are, and, when that peer is a trusted reverse proxy, the address it says it forwards for (the
// last one of X-Forwarded-For, the one the proxy itself added). Pure functions; any thread.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/api/connection.h"
#include "server/common/result.h"

namespace cercle::net {

// Parses `[server] trusted_proxies`. Errors: kInvalidArgument naming the bad entry.
[[nodiscard]] Result<std::vector<boost::asio::ip::address>> parse_proxies(
    const std::vector<std::string>& texts);

// The client's address: see the file comment. `forwarded_for` is the X-Forwarded-For header ("" if
// none).
boost::asio::ip::address client_address(const boost::asio::ip::address& remote,
                                        std::string_view forwarded_for,
                                        const std::vector<boost::asio::ip::address>& trusted);

api::PeerAddress peer_of(const boost::asio::ip::address& address);

// Whether the TCP peer `remote` is one of the trusted reverse proxies.
bool is_trusted_proxy(const boost::asio::ip::address& remote,
                      const std::vector<boost::asio::ip::address>& trusted);

// Open connections per client address (an IPv4 address, or an IPv6 /64 as rate limits key them),
// so that one address cannot take every connection the server allows. Lives on the io thread with
// the connections; outlives every slot it gave.
class AddressCounts {
 public:
  class Slot;
  AddressCounts() = default;
  AddressCounts(const AddressCounts&) = delete;  // Slots point into it.
  AddressCounts& operator=(const AddressCounts&) = delete;
  // A slot for `address`, or an empty one when it already has `max` connections.
  Slot take(const api::PeerAddress& address, uint32_t max);
  uint32_t count(const api::PeerAddress& address) const;
  size_t addresses() const { return counts_.size(); }

 private:
  struct Count {
    uint32_t open = 0;
    AddressCounts* owner = nullptr;  // So that a slot needs only a pointer to its entry.
  };
  using Counts = std::unordered_map<std::string, Count>;
  void give_back(Counts::value_type* entry);
  Counts counts_;  // Only addresses with open connections; elements never move.
};

// One open connection counted against its client's address; gives its place back when destroyed.
// Empty (counting nothing) when default-made. One pointer: every connection holds one. Movable,
// not copyable.
class AddressCounts::Slot {
 public:
  Slot() = default;
  Slot(Slot&& other) noexcept;
  Slot& operator=(Slot&& other) noexcept;
  ~Slot();
  explicit operator bool() const { return entry_ != nullptr; }

 private:
  friend class AddressCounts;
  explicit Slot(Counts::value_type* entry) : entry_(entry) {}
  void release();
  Counts::value_type* entry_ = nullptr;
};

using AddressSlot = AddressCounts::Slot;

}  // namespace cercle::net
