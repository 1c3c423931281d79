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

storage::AdminReportRecord record_of(const AdminReport& r) {
  storage::AdminReportRecord out;
  out.set_reporter_account(r.reporter);
  out.set_conversation_id(r.conv.str());
  out.set_seq(r.seq);
  out.set_revealed_text(r.revealed_text);
  out.set_reason(r.reason);
  out.set_created_ms(r.created_ms);
  out.set_answer(r.answer);
  out.set_answer_delivered(r.answer_delivered);
  return out;
}

}  // namespace

Status Groups::check_report_room(
    AccountId reporter, const std::vector<std::pair<DeviceId, std::string>>& sealed) const {
  for (const auto& [device, bytes] : sealed) {
    auto it = ctx_.state.sealed_reports.find(device);
    if (it == ctx_.state.sealed_reports.end()) continue;
    const auto& pending = it->second;
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
  ConvState& conv = *found->conv;
  if (sealed.empty() || sealed.size() > kMaxReportTargets) {
    return done(invalid("a report goes to 1 to 64 facilitator devices"));
  }
  for (const auto& [device, bytes] : sealed) {
    const MemberState* m = conv.member(device);
    if (!m || !m->active() || !group_rules::is_facilitator(ctx_.state, conv, device)) {
      return done(refused("a report goes only to the devices of the group's facilitators"));
    }
    if (bytes.empty() || bytes.size() > kMaxSealedReportBytes)
      return done(invalid("a sealed report is empty or too large"));
  }
  const DeviceState* reporter = ctx_.state.device(actor);
  if (auto s = check_report_room(reporter->account, sealed); !s) return done(std::move(s).error());
  const int64_t now = ctx_.clock.now_ms();
  auto batch = ctx_.store.batch();
  std::vector<std::pair<DeviceId, uint64_t>> made;
  for (auto& [device, bytes] : sealed) {
    const uint64_t id = ctx_.state.next_report_id++;
    storage::SealedReportRecord r;
    r.set_conversation_id(conv.id.str());
    r.set_reporter_account(reporter->account);
    r.set_sealed(bytes);
    r.set_created_ms(now);
    batch.put_sealed_report(device, id, r);
    ctx_.state.sealed_reports[device][id] =
        State::SealedReport{conv.id, reporter->account, std::move(bytes), now};
    made.emplace_back(device, id);
  }
  ctx_.committer.submit(std::move(batch), [this, made, done = std::move(done)](const Status& s) {
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
  auto it = ctx_.state.sealed_reports.find(device);
  if (it == ctx_.state.sealed_reports.end()) return out;
  for (const auto& [id, r] : it->second) {
    const AccountState* reporter = ctx_.state.account(r.reporter);
    out.push_back(
        {id, r.conv, reporter ? reporter->handle : std::string(), r.sealed, r.created_ms});
  }
  return out;
}

void Groups::ack_report(DeviceId actor, uint64_t id, Done<Ok> done) {
  auto it = ctx_.state.sealed_reports.find(actor);
  if (it == ctx_.state.sealed_reports.end() || !it->second.erase(id)) {
    return done(make_error(Errc::kNotFound, "no such report for this device"));
  }
  if (it->second.empty()) ctx_.state.sealed_reports.erase(it);
  auto batch = ctx_.store.batch();
  batch.delete_sealed_report(actor, id);
  ctx_.committer.submit(std::move(batch), [done = std::move(done)](const Status& s) {
    if (!s) return done(s.error());
    done(Ok{});
  });
}

void Groups::report_to_admins(DeviceId actor, const ConvId& conv_id, uint64_t seq, std::string text,
                              std::string reason, Done<uint64_t> done) {
  ConvState* conv = ctx_.state.conversation(conv_id);
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
  const AccountId reporter = ctx_.state.device(actor)->account;
  const size_t open = std::count_if(
      ctx_.state.admin_reports.begin(), ctx_.state.admin_reports.end(),
      [&](const auto& e) { return e.second.reporter == reporter && e.second.answer.empty(); });
  if (open >= kMaxOpenAdminReportsPerAccount) {
    return done(make_error(Errc::kLimitReached,
                           "you already have 16 reports the admins have not answered yet"));
  }
  const uint64_t id = ctx_.state.next_report_id++;
  AdminReport r{reporter, conv_id, seq, std::move(text), std::move(reason), ctx_.clock.now_ms(),
                {},       false};
  auto batch = ctx_.store.batch();
  batch.put_admin_report(id, record_of(r));
  ctx_.state.admin_reports[id] = std::move(r);
  ctx_.committer.submit(std::move(batch), [id, done = std::move(done)](const Status& s) {
    if (!s) return done(s.error());
    done(id);
  });
}

std::vector<AdminReportView> Groups::admin_reports() const {
  std::vector<AdminReportView> out;
  for (const auto& [id, r] : ctx_.state.admin_reports) {
    const AccountState* reporter = ctx_.state.account(r.reporter);
    out.push_back({id, reporter ? reporter->handle : std::string(), r.conv, r.seq, r.revealed_text,
                   r.reason, r.created_ms, r.answer});
  }
  return out;
}

void Groups::answer_report(uint64_t id, std::string text, Done<Ok> done) {
  auto it = ctx_.state.admin_reports.find(id);
  if (it == ctx_.state.admin_reports.end())
    return done(make_error(Errc::kNotFound, "no such report"));
  if (text.empty() || text.size() > kMaxRevealedBytes)
    return done(invalid("an answer is 1 byte to 8 KiB"));
  AdminReport& r = it->second;
  r.answer = std::move(text);
  v1::Event e;
  e.mutable_admin_answer()->set_report_id(id);
  e.mutable_admin_answer()->set_text(r.answer);
  const AccountState* reporter = ctx_.state.account(r.reporter);
  r.answer_delivered = reporter && outbox_.notify(reporter->devices, e) > 0;
  auto batch = ctx_.store.batch();
  batch.put_admin_report(id, record_of(r));
  ctx_.committer.submit(std::move(batch), [done = std::move(done)](const Status& s) {
    if (!s) return done(s.error());
    done(Ok{});
  });
}

std::vector<std::pair<uint64_t, std::string>> Groups::take_answers(DeviceId device) {
  std::vector<std::pair<uint64_t, std::string>> out;
  const DeviceState* d = ctx_.state.device(device);
  if (!d) return out;
  auto batch = ctx_.store.batch();
  for (auto& [id, r] : ctx_.state.admin_reports) {
    if (r.reporter != d->account || r.answer.empty() || r.answer_delivered) continue;
    r.answer_delivered = true;
    batch.put_admin_report(id, record_of(r));
    out.emplace_back(id, r.answer);
  }
  if (!batch.empty()) ctx_.committer.submit(std::move(batch), nullptr);
  return out;
}

// ---- Retention ---------------------------------------------------------------------------------

size_t Groups::erase_expired() {
  const int64_t now = ctx_.clock.now_ms();
  size_t erased = 0;
  for (auto& [id, conv] : ctx_.state.conversations) {
    if (conv.kind != ConvKind::kGroup || !conv.policy || conv.policy->retention_days() == 0)
      continue;
    erased += erase_expired(conv, now - int64_t{conv.policy->retention_days()} * kDayMs) > 0;
  }
  return erased;
}

// Erases the entries of `conv` received before `cutoff_ms`: they come first in the log, so one
// range deletion covers them.
size_t Groups::erase_expired(ConvState& conv, int64_t cutoff_ms) {
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
  conv.erased_upto = last;
  auto batch = ctx_.store.batch();
  batch.delete_log_range(conv.id, from, last + 1);
  conversations_.write_conversation(conv, batch);
  ctx_.committer.submit(std::move(batch), [this, id = conv.id, from, last](const Status& s) {
    if (s) ctx_.store.compact_log(id, from, last + 1);
  });
  return last - from + 1;
}

}  // namespace cercle::domain
