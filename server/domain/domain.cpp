#include "server/domain/domain.h"

namespace cercle::domain {

Status Domain::load() {
  // In dependency order: each loader checks that what its records name was loaded before.
  if (auto s = identity_.load(); !s) return s;
  if (auto s = key_packages_.load(); !s) return s;
  if (auto s = conversations_.load(); !s) return s;
  if (auto s = groups_.load(); !s) return s;
  if (auto s = push_subscriptions_.load(); !s) return s;
  return contact_links_.load();  // After the accounts: each link names its owner.
}

InstanceStats Domain::stats() const {
  InstanceStats s;
  const Accounts& accounts = identity_.accounts();
  s.accounts = accounts.accounts().size();
  for (const auto& [id, a] : accounts.accounts()) {
    s.professionals += a.type == AccountType::kProfessional;
    s.suspended += a.suspended;
  }
  s.devices = accounts.devices().size();
  s.key_packages = key_packages_.stored();
  for (const auto& [id, c] : conversations_.all()) {
    (c.kind == ConvKind::kDirect ? s.direct_conversations : s.group_conversations) += 1;
    s.log_entries += c.durable_seq;
  }
  s.contact_links = contact_links_.size();
  s.registration_codes_unused = identity_.registration_codes_unused();
  return s;
}

DomainCounts Domain::counts() const {
  return DomainCounts{identity_.accounts().accounts().size(), identity_.accounts().devices().size(),
                      conversations_.all().size(), contact_links_.size()};
}

}  // namespace cercle::domain
