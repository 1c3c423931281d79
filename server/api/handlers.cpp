// Session's handlers for requests of an authenticated device.
#include <algorithm>

#include "server/api/frames.h"
#include "server/api/session.h"

namespace cercle::api {

namespace {

using Rc = v1::ClientFrame::RequestCase;

Error bad_conv_id() {
  return make_error(Errc::kInvalidArgument, "conversation_id must be 16 bytes");
}

}  // namespace

void Session::on_request(uint64_t id, const v1::ClientFrame& frame) {
  switch (frame.request_case()) {
    case Rc::kAddDevice:
      return on_add_device(id, frame.add_device());
    case Rc::kLookupAccount:
      return on_lookup_account(id, frame.lookup_account());
    case Rc::kUploadKeyPackages:
      return on_upload_key_packages(id, frame.upload_key_packages());
    case Rc::kFetchKeyPackages:
      return on_fetch_key_packages(id, frame.fetch_key_packages());
    case Rc::kCountKeyPackages:
      return on_count_key_packages(id);
    case Rc::kListDeviceRequests:
      return on_device_request(id, frame);
    case Rc::kCreateRegistrationCode:
    case Rc::kSetAccountType:
      return on_admin_request(id, frame);
    case Rc::kDeleteAccount:
      return on_delete_account(id, frame.delete_account());
    case Rc::kRegisterPushSubscription:
    case Rc::kUnregisterPushSubscription:
      return on_push_request(id, frame);
    case Rc::kCreateContactLink:
    case Rc::kListContactLinks:
    case Rc::kRevokeContactLink:
      return on_contact_link_request(id, frame);
    case Rc::kCreateInvitation:
    case Rc::kRevokeInvitation:
    case Rc::kAcceptInvitation:
    case Rc::kObjectToInvitation:
    case Rc::kListInvitations:
    case Rc::kListOpenGroups:
    case Rc::kRequestJoin:
    case Rc::kDeleteEntry:
    case Rc::kReportToFacilitators:
    case Rc::kAckReport:
    case Rc::kReportToAdmins:
    case Rc::kDeclineInvitation:
    case Rc::kPublishGroup:
    case Rc::kPostSeanceEvent:
      return on_group_request(id, frame);
    default:
      return on_conversation_request(id, frame);
  }
}

void Session::on_add_device(uint64_t id, const v1::AddDevice& request) {
  run_async<DeviceId>(
      id,
      [&](auto done) {
        hub_.domain().identity().add_device(device_, request.device_public_key(),
                                            request.has_link() ? &request.link() : nullptr,
                                            std::move(done));
      },
      [](DeviceId d, v1::Response& r) { r.mutable_device()->set_device_id(d); });
}

void Session::on_lookup_account(uint64_t id, const v1::LookupAccount& request) {
  auto account = hub_.domain().identity().lookup(request.handle());
  if (!account) return fail(id, account.error());
  v1::Response response;
  response.set_request_id(id);
  fill_account(*account, *response.mutable_account());
  respond(response);
}

void Session::on_upload_key_packages(uint64_t id, const v1::UploadKeyPackages& request) {
  // Each upload may bring a new signature key and last-resort ref: bound how fast.
  if (auto limited = hub_.limit(Limited::kMessage, peer_.key(), account_)) {
    return fail(id, *limited);
  }
  std::vector<domain::KeyPackageUpload> uploads;
  for (const auto& kp : request.key_packages()) uploads.push_back({kp.data(), kp.last_resort()});
  run_async<uint32_t>(
      id,
      [&](auto done) {
        hub_.domain().key_packages().upload(device_, std::move(uploads), std::move(done));
      },
      [](uint32_t stored, v1::Response& r) {
        r.mutable_upload_key_packages()->set_stored(stored);
      });
}

void Session::on_fetch_key_packages(uint64_t id, const v1::FetchKeyPackages& request) {
  // Each fetch hands out packages for good and is a synced write: bound how fast one account can
  // drain others' stock.
  if (auto limited = hub_.limit(Limited::kKeyPackageFetch, peer_.key(), account_)) {
    return fail(id, *limited);
  }
  run_async<domain::FetchedKeyPackages>(
      id,
      [&](auto done) {
        hub_.domain().key_packages().fetch(device_, request.handle(), std::move(done));
      },
      [](const domain::FetchedKeyPackages& f, v1::Response& r) {
        auto* out = r.mutable_fetch_key_packages();
        fill_account(f.account, *out->mutable_account());
        for (const auto& p : f.packages) {
          auto* kp = out->add_key_packages();
          kp->set_device_id(p.device_id);
          kp->set_data(p.data);
          kp->set_last_resort(p.last_resort);
        }
      });
}

void Session::on_count_key_packages(uint64_t id) {
  const auto count = hub_.domain().key_packages().count(device_);
  v1::Response response;
  response.set_request_id(id);
  response.mutable_count_key_packages()->set_stored(count.stored);
  response.mutable_count_key_packages()->set_has_last_resort(count.has_last_resort);
  respond(response);
}

void Session::on_conversation_request(uint64_t id, const v1::ClientFrame& frame) {
  auto& conversations = hub_.domain().conversations();
  v1::Response response;
  response.set_request_id(id);
  ConvId conv;
  switch (frame.request_case()) {
    case Rc::kCreateConversation: {
      if (auto limited = hub_.limit(Limited::kConversation, peer_.key(), account_)) {
        return fail(id, *limited);
      }
      const auto& req = frame.create_conversation();
      return run_async<domain::ConvView>(
          id,
          [&](auto done) {
            conversations.create(device_, static_cast<domain::ConvKind>(req.kind()),
                                 req.peer_handle(), std::move(done));
          },
          [this](const domain::ConvView& v, v1::Response& r) {
            fill_conversation(v, *r.mutable_conversation());
            if (!stream(v.id)) streams_.push_back(Stream{v.id, 0, 0, true});  // Empty log.
          });
    }
    case Rc::kCommit:
      return on_commit(id, frame.commit());
    case Rc::kSend:
      return on_send(id, frame.send());
    case Rc::kAck: {
      if (!ConvId::parse(frame.ack().conversation_id(), conv)) return fail(id, bad_conv_id());
      auto cursor = conversations.ack(device_, conv, frame.ack().seq());
      if (!cursor) return fail(id, cursor.error());
      response.mutable_ack()->set_cursor(*cursor);
      return respond(response);
    }
    case Rc::kListConversations: {
      auto* list = response.mutable_conversations();
      for (const auto& v : conversations.list(device_))
        fill_conversation(v, *list->add_conversations());
      return respond(response);
    }
    case Rc::kGetConversation: {
      if (!ConvId::parse(frame.get_conversation().conversation_id(), conv)) {
        return fail(id, bad_conv_id());
      }
      auto view = conversations.get(device_, conv);
      if (!view) return fail(id, view.error());
      fill_conversation(*view, *response.mutable_conversation());
      return respond(response);
    }
    case Rc::kFetchLog:
      return on_fetch_log(id, frame.fetch_log());
    default:
      return fail(id, make_error(Errc::kUnknownOperation, "unknown request kind"));
  }
}

void Session::on_commit(uint64_t id, const v1::Commit& request) {
  if (auto limited = hub_.limit(Limited::kMessage, peer_.key(), account_))
    return fail(id, *limited);
  domain::CommitArgs args;
  if (!ConvId::parse(request.conversation_id(), args.conv)) return fail(id, bad_conv_id());
  args.epoch = request.epoch();
  args.commit = request.commit();
  args.add.assign(request.add_devices().begin(), request.add_devices().end());
  args.remove.assign(request.remove_devices().begin(), request.remove_devices().end());
  args.welcome = request.welcome();
  if (request.has_genesis()) {
    const auto& g = request.genesis();
    args.genesis = domain::CommitArgs::Genesis{g.group_context(), g.ratchet_tree(),
                                               g.confirmed_transcript_hash()};
  }
  const ConvId conv = args.conv;
  run_async<domain::CommitOk>(
      id,
      [&](auto done) {
        hub_.domain().conversations().commit(device_, std::move(args), std::move(done));
      },
      [this, conv](const domain::CommitOk& ok, v1::Response& r) {
        r.mutable_commit()->set_seq(ok.seq);
        r.mutable_commit()->set_epoch(ok.epoch);
        own_entry(conv, ok.seq);
      });
}

void Session::on_send(uint64_t id, const v1::Send& request) {
  if (auto limited = hub_.limit(Limited::kMessage, peer_.key(), account_))
    return fail(id, *limited);
  domain::SendArgs args;
  if (!ConvId::parse(request.conversation_id(), args.conv)) return fail(id, bad_conv_id());
  args.epoch = request.epoch();
  args.payload = request.payload();
  args.kind = request.kind() == v1::DELIVERY_KIND_UNSPECIFIED
                  ? domain::EntryKind::kApplication
                  : static_cast<domain::EntryKind>(request.kind());
  const ConvId conv = args.conv;
  run_async<domain::SendOk>(
      id,
      [&](auto done) {
        hub_.domain().conversations().send(device_, std::move(args), std::move(done));
      },
      [this, conv](const domain::SendOk& ok, v1::Response& r) {
        r.mutable_send()->set_seq(ok.seq);
        r.mutable_send()->set_server_time_ms(ok.time_ms);
        own_entry(conv, ok.seq);
      });
}

void Session::on_fetch_log(uint64_t id, const v1::FetchLog& request) {
  ConvId conv;
  if (!ConvId::parse(request.conversation_id(), conv)) return fail(id, bad_conv_id());
  const auto& limits = hub_.limits();
  const size_t limit = std::clamp<size_t>(request.limit(), 1, limits.catchup_entries);
  // Keep the answer under the frame limit clients were told about: stored records are at least as
  // large as what is sent of them, and the margin covers each entry's conversation id and the
  // envelope. A single entry always fits: payloads are at least 1 KiB under the frame limit.
  const size_t budget =
      limits.max_frame_bytes - std::min<size_t>(limits.max_frame_bytes / 2, limit * 32 + 64);
  auto entries =
      hub_.domain().conversations().read(device_, conv, request.after_seq(), limit, budget);
  if (!entries) return fail(id, entries.error());
  v1::Response response;
  response.set_request_id(id);
  auto* log = response.mutable_log();
  for (const auto& e : *entries) {
    fill_delivery(conv, e.seq, e.record, is_welcome_for(e.record, device_), *log->add_entries());
  }
  respond(response);
}

void Session::on_contact_link_request(uint64_t id, const v1::ClientFrame& frame) {
  auto& links = hub_.domain().contact_links();
  const bool change = frame.has_create_contact_link() || frame.has_revoke_contact_link();
  if (change) {
    if (auto limited = hub_.limit(Limited::kContactLinkChange, peer_.key(), account_)) {
      return fail(id, *limited);
    }
  }
  if (frame.has_create_contact_link()) {
    const auto& req = frame.create_contact_link();
    const int64_t expires_ms = int64_t{req.expires_in_hours()} * 3'600'000;
    return run_async<domain::ContactLinkView>(
        id,
        [&](auto done) {
          links.create(device_, req.label(), expires_ms, req.presentation(), std::move(done));
        },
        [](const domain::ContactLinkView& v, v1::Response& r) {
          fill_contact_link(v, *r.mutable_contact_link());
        });
  }
  if (frame.has_revoke_contact_link()) {
    return run_async<Ok>(
        id,
        [&](auto done) {
          links.revoke(device_, frame.revoke_contact_link().token(), std::move(done));
        },
        [](const Ok&, v1::Response& r) { r.mutable_done(); });
  }
  v1::Response response;
  response.set_request_id(id);
  auto* list = response.mutable_contact_links();
  for (const auto& v : links.list(device_)) fill_contact_link(v, *list->add_links());
  respond(response);
}

void Session::on_resolve_contact_link(uint64_t id, const v1::ResolveContactLink& request) {
  auto link = hub_.domain().contact_links().resolve(request.token());
  if (!link) return fail(id, link.error());
  v1::Response response;
  response.set_request_id(id);
  fill_contact_link(*link, *response.mutable_contact_link());
  respond(response);
}

void Session::on_delete_account(uint64_t id, const v1::DeleteAccount& request) {
  ++inflight_;
  hub_.domain().delete_account(
      device_, request.handle(),
      [this, hub = &hub_, life = connection_.life(), id](Result<std::vector<DeviceId>> result) {
        const auto alive = life.lock();
        if (alive && phase_ != Phase::kClosed) {
          const bool was_full = !wants_input();
          --inflight_;
          if (!result) {
            fail(id, result.error());
          } else {
            v1::Response response;
            response.set_request_id(id);
            response.mutable_done();
            respond(response);
          }
          if (was_full && wants_input()) connection_.resume_input();
        }
        // Every connection of its devices closes, this one once its answer is written.
        if (result) hub->disconnect(*result);
      });
}

void Session::on_admin_request(uint64_t id, const v1::ClientFrame& frame) {
  auto& identity = hub_.domain().identity();
  if (frame.has_create_registration_code()) {
    const int64_t ttl_ms = int64_t{frame.create_registration_code().ttl_hours()} * 3'600'000;
    return run_async<domain::RegistrationCode>(
        id, [&](auto done) { identity.create_registration_code(device_, ttl_ms, std::move(done)); },
        [](const domain::RegistrationCode& code, v1::Response& r) {
          r.mutable_registration_code()->set_code(code.code);
          r.mutable_registration_code()->set_expires_at_ms(code.expires_ms);
        });
  }
  const auto& req = frame.set_account_type();
  run_async<Ok>(
      id,
      [&](auto done) {
        identity.set_account_type(device_, req.handle(),
                                  static_cast<domain::AccountType>(req.type()), std::move(done));
      },
      [](const Ok&, v1::Response& r) { r.mutable_done(); });
}

}  // namespace cercle::api
