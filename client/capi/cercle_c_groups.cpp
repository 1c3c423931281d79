// The C API's calls for groupes de parole (client/include/cercle/cercle.h) and
// cercle_poll_events.
#include "client/capi/capi_internal.h"

using namespace cercle::capi;
using cercle::client::Event;
using cercle::client::Role;

namespace {

Role role_of(cercle_role r) {
  return r == CERCLE_ROLE_FACILITATOR            ? Role::kFacilitator
         : r == CERCLE_ROLE_INVITED_PROFESSIONAL ? Role::kInvitedProfessional
                                                 : Role::kMember;
}

cercle_role c_role(Role r) {
  return r == Role::kFacilitator           ? CERCLE_ROLE_FACILITATOR
         : r == Role::kInvitedProfessional ? CERCLE_ROLE_INVITED_PROFESSIONAL
                                           : CERCLE_ROLE_MEMBER;
}

cercle_event_kind c_kind(Event::Kind k) {
  switch (k) {
    case Event::Kind::kWarning:
      return CERCLE_EVENT_WARNING;
    case Event::Kind::kJoined:
      return CERCLE_EVENT_JOINED;
    case Event::Kind::kMembersChanged:
      return CERCLE_EVENT_MEMBERS_CHANGED;
    case Event::Kind::kLeft:
      return CERCLE_EVENT_LEFT;
    case Event::Kind::kInvited:
      return CERCLE_EVENT_INVITED;
    case Event::Kind::kInvitation:
      return CERCLE_EVENT_INVITATION;
    case Event::Kind::kInvitationAccepted:
      return CERCLE_EVENT_INVITATION_ACCEPTED;
    case Event::Kind::kInvitationRevoked:
      return CERCLE_EVENT_INVITATION_REVOKED;
    case Event::Kind::kObjection:
      return CERCLE_EVENT_OBJECTION;
    case Event::Kind::kJoinRequest:
      return CERCLE_EVENT_JOIN_REQUEST;
    case Event::Kind::kMessageDeleted:
      return CERCLE_EVENT_MESSAGE_DELETED;
    case Event::Kind::kReport:
      return CERCLE_EVENT_REPORT;
    case Event::Kind::kAdminAnswer:
      return CERCLE_EVENT_ADMIN_ANSWER;
    case Event::Kind::kGroupProfile:
      return CERCLE_EVENT_GROUP_PROFILE;
    case Event::Kind::kInvitationDeclined:
      return CERCLE_EVENT_INVITATION_DECLINED;
    case Event::Kind::kListingPublished:
      return CERCLE_EVENT_LISTING_PUBLISHED;
    case Event::Kind::kSeance:
      return CERCLE_EVENT_SEANCE;
    default:
      return CERCLE_EVENT_WARNING;
  }
}

cercle_message c_message(const cercle::client::Message& in) {
  cercle_message m{};
  copy_id(in.conversation, m.conversation);
  m.seq = in.seq;
  m.sender = in.sender.c_str();
  m.text = in.text.c_str();
  m.time_ms = in.time_ms;
  m.own = in.own ? 1 : 0;
  m.professional = in.professional ? 1 : 0;
  return m;
}

cercle_event c_event(const Event& e) {
  cercle_event out{};
  out.kind = c_kind(e.kind);
  copy_id(e.conversation, out.conversation);
  out.by = e.kind == Event::Kind::kReport ? e.report.reporter.c_str() : e.by.c_str();
  out.invitee = e.invitation.invitee.c_str();
  out.seq = e.kind == Event::Kind::kReport ? e.report.seq : e.seq;
  out.text = e.report.text.c_str();
  out.detail = e.kind == Event::Kind::kReport ? e.report.reason.c_str() : e.detail.c_str();
  return out;
}

}  // namespace

extern "C" {

cercle_status cercle_members(cercle_client* c, const char* conversation, cercle_member_fn on_member,
                             void* user) {
  if (!conversation || !on_member) return CERCLE_ERR_INVALID;
  auto members = c->impl->members(conversation);
  if (members) {
    for (const auto& m : *members) {
      cercle_member out{m.handle.c_str(), m.self ? 1 : 0, m.professional ? 1 : 0, c_role(m.role),
                        m.accompanying.c_str()};
      on_member(user, &out);
    }
  }
  return finish(c, members);
}

cercle_status cercle_get_rules(cercle_client* c, const char* conversation,
                               cercle_group_rules* out) {
  if (!conversation || !out) return CERCLE_ERR_INVALID;
  auto rules = c->impl->rules(conversation);
  if (rules) {
    c->charter = rules->charter;
    *out = cercle_group_rules{rules->open_to_peers ? 1 : 0, rules->relatives_admitted ? 1 : 0,
                              rules->retention_days, c->charter.c_str(), rules->objection_hours};
  }
  return finish(c, rules);
}

cercle_status cercle_set_rules(cercle_client* c, const char* conversation,
                               const cercle_group_rules* in) {
  if (!conversation || !in) return CERCLE_ERR_INVALID;
  cercle::client::GroupRules rules;
  rules.open_to_peers = in->open_to_peers != 0;
  rules.relatives_admitted = in->relatives_admitted != 0;
  rules.retention_days = in->retention_days;
  rules.charter = in->charter ? in->charter : "";
  rules.objection_hours = in->objection_hours;
  return finish(c, c->impl->set_rules(conversation, rules));
}

cercle_status cercle_set_role(cercle_client* c, const char* conversation, const char* handle,
                              cercle_role role) {
  if (!conversation || !handle) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->set_role(conversation, handle, role_of(role)));
}

