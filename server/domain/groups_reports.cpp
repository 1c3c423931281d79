// Groups: reports (sealed to facilitators, or revealed to the instance's admins) and retention.
#include <algorithm>

#include "cercle/policy/policy.h"
#include "server/domain/group_rules.h"
#include "server/domain/groups.h"

namespace cercle::domain {

namespace {

constexpr size_t kMaxReportTargets = 64;
constexpr size_t kMaxSealedReportBytes = 16 * 1024;
constexpr size_t kMaxRevealedBytes = 8 * 1024;
// Unread reports a facilitator device holds, in all and from one reporter; unanswered reports one
// account has made to the admins. A flood then fills no memory: it gets kLimitReached.
constexpr size_t kMaxPendingReportsPerDevice = 512;
constexpr size_t kMaxPendingReportsPerReporter = 16;
constexpr size_t kMaxOpenAdminReportsPerAccount = 16;
constexpr size_t kMaxReasonBytes = 2 * 1024;
constexpr int64_t kDayMs = 24LL * 3600 * 1000;
// Entries read per group and per retention run: a long backlog is erased over several runs rather
// than in one long stop of the domain thread.
constexpr size_t kRetentionReadEntries = 4096;

Error refused(std::string why) { return make_error(Errc::kForbidden, std::move(why)); }
Error invalid(std::string why) { return make_error(Errc::kInvalidArgument, std::move(why)); }

}  // namespace

Status Groups::check_report_room(
    AccountId reporter, const std::vector<std::pair<DeviceId, std::string>>& sealed) const {
  for (const auto& [device, bytes] : sealed) {
    const Reports::Sealed* held = reports_.sealed_for(device);
    if (!held) continue;
    const auto& pending = *held;
    const size_t mine = std::count_if(pending.begin(), pending.end(),
                                      [&](const auto& e) { return e.second.reporter == reporter; });
    if (pending.size() >= kMaxPendingReportsPerDevice || mine >= kMaxPendingReportsPerReporter) {
      return make_error(Errc::kLimitReached,
                        "a facilitator has too many unread reports: wait until they read them");
    }
  }
  return Ok{};
}

void Groups::report_to_facilitators(DeviceId actor, const ConvId& conv_id,
                                    std::vector<std::pair<DeviceId, std::string>> sealed,
                                    Done<Ok> done) {
  auto found = group_of(actor, conv_id, true);
  if (!found) return done(std::move(found).error());
  const ConvState& conv = *found->conv;
  if (sealed.empty() || sealed.size() > kMaxReportTargets) {
    return done(invalid("a report goes to 1 to 64 facilitator devices"));
  }
  for (const auto& [device, bytes] : sealed) {
    const MemberState* m = conv.member(device);
    if (!m || !m->active() || !group_rules::is_facilitator(directory(), conv, device)) {
      return done(refused("a report goes only to the devices of the group's facilitators"));
    }
    if (bytes.empty() || bytes.size() > kMaxSealedReportBytes)
      return done(invalid("a sealed report is empty or too large"));
  }
  const DeviceState* reporter = identity_.device(actor);
  if (auto s = check_report_room(reporter->account, sealed); !s) return done(std::move(s).error());
  const int64_t now = ctx_.clock.now_ms();
  Change change = ctx_.change();
  std::vector<std::pair<DeviceId, uint64_t>> made;
  for (auto& [device, bytes] : sealed) {
    const uint64_t id = reports_.take_id();
    reports_.add_sealed(change, device, id,
                        SealedReport{conv.id, reporter->account, std::move(bytes), now});
    made.emplace_back(device, id);
  }
  std::move(change).commit(ctx_.committer, [this, made, done = std::move(done)](const Status& s) {
    if (!s) return done(s.error());
    for (const auto& [device, id] : made) {
      for (const auto& view : pending_reports(device)) {
        if (view.id != id) continue;
        v1::Event e;
        auto* r = e.mutable_report_received();
        r->set_conversation_id(view.conv.str());
        r->set_reporter(view.reporter);
        r->set_sealed(view.sealed);
        r->set_report_id(view.id);
        r->set_time_ms(view.created_ms);
        const DeviceId target[] = {device};
        outbox_.notify(target, e);
      }
    }
    done(Ok{});
  });
}

std::vector<SealedReportView> Groups::pending_reports(DeviceId device) const {
  std::vector<SealedReportView> out;
  const Reports::Sealed* held = reports_.sealed_for(device);
  if (!held) return out;
  for (const auto& [id, r] : *held) {
    const AccountState* reporter = identity_.account(r.reporter);
    out.push_back(
        {id, r.conv, reporter ? reporter->handle : std::string(), r.sealed, r.created_ms});
  }
  return out;
}

void Groups::ack_report(DeviceId actor, uint64_t id, Done<Ok> done) {
  const Reports::Sealed* held = reports_.sealed_for(actor);
  if (!held || !held->contains(id)) {
    return done(make_error(Errc::kNotFound, "no such report for this device"));
  }
  Change change = ctx_.change();
  reports_.erase_sealed(change, actor, id);
  std::move(change).commit(ctx_.committer, [done = std::move(done)](const Status& s) {
    if (!s) return done(s.error());
    done(Ok{});
  });
}

void Groups::report_to_admins(DeviceId actor, const ConvId& conv_id, uint64_t seq, std::string text,
                              std::string reason, Done<uint64_t> done) {
  const ConvState* conv = conversations_.conversation(conv_id);
  if (!conv) return done(make_error(Errc::kNotFound, "no such conversation"));
  const MemberState* m = conv->member(actor);
  if (!m || !m->active()) return done(refused("you are not a member of this conversation"));
  if (seq == 0 || seq <= conv->erased_upto || seq > conv->durable_seq) {
    return done(invalid("no such message in this conversation"));
  }
  if (text.empty() || text.size() > kMaxRevealedBytes || reason.size() > kMaxReasonBytes) {
    return done(
        invalid("the revealed message (1 byte to 8 KiB) or the reason (2 KiB) is out of bounds"));
  }
  const AccountId reporter = identity_.device(actor)->account;
  const auto& admin = reports_.admin();
  const size_t open = std::count_if(admin.begin(), admin.end(), [&](const auto& e) {
    return e.second.reporter == reporter && e.second.answer.empty();
  });
  if (open >= kMaxOpenAdminReportsPerAccount) {
    return done(make_error(Errc::kLimitReached,
                           "you already have 16 reports the admins have not answered yet"));
  }
  const uint64_t id = reports_.take_id();
  Change change = ctx_.change();
  reports_.put_admin(change, id,
                     AdminReport{reporter,
                                 conv_id,
                                 seq,
                                 std::move(text),
                                 std::move(reason),
                                 ctx_.clock.now_ms(),
                                 {},
                                 false});
  std::move(change).commit(ctx_.committer, [id, done = std::move(done)](const Status& s) {
    if (!s) return done(s.error());
    done(id);
  });
}

std::vector<AdminReportView> Groups::admin_reports() const {
  std::vector<AdminReportView> out;
  for (const auto& [id, r] : reports_.admin()) {
    const AccountState* reporter = identity_.account(r.reporter);
    out.push_back({id, reporter ? reporter->handle : std::string(), r.conv, r.seq, r.revealed_text,
                   r.reason, r.created_ms, r.answer});
  }
  return out;
}

void Groups::answer_report(uint64_t id, std::string text, Done<Ok> done) {
  auto it = reports_.admin().find(id);
  if (it == reports_.admin().end()) return done(make_error(Errc::kNotFound, "no such report"));
  if (text.empty() || text.size() > kMaxRevealedBytes) {
    return done(invalid("an answer is 1 byte to 8 KiB"));
  }
  AdminReport r = it->second;
  r.answer = std::move(text);
  v1::Event e;
  e.mutable_admin_answer()->set_report_id(id);
  e.mutable_admin_answer()->set_text(r.answer);
  const AccountState* reporter = identity_.account(r.reporter);
  r.answer_delivered = reporter && outbox_.notify(reporter->devices, e) > 0;
  Change change = ctx_.change();
  reports_.put_admin(change, id, std::move(r));
  std::move(change).commit(ctx_.committer, [done = std::move(done)](const Status& s) {
    if (!s) return done(s.error());
    done(Ok{});
  });
}

std::vector<std::pair<uint64_t, std::string>> Groups::take_answers(DeviceId device) {
  std::vector<std::pair<uint64_t, std::string>> out;
  const DeviceState* d = identity_.device(device);
  if (!d) return out;
  Change change = ctx_.change();
  for (const auto& [id, r] : reports_.admin()) {
    if (r.reporter != d->account || r.answer.empty() || r.answer_delivered) continue;
    out.emplace_back(id, r.answer);
    AdminReport delivered = r;
    delivered.answer_delivered = true;
    reports_.put_admin(change, id, std::move(delivered));
  }
  if (!change.empty()) std::move(change).commit(ctx_.committer, nullptr);
  return out;
}

// ---- Retention ---------------------------------------------------------------------------------

size_t Groups::erase_expired() {
  const int64_t now = ctx_.clock.now_ms();
  size_t erased = 0;
  for (const auto& [id, conv] : conversations_.all()) {
    if (!conv.erasures.empty() && erase_seances(conv, now)) {
      ++erased;
      continue;
    }
    if (conv.kind != ConvKind::kGroup || !conv.policy || conv.policy->retention_days() == 0)
      continue;
    erased += erase_expired(conv, now - int64_t{conv.policy->retention_days()} * kDayMs) > 0;
  }
  return erased;
}

// Erases the entries of `conv` received before `cutoff_ms`: they come first in the log, so one
// range deletion covers them.
size_t Groups::erase_expired(const ConvState& conv, int64_t cutoff_ms) {
  auto entries = ctx_.store.read_log(conv.id, conv.erased_upto, conv.durable_seq,
                                     kRetentionReadEntries, SIZE_MAX);
  if (!entries) return 0;
  uint64_t last = conv.erased_upto;
  for (const auto& e : *entries) {
    if (e.record.time_ms() >= cutoff_ms) break;
    last = e.seq;
  }
  if (last == conv.erased_upto) return 0;
  const uint64_t from = conv.erased_upto + 1;
  Conversations::GroupChange edit{conv, {}, {}};
  edit.header.erased_upto = last;
  Change change = ctx_.change();
  change.batch().delete_log_range(conv.id, from, last + 1);
  conversations_.stage_group(change, std::move(edit));
  std::move(change).commit(ctx_.committer, [this, id = conv.id, from, last](const Status& s) {
    if (s) ctx_.store.compact_log(id, from, last + 1);
  });
  return last - from + 1;
}

}  // namespace cercle::domain
