// The C API (client/include/cercle/cercle.h) over cercle::client::Client.
#include "cercle/cercle.h"

#include "client/capi/capi_internal.h"

using namespace cercle::capi;

extern "C" {

cercle_status cercle_open(const char* server_url, const char* data_dir, const char* passphrase,
                          cercle_client** out) {
  if (!server_url || !data_dir || !passphrase || !out) return CERCLE_ERR_INVALID;
  cercle::client::Options options;
  options.server_url = server_url;
  options.data_dir = data_dir;
  options.passphrase = passphrase;
  options.client_name = "cercle-c/0.1";
  auto opened = cercle::client::Client::open(options);
  if (!opened) return status_of(opened.error());
  *out = new cercle_client{std::move(*opened), {}, {}};
  return CERCLE_OK;
}

void cercle_free(cercle_client* client) { delete client; }

const char* cercle_last_error(const cercle_client* client) {
  return client ? client->last_error.c_str() : "no client";
}

cercle_status cercle_connect(cercle_client* c) { return finish(c, c->impl->connect()); }

cercle_status cercle_register(cercle_client* c, const char* handle, const char* code) {
  if (!handle) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->register_account(handle, code ? code : ""));
}

int cercle_is_registered(const cercle_client* c) { return c && c->impl->registered() ? 1 : 0; }

cercle_status cercle_start_direct(cercle_client* c, const char* handle,
                                  char conversation[CERCLE_ID_SIZE]) {
  if (!handle || !conversation) return CERCLE_ERR_INVALID;
  auto id = c->impl->start_direct(handle);
  if (id) copy_id(*id, conversation);
  return finish(c, id);
}

cercle_status cercle_create_group(cercle_client* c, char conversation[CERCLE_ID_SIZE]) {
  if (!conversation) return CERCLE_ERR_INVALID;
  auto id = c->impl->create_group();
  if (id) copy_id(*id, conversation);
  return finish(c, id);
}

cercle_status cercle_add_member(cercle_client* c, const char* conversation, const char* handle) {
  if (!conversation || !handle) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->add_member(conversation, handle));
}

cercle_status cercle_remove_member(cercle_client* c, const char* conversation, const char* handle) {
  if (!conversation || !handle) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->remove_member(conversation, handle));
}

cercle_status cercle_leave(cercle_client* c, const char* conversation) {
  if (!conversation) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->leave(conversation));
}

cercle_status cercle_send_text(cercle_client* c, const char* conversation, const char* text,
                               uint64_t* seq) {
  if (!conversation || !text) return CERCLE_ERR_INVALID;
  auto sent = c->impl->send_text(conversation, text);
  if (sent && seq) *seq = *sent;
  return finish(c, sent);
}

cercle_status cercle_poll(cercle_client* c, int timeout_ms, cercle_message_fn on_message,
                          void* user) {
  return cercle_poll_events(c, timeout_ms, on_message, nullptr, user);
}

}  // extern "C"
