/* cercle.h: the C API of the Cercle client SDK, for mobile apps and other languages.
 *
 * A cercle_client keeps one device's keys and conversations in an encrypted local folder and talks
 * to one Cercle server. Everything is end-to-end encrypted (MLS). Calls block until done (bounded
 * by a timeout); nothing runs in the background. A client is used from one thread at a time.
 *
 * Errors: every call returns a cercle_status; cercle_last_error() explains the last failure in
 * words (the string lives until the next call on the same client). Conversation ids are 32
 * lowercase hex characters, written into caller buffers of CERCLE_ID_SIZE bytes (with the NUL).
 */
#ifndef CERCLE_CERCLE_H_
#define CERCLE_CERCLE_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CERCLE_ID_SIZE 33

typedef enum {
  CERCLE_OK = 0,
  CERCLE_ERR_OTHER = 1,
  CERCLE_ERR_INVALID = 2,         /* A bad argument. */
  CERCLE_ERR_BAD_PASSPHRASE = 3,  /* The local store does not open with this passphrase. */
  CERCLE_ERR_NETWORK = 4,         /* Cannot reach the server, or it did not answer in time. */
  CERCLE_ERR_REFUSED = 5,         /* The server or the group refused the request. */
  CERCLE_ERR_NOT_FOUND = 6,       /* No such conversation or account. */
  CERCLE_ERR_NOT_REGISTERED = 7,  /* This device has no account yet. */
  CERCLE_ERR_STORAGE = 8          /* The local store is in use by another program or damaged. */
} cercle_status;

typedef struct cercle_client cercle_client;

typedef struct {
  char conversation[CERCLE_ID_SIZE];
  uint64_t seq;
  const char* sender; /* The sender's handle. Valid during the callback only. */
  const char* text;   /* UTF-8. Valid during the callback only. */
  int64_t time_ms;
  int own;
} cercle_message;

typedef void (*cercle_message_fn)(void* user, const cercle_message* message);

/* Opens (or creates) the local store in data_dir. On success *out is a client to cercle_free. */
cercle_status cercle_open(const char* server_url, const char* data_dir, const char* passphrase,
                          cercle_client** out);
void cercle_free(cercle_client* client);
const char* cercle_last_error(const cercle_client* client);

/* Connects; when the device has an account, authenticates and catches up. */
cercle_status cercle_connect(cercle_client* client);
/* Creates the account; code may be NULL (open instances, or a contact link is used). */
cercle_status cercle_register(cercle_client* client, const char* handle, const char* code);
int cercle_is_registered(const cercle_client* client);

cercle_status cercle_start_direct(cercle_client* client, const char* handle,
                                  char conversation[CERCLE_ID_SIZE]);
cercle_status cercle_create_group(cercle_client* client, char conversation[CERCLE_ID_SIZE]);
cercle_status cercle_add_member(cercle_client* client, const char* conversation, const char* handle);
cercle_status cercle_remove_member(cercle_client* client, const char* conversation,
                                   const char* handle);
cercle_status cercle_leave(cercle_client* client, const char* conversation);
cercle_status cercle_send_text(cercle_client* client, const char* conversation, const char* text,
                               uint64_t* seq);

/* Waits up to timeout_ms for incoming messages and calls on_message for each, in order. */
cercle_status cercle_poll(cercle_client* client, int timeout_ms, cercle_message_fn on_message,
                          void* user);

#ifdef __cplusplus
}
#endif

#endif /* CERCLE_CERCLE_H_ */