cercle_status cercle_ban(cercle_client* c, const char* conversation, const char* handle) {
  if (!conversation || !handle) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->ban(conversation, handle));
}

cercle_status cercle_unban(cercle_client* c, const char* conversation, const char* handle) {
  if (!conversation || !handle) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->unban(conversation, handle));
}

cercle_status cercle_mute(cercle_client* c, const char* conversation, const char* handle,
                          int muted) {
  if (!conversation || !handle) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->mute(conversation, handle, muted != 0));
}

cercle_status cercle_invite(cercle_client* c, const char* conversation, const char* handle,
                            const char* accompanying, uint32_t valid_hours,
                            char invitation_id[CERCLE_ID_SIZE]) {
  if (!conversation || !handle || !invitation_id || valid_hours == 0) return CERCLE_ERR_INVALID;
  auto i = c->impl->invite(conversation, handle, accompanying ? accompanying : "",
                           std::chrono::hours(valid_hours));
  if (i) copy_id(i->id, invitation_id);
  return finish(c, i);
}

cercle_status cercle_revoke_invitation(cercle_client* c, const char* conversation,
                                       const char* invitation_id) {
  if (!conversation || !invitation_id) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->revoke_invitation(conversation, invitation_id));
}

cercle_status cercle_invitations(cercle_client* c, cercle_invitation_fn on_invitation, void* user) {
  if (!on_invitation) return CERCLE_ERR_INVALID;
  auto list = c->impl->invitations();
  if (list) {
    for (const auto& i : *list) {
      cercle_invitation out{};
      copy_id(i.id, out.id);
      copy_id(i.conversation, out.conversation);
      out.inviter = i.inviter.c_str();
      out.invitee = i.invitee.c_str();
      out.professional = i.professional ? 1 : 0;
      out.accompanying = i.accompanying.c_str();
      out.expires_at_ms = i.expires_at_ms;
      out.charter = i.charter.c_str();
      on_invitation(user, &out);
    }
  }
  return finish(c, list);
}

cercle_status cercle_accept_invitation(cercle_client* c, const char* conversation,
                                       const char* invitation_id) {
  if (!conversation || !invitation_id) return CERCLE_ERR_INVALID;
  cercle::client::Invitation i;
  i.conversation = conversation;
  i.id = invitation_id;
  return finish(c, c->impl->accept_invitation(i));
}

cercle_status cercle_object_to_invitation(cercle_client* c, const char* conversation,
                                          const char* invitation_id) {
  if (!conversation || !invitation_id) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->object_to_invitation(conversation, invitation_id));
}

cercle_status cercle_request_join(cercle_client* c, const char* conversation) {
  if (!conversation) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->request_join(conversation));
}

cercle_status cercle_delete_message(cercle_client* c, const char* conversation, uint64_t seq) {
  if (!conversation) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->delete_message(conversation, seq));
}

cercle_status cercle_report(cercle_client* c, const char* conversation, uint64_t seq,
                            const char* reason) {
  if (!conversation || !reason) return CERCLE_ERR_INVALID;
  return finish(c, c->impl->report(conversation, seq, reason));
}

cercle_status cercle_report_to_admins(cercle_client* c, const char* conversation, uint64_t seq,
                                      const char* reason, uint64_t* report_id) {
  if (!conversation || !reason) return CERCLE_ERR_INVALID;
  auto id = c->impl->report_to_admins(conversation, seq, reason);
  if (id && report_id) *report_id = *id;
  return finish(c, id);
}

cercle_status cercle_poll_events(cercle_client* c, int timeout_ms, cercle_message_fn on_message,
                                 cercle_event_fn on_event, void* user) {
  auto events = c->impl->poll(std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms));
  if (events) {
    for (const auto& e : *events) {
      if (e.kind == Event::Kind::kMessage) {
        if (!on_message) continue;
        const cercle_message m = c_message(e.message);
        on_message(user, &m);
      } else if (on_event) {
        const cercle_event out = c_event(e);
        on_event(user, &out);
      }
    }
  }
  return finish(c, events);
}

}  // extern "C"
