#include "server/api/frames.h"

#include <algorithm>

namespace cercle::api {

SharedFrame error_frame(uint64_t request_id, const Error& error) {
  v1::Response response;
  response.set_request_id(request_id);
  auto* e = response.mutable_error();
  e->set_code(static_cast<v1::ErrorCode>(error.code));
  e->set_message(error.message);
  e->set_current_epoch(error.current_epoch);
  e->set_retry_after_ms(error.retry_after_ms);
  return response_frame(response);
}

SharedFrame response_frame(const v1::Response& response) {
  // A ServerFrame whose only field is `response` (field 1, length-delimited) is the tag, the
  // length and the Response's own encoding: no copy of the Response into a ServerFrame is needed.
  std::string body = response.SerializeAsString();
  std::string out;
  out.reserve(body.size() + 6);
  out.push_back(0x0a);
  for (size_t n = body.size();; n >>= 7) {
    if (n < 0x80) {
      out.push_back(static_cast<char>(n));
      break;
    }
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
  out.append(body);
  return make_frame(std::move(out));
}

bool is_welcome_for(const storage::LogRecord& record, DeviceId device) {
  const auto& added = record.added_devices();
  return std::find(added.begin(), added.end(), device) != added.end();
}

void fill_delivery(const ConvId& conv, uint64_t seq, const storage::LogRecord& record,
                   bool as_welcome, v1::Delivery& out) {
  out.set_conversation_id(conv.str());
  out.set_seq(seq);
  out.set_kind(as_welcome ? v1::WELCOME : static_cast<v1::DeliveryKind>(record.kind()));
  out.set_epoch(record.epoch());
  out.set_sender_device(record.sender_device());
  out.set_server_time_ms(record.time_ms());
  out.set_payload(as_welcome ? record.welcome() : record.payload());
  out.mutable_added_devices()->CopyFrom(record.added_devices());
  out.mutable_removed_devices()->CopyFrom(record.removed_devices());
  if (record.erased_from() != 0) out.set_erased_from(record.erased_from());
}

SharedFrame delivery_frame(const ConvId& conv, uint64_t seq, const storage::LogRecord& record,
                           bool as_welcome) {
  v1::ServerFrame frame;
  fill_delivery(conv, seq, record, as_welcome, *frame.mutable_deliveries()->add_deliveries());
  return make_frame(frame.SerializeAsString());
}

void fill_account(const domain::AccountView& in, v1::AccountInfo& out) {
  out.set_account_id(in.id);
  out.set_handle(in.handle);
  out.set_type(static_cast<v1::AccountType>(in.type));
  for (const auto& d : in.devices) {
    auto* device = out.add_devices();
    device->set_device_id(d.id);
    device->set_public_key(d.public_key.data(), d.public_key.size());
  }
  // Every stored link was checked and encoded by the relay itself: it parses.
  for (const auto& link : in.chain) out.add_chain()->ParseFromString(link);
}

void fill_device_request(const domain::DeviceRequestView& in, v1::DeviceRequestInfo& out) {
  out.set_request_id(in.request_id);
  out.set_handle(in.handle);
  out.set_device_public_key(in.device_key);
  out.set_mls_key(in.mls_key);
  out.set_possession(in.possession);
  out.set_commitment(in.commitment);
  out.set_approver_nonce(in.approver_nonce);
  out.set_device_nonce(in.device_nonce);
  out.set_created_ms(static_cast<uint64_t>(in.created_ms));
  out.set_device_id(in.device_id);
}

void fill_conversation(const domain::ConvView& in, v1::ConversationInfo& out) {
  out.set_conversation_id(in.id.str());
  out.set_kind(static_cast<v1::ConversationKind>(in.kind));
  out.set_epoch(in.epoch);
  out.set_head_seq(in.head_seq);
  out.set_cursor(in.cursor);
  for (const auto& m : in.members) {
    auto* member = out.add_members();
    member->set_device_id(m.device_id);
    member->set_account_id(m.account_id);
    member->set_handle(m.handle);
    member->set_type(static_cast<v1::AccountType>(m.type));
    member->set_leaf(m.leaf);
  }
}

void fill_auth(const domain::AuthInfo& in, v1::AuthResult& out) {
  out.set_account_id(in.account_id);
  out.set_device_id(in.device_id);
  out.set_handle(in.handle);
  out.set_type(static_cast<v1::AccountType>(in.type));
  out.set_admin(in.admin);
}

void fill_contact_link(const domain::ContactLinkView& in, v1::ContactLinkInfo& out) {
  out.set_token(in.token);
  out.set_label(in.label);
  out.set_created_ms(in.created_ms);
  out.set_expires_at_ms(in.expires_ms);
  out.set_revoked(in.revoked);
  out.set_registrations(in.registrations);
  out.set_presentation(in.presentation);
  if (in.owner) fill_account(*in.owner, *out.mutable_owner());
}

uint64_t leading_request_id(std::string_view bytes) {
  // request_id is field 1, a varint: tag byte 0x08. Serializers write fields in number order.
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != 0x08) return 0;
  uint64_t value = 0;
  for (size_t i = 1; i < bytes.size() && i <= 10; ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    value |= static_cast<uint64_t>(b & 0x7f) << (7 * (i - 1));
    if ((b & 0x80) == 0) return value;
  }
  return 0;
}

}  // namespace cercle::api
