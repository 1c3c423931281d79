// Reports: the reports a group's members make, sealed to the facilitators' devices (kept until each
// device acknowledges its own) or revealed to the instance's admins (kept with their answer). Owns
// them in memory and their records; every change is staged in a Change, so memory and disk move
// together. The rules (who may report, limits, notifications) are Groups'. Part of Groups. Lives on
// the domain's thread; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "server/common/ids.h"
#include "server/common/result.h"
#include "server/domain/change.h"
#include "server/storage/store.h"

namespace cercle::domain {

struct AdminReport {
  AccountId reporter = 0;
  ConvId conv;
  uint64_t seq = 0;
  std::string revealed_text;
  std::string reason;
  int64_t created_ms = 0;
  std::string answer;
  bool answer_delivered = false;
};

struct SealedReport {
  ConvId conv;
  AccountId reporter = 0;
  std::string sealed;
  int64_t created_ms = 0;
};

class Reports {
 public:
  using Sealed = std::map<uint64_t, SealedReport>;  // By id, oldest first.

  // Reads every stored report; call once at start-up. Errors: kInternal (a read failed, or a
  // report's conversation id is damaged).
  [[nodiscard]] Status load(const storage::Store& store);

  // The reports waiting for `device`, or null.
  const Sealed* sealed_for(DeviceId device) const;
  // Reports to the admins, by id, oldest first.
  const std::map<uint64_t, AdminReport>& admin() const { return admin_; }
  // A fresh id, for either kind. Taken at once: a change that is dropped only skips it.
  uint64_t take_id() { return next_id_++; }

  // Stages a sealed report for `device`.
  void add_sealed(Change& change, DeviceId device, uint64_t id, SealedReport report);
  // Stages forgetting a sealed report `device` holds.
  void erase_sealed(Change& change, DeviceId device, uint64_t id);
  // Stages a report to the admins, new or updated.
  void put_admin(Change& change, uint64_t id, AdminReport report);

 private:
  std::map<uint64_t, AdminReport> admin_;
  std::unordered_map<DeviceId, Sealed> sealed_;
  uint64_t next_id_ = 1;
};

}  // namespace cercle::domain
