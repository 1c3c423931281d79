/* A small program in C on the Cercle C API: opens a device's local store, registers it if needed,
 * starts a one-to-one conversation with PEER, sends TEXT, then prints replies for a few seconds.
 *
 *   CERCLE_PASSPHRASE=... hello_cercle ws://127.0.0.1:8080/ws DATA_DIR HANDLE PEER TEXT
 */
#include <stdio.h>
#include <stdlib.h>

#include "cercle/cercle.h"

static void print_message(void* user, const cercle_message* m) {
  (void)user;
  printf("%s: %s\n", m->sender, m->text);
}

static int check(cercle_client* client, cercle_status status, const char* what) {
  if (status == CERCLE_OK) return 0;
  fprintf(stderr, "hello_cercle: %s: %s\n", what, cercle_last_error(client));
  return (int)status;
}

int main(int argc, char** argv) {
  const char* passphrase = getenv("CERCLE_PASSPHRASE");
  if (argc != 6 || !passphrase) {
    fprintf(stderr, "usage: CERCLE_PASSPHRASE=... %s SERVER DATA_DIR HANDLE PEER TEXT\n", argv[0]);
    return 2;
  }
  cercle_client* client = NULL;
  cercle_status status = cercle_open(argv[1], argv[2], passphrase, &client);
  if (status != CERCLE_OK) {
    fprintf(stderr, "hello_cercle: cannot open the local store (%d)\n", (int)status);
    return (int)status;
  }
  int rc = check(client, cercle_connect(client), "connect");
  if (!rc && !cercle_is_registered(client))
    rc = check(client, cercle_register(client, argv[3], NULL), "register");
  char conversation[CERCLE_ID_SIZE];
  if (!rc)
    rc = check(client, cercle_start_direct(client, argv[4], conversation), "start a conversation");
  uint64_t seq = 0;
  if (!rc) rc = check(client, cercle_send_text(client, conversation, argv[5], &seq), "send");
  if (!rc) {
    printf("%s\n", conversation);
    fflush(stdout);
    for (int i = 0; i < 3 && !rc; ++i)
      rc = check(client, cercle_poll(client, 1000, print_message, NULL), "poll");
  }
  cercle_free(client);
  return rc;
}
