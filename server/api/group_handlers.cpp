// Session's handlers for the requests of groupes de parole: invitations, open groups and their public
// listing, séance events, deleting a message for everyone, reports.
#include <string_view>

#include "server/api/frames.h"
#include "server/api/session.h"

namespace cercle::api {

namespace {

using Rc = v1::ClientFrame::RequestCase;

void fill_done(const Ok&, v1::Response& r) { r.mutable_done(); }

// The conversation a request of a groupe de parole names (empty for those that name none).
std::string_view conversation_id_of(const v1::ClientFrame& frame) {
  switch (frame.request_case()) {
    case Rc::kRevokeInvitation:
      return frame.revoke_invitation().conversation_id();
    case Rc::kAcceptInvitation:
      return frame.accept_invitation().conversation_id();
    case Rc::kObjectToInvitation:
      return frame.object_to_invitation().conversation_id();
    case Rc::kDeclineInvitation:
      return frame.decline_invitation().conversation_id();
    case Rc::kPublishGroup:
      return frame.publish_group().conversation_id();
    case Rc::kPostSeanceEvent:
      return frame.post_seance_event().conversation_id();
    case Rc::kRequestJoin:
      return frame.request_join().conversation_id();
    case Rc::kDeleteEntry:
      return frame.delete_entry().conversation_id();
    default:
      return {};
  }
}

}  // namespace

void Session::on_group_request(uint64_t id, const v1::ClientFrame& frame) {
  // Each of these stores something (invitations, events): the message rate bounds how fast.
  if (auto limited = hub_.limit(Limited::kMessage, peer_.key(), account_)) {
    return fail(id, *limited);
  }
  switch (frame.request_case()) {
    case Rc::kCreateInvitation:
      return run_async<Ok>(
          id,
          [&](auto done) {
            hub_.domain().groups().create_invitation(
                device_, frame.create_invitation().signed_invitation(), std::move(done));
          },
          fill_done);
    case Rc::kRevokeInvitation:
    case Rc::kAcceptInvitation:
    case Rc::kObjectToInvitation:
    case Rc::kDeclineInvitation:
    case Rc::kPublishGroup:
    case Rc::kPostSeanceEvent:
    case Rc::kRequestJoin:
    case Rc::kDeleteEntry:
      return on_group_conversation_request(id, frame);
    case Rc::kListInvitations:
    case Rc::kListOpenGroups:
      return on_group_list_request(id, frame);
    default:
      return on_report_request(id, frame);
  }
}

// The requests that name a conversation: it is read once, before the domain is asked.
void Session::on_group_conversation_request(uint64_t id, const v1::ClientFrame& frame) {
  ConvId conv;
  if (!ConvId::parse(conversation_id_of(frame), conv)) {
    return fail(id, make_error(Errc::kInvalidArgument, "conversation_id must be 16 bytes"));
  }
  auto& groups = hub_.domain().groups();
  auto call = [&](auto domain_call) { run_async<Ok>(id, domain_call, fill_done); };
  switch (frame.request_case()) {
    case Rc::kRevokeInvitation:
      return call([&](auto done) {
        groups.revoke_invitation(device_, conv, frame.revoke_invitation().nonce(), std::move(done));
      });
    case Rc::kAcceptInvitation:
      return call([&](auto done) {
        groups.accept_invitation(device_, conv, frame.accept_invitation().nonce(), std::move(done));
      });
    case Rc::kObjectToInvitation:
      return call([&](auto done) {
        groups.object_to_invitation(device_, conv, frame.object_to_invitation().nonce(),
                                    std::move(done));
      });
    case Rc::kDeclineInvitation:
      return call([&](auto done) {
        groups.decline_invitation(device_, conv, frame.decline_invitation().nonce(),
                                  std::move(done));
      });
    case Rc::kPublishGroup:
      return call([&](auto done) {
        groups.publish_group(device_, conv, frame.publish_group().listing(), std::move(done));
      });
    case Rc::kPostSeanceEvent:
      return call([&](auto done) {
        groups.post_seance_event(device_, conv, frame.post_seance_event().signed_event(),
                                 std::move(done));
      });
    case Rc::kRequestJoin:
      return call([&](auto done) { groups.request_join(device_, conv, std::move(done)); });
    case Rc::kDeleteEntry:
      return call([&](auto done) {
        groups.delete_entry(device_, conv, frame.delete_entry().seq(), std::move(done));
      });
    default:
      return fail(id, make_error(Errc::kUnknownOperation, "unknown request kind"));
  }
}

void Session::on_group_list_request(uint64_t id, const v1::ClientFrame& frame) {
  auto& groups = hub_.domain().groups();
  v1::Response response;
  response.set_request_id(id);
  if (frame.has_list_invitations()) {
    auto* list = response.mutable_invitations();
    for (auto& s : groups.invitations_for(device_)) list->add_signed_invitations(std::move(s));
    return respond(response);
  }
  auto* list = response.mutable_open_groups();
  for (const auto& g : groups.open_groups(device_)) {
    auto* out = list->add_groups();
    out->set_conversation_id(g.id.str());
    out->set_charter(g.charter);
    out->set_members(g.members);
    out->set_public_name(g.public_name);
    out->set_public_description(g.public_description);
  }
  respond(response);
}

void Session::on_report_request(uint64_t id, const v1::ClientFrame& frame) {
  if (auto limited = hub_.limit(Limited::kMessage, peer_.key(), account_)) {
    return fail(id, *limited);
  }
  auto& groups = hub_.domain().groups();
  ConvId conv;
  switch (frame.request_case()) {
    case Rc::kReportToFacilitators: {
      const auto& req = frame.report_to_facilitators();
      if (!ConvId::parse(req.conversation_id(), conv)) {
        return fail(id, make_error(Errc::kInvalidArgument, "conversation_id must be 16 bytes"));
      }
      std::vector<std::pair<DeviceId, std::string>> sealed;
      for (const auto& r : req.reports()) sealed.emplace_back(r.device_id(), r.sealed());
      return run_async<Ok>(
          id,
          [&](auto done) {
            groups.report_to_facilitators(device_, conv, std::move(sealed), std::move(done));
          },
          fill_done);
    }
    case Rc::kAckReport:
      return run_async<Ok>(
          id,
          [&](auto done) {
            groups.ack_report(device_, frame.ack_report().report_id(), std::move(done));
          },
          fill_done);
    case Rc::kReportToAdmins: {
      const auto& req = frame.report_to_admins();
      if (!ConvId::parse(req.conversation_id(), conv)) {
        return fail(id, make_error(Errc::kInvalidArgument, "conversation_id must be 16 bytes"));
      }
      return run_async<uint64_t>(
          id,
          [&](auto done) {
            groups.report_to_admins(device_, conv, req.seq(), req.revealed_text(), req.reason(),
                                    std::move(done));
          },
          [](uint64_t report_id, v1::Response& r) {
            r.mutable_report()->set_report_id(report_id);
          });
    }
    default:
      return fail(id, make_error(Errc::kUnknownOperation, "unknown request kind"));
  }
}

// What waits for this device since it was last connected: reports sealed to it and the admins'
// answers to its account's reports. Invitations are listed by the client (ListInvitations).
void Session::push_waiting() {
  auto& groups = hub_.domain().groups();
  for (const auto& view : groups.pending_reports(device_)) {
    v1::ServerFrame frame;
    auto* r = frame.mutable_event()->mutable_report_received();
    r->set_conversation_id(view.conv.str());
    r->set_reporter(view.reporter);
    r->set_sealed(view.sealed);
    r->set_report_id(view.id);
    r->set_time_ms(view.created_ms);
    push_event(make_frame(frame.SerializeAsString()));
  }
  for (const auto& [report_id, text] : groups.take_answers(device_)) {
    v1::ServerFrame frame;
    frame.mutable_event()->mutable_admin_answer()->set_report_id(report_id);
    frame.mutable_event()->mutable_admin_answer()->set_text(text);
    push_event(make_frame(frame.SerializeAsString()));
  }
}

}  // namespace cercle::api
