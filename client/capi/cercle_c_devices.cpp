// The C API's device approval calls (client/include/cercle/cercle.h), over the SDK's.
#include <chrono>
#include <cstring>

#include "client/capi/capi_internal.h"

using cercle::capi::copy_id;
using cercle::capi::finish;

extern "C" {

cercle_status cercle_request_device(cercle_client* c, const char* handle,
                                    char request[CERCLE_ID_SIZE]) {
  if (!c || !handle || !request) return CERCLE_ERR_INVALID;
  auto id = c->impl->request_device(handle);
  if (id) copy_id(*id, request);
  return finish(c, id);
}

cercle_status cercle_pairing_code(cercle_client* c, int timeout_ms, char code[CERCLE_CODE_SIZE]) {
  if (!c || !code || timeout_ms < 0) return CERCLE_ERR_INVALID;
  auto got = c->impl->pairing_code(std::chrono::milliseconds(timeout_ms));
  if (got) {
    std::strncpy(code, got->c_str(), CERCLE_CODE_SIZE - 1);
    code[CERCLE_CODE_SIZE - 1] = '\0';
  }
  return finish(c, got);
}

cercle_status cercle_await_approval(cercle_client* c, int timeout_ms) {
  if (!c || timeout_ms < 0) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->await_approval(std::chrono::milliseconds(timeout_ms)));
}

cercle_status cercle_start_approval(cercle_client* c, const char* request) {
  if (!c || !request) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->start_approval(request));
}

cercle_status cercle_approve_device(cercle_client* c, const char* request, const char* code) {
  if (!c || !request || !code) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->approve_device(request, code));
}

}  // extern "C"
