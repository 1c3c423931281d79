// Outbox: how the domain hands durable log entries, and events for particular devices, to whoever
// delivers them live (the api layer, which knows the connected devices). Called on the domain's
// thread.
#pragma once

#include <span>

#include "proto/cercle.pb.h"
#include "server/common/ids.h"
#include "server/storage/records.pb.h"

namespace cercle::domain {

class Outbox {
 public:
  virtual ~Outbox() = default;

  // Entry `seq` of `conv` is durable. `recipients` are the devices that read it, the sender
  // excluded (it learns the sequence number from its own response). A device listed in
  // record.added_devices() receives the Welcome in place of the commit. The references are valid
  // only during the call.
  virtual void publish(const ConvId& conv, uint64_t seq, const storage::LogRecord& record,
                       std::span<const DeviceId> recipients) = 0;

  // Sends `event` to the connected sessions of these devices; returns how many sessions got it
  // (0: nobody is online, the domain keeps what must reach them later).
  virtual size_t notify(std::span<const DeviceId> devices, const v1::Event& event) {
    (void)devices;
    (void)event;
    return 0;
  }
};

}  // namespace cercle::domain
