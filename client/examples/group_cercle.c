/* A groupe de parole from C on the Cercle C API: creates a group, gives it a charter, adds MEMBER,
 * puts them in sourdine (muted), and prints the members with their roles, then the rules.
 *
 *   CERCLE_PASSPHRASE=... group_cercle ws://127.0.0.1:8080/ws DATA_DIR HANDLE MEMBER CHARTER
 */
#include <stdio.h>
#include <stdlib.h>

#include "cercle/cercle.h"

static const char* role_name(cercle_role role) {
  switch (role) {
    case CERCLE_ROLE_FACILITATOR:
      return "facilitator";
    case CERCLE_ROLE_INVITED_PROFESSIONAL:
      return "invited_professional";
    default:
      return "member";
  }
}

static void print_member(void* user, const cercle_member* m) {
  (void)user;
  printf("member %s %s%s%s\n", m->handle, role_name(m->role),
         m->professional ? " professional" : "", m->self ? " self" : "");
}

static int check(cercle_client* client, cercle_status status, const char* what) {
  if (status == CERCLE_OK) return 0;
  fprintf(stderr, "group_cercle: %s: %s\n", what, cercle_last_error(client));
  return (int)status;
}

int main(int argc, char** argv) {
  const char* passphrase = getenv("CERCLE_PASSPHRASE");
  if (argc != 6 || !passphrase) {
    fprintf(stderr, "usage: CERCLE_PASSPHRASE=... %s SERVER DATA_DIR HANDLE MEMBER CHARTER\n",
            argv[0]);
    return 2;
  }
  cercle_client* client = NULL;
  cercle_status status = cercle_open(argv[1], argv[2], passphrase, &client);
  if (status != CERCLE_OK) return (int)status;
  int rc = check(client, cercle_connect(client), "connect");
  if (!rc && !cercle_is_registered(client))
    rc = check(client, cercle_register(client, argv[3], NULL), "register");
  char conversation[CERCLE_ID_SIZE];
  if (!rc) rc = check(client, cercle_create_group(client, conversation), "create a group");
  cercle_group_rules rules;
  if (!rc) rc = check(client, cercle_get_rules(client, conversation, &rules), "read the rules");
  if (!rc) {
    rules.charter = argv[5];
    rules.retention_days = 30;
    rc = check(client, cercle_set_rules(client, conversation, &rules), "set the rules");
  }
  if (!rc) rc = check(client, cercle_add_member(client, conversation, argv[4]), "add a member");
  if (!rc) rc = check(client, cercle_mute(client, conversation, argv[4], 1), "mute");
  if (!rc) {
    printf("%s\n", conversation);
    rc = check(client, cercle_members(client, conversation, print_member, NULL), "members");
  }
  if (!rc)
    rc = check(client, cercle_get_rules(client, conversation, &rules), "read the rules again");
  if (!rc) printf("rules retention=%u charter=%s\n", (unsigned)rules.retention_days, rules.charter);
  cercle_free(client);
  return rc;
}
