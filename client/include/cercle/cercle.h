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
  CERCLE_ERR_INVALID = 2,        /* A bad argument. */
  CERCLE_ERR_BAD_PASSPHRASE = 3, /* The local store does not open with this passphrase. */
  CERCLE_ERR_NETWORK = 4,        /* Cannot reach the server, or it did not answer in time. */
  CERCLE_ERR_REFUSED = 5,        /* The server or the group refused the request. */
  CERCLE_ERR_NOT_FOUND = 6,      /* No such conversation or account. */
  CERCLE_ERR_NOT_REGISTERED = 7, /* This device has no account yet. */
  CERCLE_ERR_STORAGE = 8         /* The local store is in use by another program or damaged. */
} cercle_status;

typedef struct cercle_client cercle_client;

typedef struct {
  char conversation[CERCLE_ID_SIZE];
  uint64_t seq;
  const char* sender; /* The sender's handle. Valid during the callback only. */
  const char* text;   /* UTF-8. Valid during the callback only. */
  int64_t time_ms;
  int own;
  int professional; /* The sender is a professional: show it beside the message. */
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
cercle_status cercle_add_member(cercle_client* client, const char* conversation,
                                const char* handle);
cercle_status cercle_remove_member(cercle_client* client, const char* conversation,
                                   const char* handle);
cercle_status cercle_leave(cercle_client* client, const char* conversation);
cercle_status cercle_send_text(cercle_client* client, const char* conversation, const char* text,
                               uint64_t* seq);

/* Waits up to timeout_ms for incoming messages and calls on_message for each, in order. */
cercle_status cercle_poll(cercle_client* client, int timeout_ms, cercle_message_fn on_message,
                          void* user);

/* ---- Groupes de parole ------------------------------------------------------------------------
 * Only facilitators change a group (its rules, roles, bans, mutes, invitations); the server refuses
 * the others and every member's client checks each change against the group's rules. Strings given
 * to callbacks are valid during the callback only. Invitation ids are 32 hex characters. */

typedef enum {
  CERCLE_ROLE_MEMBER = 0,
  CERCLE_ROLE_FACILITATOR = 1,
  CERCLE_ROLE_INVITED_PROFESSIONAL = 2
} cercle_role;

typedef struct {
  const char* handle;
  int self;
  int professional; /* Always show it: a professional is marked as such. */
  cercle_role role;
  const char* accompanying; /* An invited professional: the member they accompany, or "". */
} cercle_member;

typedef void (*cercle_member_fn)(void* user, const cercle_member* member);
cercle_status cercle_members(cercle_client* client, const char* conversation,
                             cercle_member_fn on_member, void* user);

typedef struct {
  int open_to_peers; /* Peers may ask to join; professionals never. */
  int relatives_admitted;
  uint32_t retention_days; /* 0: kept. */
  const char* charter;     /* cercle_get_rules: valid until the next call on this client. */
  uint32_t objection_hours;
} cercle_group_rules;

cercle_status cercle_get_rules(cercle_client* client, const char* conversation,
                               cercle_group_rules* out);
cercle_status cercle_set_rules(cercle_client* client, const char* conversation,
                               const cercle_group_rules* rules);
cercle_status cercle_set_role(cercle_client* client, const char* conversation, const char* handle,
                              cercle_role role);
cercle_status cercle_ban(cercle_client* client, const char* conversation, const char* handle);
cercle_status cercle_unban(cercle_client* client, const char* conversation, const char* handle);
cercle_status cercle_mute(cercle_client* client, const char* conversation, const char* handle,
                          int muted);

/* Invites handle (accompanying may be NULL), valid for valid_hours; writes the invitation's id. */
cercle_status cercle_invite(cercle_client* client, const char* conversation, const char* handle,
                            const char* accompanying, uint32_t valid_hours,
                            char invitation_id[CERCLE_ID_SIZE]);
cercle_status cercle_revoke_invitation(cercle_client* client, const char* conversation,
                                       const char* invitation_id);

typedef struct {
  char id[CERCLE_ID_SIZE];
  char conversation[CERCLE_ID_SIZE];
  const char* inviter;
  const char* invitee;
  int professional;
  const char* accompanying;
  int64_t expires_at_ms;
  const char* charter; /* To show to the invitee before they accept. */
} cercle_invitation;

typedef void (*cercle_invitation_fn)(void* user, const cercle_invitation* invitation);
/* The invitations addressed to this account that are still pending. */
cercle_status cercle_invitations(cercle_client* client, cercle_invitation_fn on_invitation,
                                 void* user);
cercle_status cercle_accept_invitation(cercle_client* client, const char* conversation,
                                       const char* invitation_id);
cercle_status cercle_object_to_invitation(cercle_client* client, const char* conversation,
                                          const char* invitation_id);
cercle_status cercle_request_join(cercle_client* client, const char* conversation);

/* A facilitator deletes a message for everyone. */
cercle_status cercle_delete_message(cercle_client* client, const char* conversation, uint64_t seq);
/* Reports a message to the group's facilitators, sealed to their devices. */
cercle_status cercle_report(cercle_client* client, const char* conversation, uint64_t seq,
                            const char* reason);
/* Reveals a message to the instance's admins: call only with the user's explicit consent. */
cercle_status cercle_report_to_admins(cercle_client* client, const char* conversation, uint64_t seq,
                                      const char* reason, uint64_t* report_id);

typedef enum {
  CERCLE_EVENT_WARNING = 1, /* detail: what was refused or failed, in words. */
  CERCLE_EVENT_JOINED = 2,
  CERCLE_EVENT_MEMBERS_CHANGED = 3,
  CERCLE_EVENT_LEFT = 4,
  CERCLE_EVENT_INVITED = 5,    /* Someone was invited to the group: invitee, by. */
  CERCLE_EVENT_INVITATION = 6, /* This account is invited: call cercle_invitations. */
  CERCLE_EVENT_INVITATION_ACCEPTED = 7,
  CERCLE_EVENT_INVITATION_REVOKED = 8,
  CERCLE_EVENT_OBJECTION = 9,
  CERCLE_EVENT_JOIN_REQUEST = 10,    /* by: who asks. */
  CERCLE_EVENT_MESSAGE_DELETED = 11, /* seq: hide it. */
  CERCLE_EVENT_REPORT = 12,      /* For a facilitator: by (reporter), seq, text, detail (reason). */
  CERCLE_EVENT_ADMIN_ANSWER = 13, /* detail: the admins' answer to a report. */
  CERCLE_EVENT_GROUP_PROFILE = 14, /* detail: the group's new name (members only); by: who set it. */
  CERCLE_EVENT_INVITATION_DECLINED = 15, /* invitee: who declined. */
  CERCLE_EVENT_LISTING_PUBLISHED = 16,   /* detail: the public name (empty: withdrawn); by. */
  /* A séance event, checked: detail is "opened", "closed", "floor_given", "floor_back",
     "hand_raised", "hand_lowered" or "charter_confirmed"; by: its author; seq. */
  CERCLE_EVENT_SEANCE = 17
} cercle_event_kind;

typedef struct {
  cercle_event_kind kind;
  char conversation[CERCLE_ID_SIZE];
  const char* by;
  const char* invitee;
  uint64_t seq;
  const char* text;
  const char* detail;
} cercle_event;

typedef void (*cercle_event_fn)(void* user, const cercle_event* event);
/* cercle_poll, with the group's events too (either callback may be NULL). */
cercle_status cercle_poll_events(cercle_client* client, int timeout_ms,
                                 cercle_message_fn on_message, cercle_event_fn on_event,
                                 void* user);

/* ---- Approving a new device of one's account (docs/SECURITY.md, "Device approval") ---- */
#define CERCLE_CODE_SIZE 8 /* A pairing code, "123 456", with the NUL. */
/* On a new device (connected, no account yet): asks to become a device of `handle`; the request's
 * id is written into `request` (CERCLE_ID_SIZE bytes). */
cercle_status cercle_request_device(cercle_client* client, const char* handle,
                                    char request[CERCLE_ID_SIZE]);
/* On the new device: waits up to timeout_ms for a device of the account to start the approval,
 * then writes the code to show into `code`. CERCLE_ERR_NETWORK when nobody started it in time. */
cercle_status cercle_pairing_code(cercle_client* client, int timeout_ms,
                                  char code[CERCLE_CODE_SIZE]);
/* On the new device: waits up to timeout_ms for the approval; the client then has the account. */
cercle_status cercle_await_approval(cercle_client* client, int timeout_ms);
/* On a device of the account: starts approving `request` (the new device then shows its code). */
cercle_status cercle_start_approval(cercle_client* client, const char* request);
/* Approves `request` if `code` is what the new device shows (as the user typed it); otherwise
 * CERCLE_ERR_REFUSED and nothing is added. */
cercle_status cercle_approve_device(cercle_client* client, const char* request, const char* code);

#ifdef __cplusplus
}
#endif

#endif /* CERCLE_CERCLE_H_ */
