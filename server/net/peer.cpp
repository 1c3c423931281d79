#include "server/net/peer.h"

#include <algorithm>
#include <utility>

namespace cercle::net {

namespace ip = boost::asio::ip;

namespace {

ip::address unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<ip::address>> parse_proxies(const std::vector<std::string>& texts) {
  std::vector<ip::address> out;
  for (const auto& t : texts) {
    boost::system::error_code ec;
    const auto a = ip::make_address(t, ec);
    if (ec)
      return make_error(Errc::kInvalidArgument, "server.trusted_proxies: not an IP address: " + t);
    out.push_back(unmapped(a));
  }
  return out;
}

ip::address client_address(const ip::address& remote, std::string_view forwarded_for,
                           const std::vector<ip::address>& trusted) {
  const ip::address peer = unmapped(remote);
  if (forwarded_for.empty() || std::find(trusted.begin(), trusted.end(), peer) == trusted.end())
    return peer;
  const auto comma = forwarded_for.rfind(',');
  const std::string_view last =
      trimmed(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
  boost::system::error_code ec;
  const auto forwarded = ip::make_address(std::string(last), ec);
  return ec ? peer : unmapped(forwarded);
}

api::PeerAddress peer_of(const ip::address& address) {
  api::PeerAddress peer;
  if (address.is_v4()) {
    const auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), peer.bytes.begin());
  } else {
    peer.v6 = true;
    peer.bytes = address.to_v6().to_bytes();
  }
  return peer;
}

bool is_trusted_proxy(const ip::address& remote, const std::vector<ip::address>& trusted) {
  return std::find(trusted.begin(), trusted.end(), unmapped(remote)) != trusted.end();
}

AddressSlot::Slot(Slot&& other) noexcept : entry_(std::exchange(other.entry_, nullptr)) {}

AddressSlot& AddressSlot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    entry_ = std::exchange(other.entry_, nullptr);
  }
  return *this;
}

AddressSlot::~Slot() { release(); }

void AddressSlot::release() {
  if (entry_) entry_->second.owner->give_back(std::exchange(entry_, nullptr));
}

AddressSlot AddressCounts::take(const api::PeerAddress& address, uint32_t max) {
  auto [it, added] = counts_.try_emplace(address.key(), Count{0, this});
  if (it->second.open >= max) {
    if (added) counts_.erase(it);
    return {};
  }
  ++it->second.open;
  return Slot(&*it);
}

uint32_t AddressCounts::count(const api::PeerAddress& address) const {
  auto it = counts_.find(address.key());
  return it == counts_.end() ? 0 : it->second.open;
}

void AddressCounts::give_back(Counts::value_type* entry) {
  if (--entry->second.open == 0) counts_.erase(counts_.find(entry->first));
}

}  // namespace cercle::net
