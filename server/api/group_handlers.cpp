// Session's handlers for the requests of groupes de parole: invitations, open groups, deleting a
// message for everyone, reports.
#include "server/api/frames.h"
#include "server/api/session.h"

namespace cercle::api {

namespace {

using Rc = v1::ClientFrame::RequestCase;

void fill_done(const Ok&, v1::Response& r) { r.mutable_done(); }

}  // namespace

void Session::on_group_request(uint64_t id, const v1::ClientFrame& frame) {
  // Each of these stores something (invitations, events): the message rate bounds how fast.
  if (auto limited = hub_.limit(Limited::kMessage, peer_.key(), account_)) {
    return fail(id, *limited);
  }
  auto& groups = hub_.domain().groups();
  v1::Response response;
  response.set_request_id(id);
  ConvId conv;
  // Every request of this kind but three names a conversation; read it once.
  auto conv_of = [&](const std::string& bytes) {
    if (ConvId::parse(bytes, conv)) return true;
    fail(id, make_error(Errc::kInvalidArgument, "conversation_id must be 16 bytes"));
    return false;
  };
  switch (frame.request_case()) {
    case Rc::kCreateInvitation:
      return run_async<Ok>(
          id,
          [&](auto done) {
            groups.create_invitation(device_, frame.create_invitation().signed_invitation(),
                                     std::move(done));
          },
          fill_done);
    case Rc::kRevokeInvitation: {
      const auto& req = frame.revoke_invitation();
      if (!conv_of(req.conversation_id())) return;
      return run_async<Ok>(
          id,
          [&](auto done) { groups.revoke_invitation(device_, conv, req.nonce(), std::move(done)); },
          fill_done);
    }
    case Rc::kAcceptInvitation: {
      const auto& req = frame.accept_invitation();
      if (!conv_of(req.conversation_id())) return;
      return run_async<Ok>(
          id,
          [&](auto done) { groups.accept_invitation(device_, conv, req.nonce(), std::move(done)); },
          fill_done);
    }
    case Rc::kObjectToInvitation: {
      const auto& req = frame.object_to_invitation();
      if (!conv_of(req.conversation_id())) return;
      return run_async<Ok>(
          id,
          [&](auto done) {
            groups.object_to_invitation(device_, conv, req.nonce(), std::move(done));
          },
          fill_done);
    }
    case Rc::kListInvitations: {
      auto* list = response.mutable_invitations();
      for (auto& s : groups.invitations_for(device_)) list->add_signed_invitations(std::move(s));
      return respond(response);
    }
    case Rc::kListOpenGroups: {
      auto* list = response.mutable_open_groups();
      for (const auto& g : groups.open_groups(device_)) {
        auto* out = list->add_groups();
        out->set_conversation_id(g.id.str());
        out->set_charter(g.charter);
        out->set_members(g.members);
      }
      return respond(response);
    }
    case Rc::kRequestJoin:
      if (!conv_of(frame.request_join().conversation_id())) return;
      return run_async<Ok>(
          id, [&](auto done) { groups.request_join(device_, conv, std::move(done)); }, fill_done);
    case Rc::kDeleteEntry:
      if (!conv_of(frame.delete_entry().conversation_id())) return;
      return run_async<Ok>(
          id,
          [&](auto done) {
            groups.delete_entry(device_, conv, frame.delete_entry().seq(), std::move(done));
          },
          fill_done);
    default:
      return on_report_request(id, frame);
  }
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
