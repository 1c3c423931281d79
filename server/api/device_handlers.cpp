// Session's handlers for device requests (pairing a new device): RequestDevice on a connection that
// has not authenticated, ListDeviceRequests for the account's devices, and PostPairingNonce /
// GetDeviceRequest for both sides.
#include <sodium.h>

#include "server/api/frames.h"
#include "server/api/session.h"

namespace cercle::api {

void Session::on_new_device_request(uint64_t id, const v1::RequestDevice& request) {
  // Anyone may ask, and each request is kept for minutes: counted like a registration.
  if (auto limited = hub_.limit(Limited::kRegistration, peer_.key())) return fail(id, *limited);
  while (pairing_token_ == 0) randombytes_buf(&pairing_token_, sizeof pairing_token_);
  auto made = hub_.domain().device_requests().request(
      {request.handle(), request.device_public_key(), request.mls_key(), request.possession(),
       request.commitment()},
      pairing_token_);
  if (!made) return fail(id, made.error());
  // The request is followed from this connection only: it stays open at least as long as the
  // request lives (its deadline moves by the request's lifetime).
  pairing_grace_ms_ = static_cast<uint32_t>(hub_.domain().config().device_request_ttl_ms);
  v1::Response response;
  response.set_request_id(id);
  fill_device_request(*made, *response.mutable_device_request());
  respond(response);
}

void Session::on_device_request(uint64_t id, const v1::ClientFrame& frame) {
  auto& requests = hub_.domain().device_requests();
  v1::Response response;
  response.set_request_id(id);
  if (frame.has_request_device()) return on_new_device_request(id, frame.request_device());
  if (frame.has_list_device_requests()) {
    auto* list = response.mutable_device_requests();
    for (const auto& v : requests.list(device_)) fill_device_request(v, *list->add_requests());
    return respond(response);
  }
  // Before authentication these are a new device polling its request: bounded per address like
  // authentication attempts. A device of the account posting its nonce counts as a message.
  const bool posts = frame.has_post_pairing_nonce();
  if (phase_ != Phase::kAuthenticated || posts) {
    const auto what =
        phase_ == Phase::kAuthenticated ? Limited::kMessage : Limited::kAuthentication;
    if (auto limited = hub_.limit(what, peer_.key(), account_)) return fail(id, *limited);
  }
  auto result =
      posts ? requests.post_nonce(frame.post_pairing_nonce().request_id(),
                                  frame.post_pairing_nonce().nonce(), device_, pairing_token_)
            : requests.get(frame.get_device_request().request_id(), device_, pairing_token_);
  if (!result) return fail(id, result.error());
  fill_device_request(*result, *response.mutable_device_request());
  respond(response);
}

}  // namespace cercle::api
