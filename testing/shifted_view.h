// The sequence numbers a tampering relay (testing/tamper_proxy.h) shows one device after it
// injected entries the real server never logged. For the device, an injected entry takes the next
// sequence number of its conversation, and every real entry from there on moves up by one, so
// that the device's log has no gap and no duplicate; numbers the device sends back (Ack, FetchLog,
// DeleteEntry, ReportToAdmins) are moved down again before they reach the real server.
//
// DeviceView is per device (it outlives a connection: a reconnecting device keeps its numbering);
// FrameRewriter is per connection (request ids restart with each connection). No Beast here.
// Values only; used on the relay's io thread alone.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proto/cercle.pb.h"

namespace cercle::testing {

class DeviceView {
 public:
  DeviceView(std::string handle, uint64_t device_id)
      : handle_(std::move(handle)), device_id_(device_id) {}

  const std::string& handle() const { return handle_; }
  uint64_t device_id() const { return device_id_; }

  // Whether anything of `conv` reached this device: it reads that conversation.
  bool reads(const std::string& conv) const { return convs_.contains(conv); }
  // Makes `entry` the next entry of its conversation for this device; returns the seq it gets.
  uint64_t inject(v1::Delivery& entry);
  // The entries injected into `conv`, in order.
  const std::vector<v1::Delivery>& injected(const std::string& conv) const;

  // A real entry's seq as this device sees it.
  uint64_t entry_to_view(const std::string& conv, uint64_t real) const;
  // A real "up to" value (head of the log, cursor) as this device sees it: everything before the
  // next real entry, so an injected entry right after `real` is included.
  uint64_t bound_to_view(const std::string& conv, uint64_t real) const;
  // A seq the device names as "up to" (Ack, FetchLog.after_seq), in the real log: an injected
  // entry stands for the real entry before it.
  uint64_t bound_to_real(const std::string& conv, uint64_t view) const;
  // A seq the device names as one entry (DeleteEntry, ReportToAdmins) in the real log; 0 for an
  // injected entry, which the real log does not have (the server then refuses the request).
  uint64_t entry_to_real(const std::string& conv, uint64_t view) const;
  // Records that this device was shown `view` in `conv` (the next injection goes after it).
  void saw(const std::string& conv, uint64_t view);

 private:
  struct Conv {
    uint64_t max_seen = 0;               // Highest seq shown to the device, in its numbering.
    std::vector<v1::Delivery> injected;  // Ascending seqs, in the device's numbering.
  };
  std::string handle_;
  uint64_t device_id_ = 0;
  std::map<std::string, Conv> convs_;  // By raw conversation id.
};

class FrameRewriter {
 public:
  // Before authentication nothing carries a seq: the rewriter passes frames through unchanged.
  void attach(std::shared_ptr<DeviceView> view) { view_ = std::move(view); }
  const std::shared_ptr<DeviceView>& view() const { return view_; }

  // Moves the seqs of a client frame into the real log's numbering. Returns true if it changed.
  bool to_server(v1::ClientFrame& frame);
  // Moves the seqs of a server frame into the device's numbering (and shows injected entries in
  // FetchLog pages that cover them). Returns true if it changed.
  bool to_client(v1::ServerFrame& frame);

 private:
  // What a response needs from its request: results such as SendResult do not name their
  // conversation, and a FetchLog page is placed by its after_seq.
  struct Pending {
    std::string conv;
    uint64_t after_view = 0;
  };
  bool rewrite_response(v1::Response& r, const Pending* pending);
  bool rewrite_info(v1::ConversationInfo& info);
  bool rewrite_delivery(v1::Delivery& d);
  bool rewrite_log(v1::LogEntries& log, const Pending& pending);

  std::shared_ptr<DeviceView> view_;
  std::map<uint64_t, Pending> pending_;  // By request id.
};

}  // namespace cercle::testing
