// Encoding of server frames and conversions between domain values and wire messages.
// Pure functions; safe on any thread.
#pragma once

#include <cstdint>
#include <string>

#include "proto/cercle.pb.h"
#include "server/api/connection.h"
#include "server/common/result.h"
#include "server/domain/types.h"
#include "server/storage/records.pb.h"

namespace cercle::api {

// Returns the encoded Response frame for `request_id` holding `error`.
SharedFrame error_frame(uint64_t request_id, const Error& error);

// Returns the encoded frame of a filled-in Response.
SharedFrame response_frame(const v1::Response& response);

// Returns the DeliveryBatch frame of one log entry as `device` receives it: a device the entry adds
// gets the Welcome in place of the commit.
SharedFrame delivery_frame(const ConvId& conv, uint64_t seq, const storage::LogRecord& record,
                           bool as_welcome);

// Whether `device` receives entry `record` as its Welcome.
bool is_welcome_for(const storage::LogRecord& record, DeviceId device);

// Fills `out` with the delivery of one log entry (see delivery_frame).
void fill_delivery(const ConvId& conv, uint64_t seq, const storage::LogRecord& record,
                   bool as_welcome, v1::Delivery& out);

void fill_account(const domain::AccountView& in, v1::AccountInfo& out);
void fill_conversation(const domain::ConvView& in, v1::ConversationInfo& out);
void fill_auth(const domain::AuthInfo& in, v1::AuthResult& out);
void fill_contact_link(const domain::ContactLinkView& in, v1::ContactLinkInfo& out);
void fill_device_request(const domain::DeviceRequestView& in, v1::DeviceRequestInfo& out);

// Reads the request id at the start of a possibly truncated or invalid ClientFrame encoding, so
// that an error about an unparsable frame can still name its request. Returns 0 when there is none.
uint64_t leading_request_id(std::string_view bytes);

}  // namespace cercle::api
