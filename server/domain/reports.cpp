#include "server/domain/reports.h"

#include <algorithm>

namespace cercle::domain {

namespace {

Error damaged_id() { return make_error(Errc::kInternal, "stored report: bad conversation id"); }

}  // namespace

Status Reports::load(const storage::Store& store) {
  Status bad = Ok{};
  auto scanned = store.scan_admin_reports([&](uint64_t id, const storage::AdminReportRecord& r) {
    ConvId conv;
    if (!ConvId::parse(r.conversation_id(), conv)) {
      if (bad) bad = damaged_id();
      return;
    }
    admin_[id] =
        AdminReport{r.reporter_account(), conv,           r.seq(),    r.revealed_text(),
                    r.reason(),           r.created_ms(), r.answer(), r.answer_delivered()};
    next_id_ = std::max(next_id_, id + 1);
  });
  if (!scanned) return scanned;
  scanned = store.scan_sealed_reports(
      [&](DeviceId device, uint64_t id, const storage::SealedReportRecord& r) {
        ConvId conv;
        if (!ConvId::parse(r.conversation_id(), conv)) {
          if (bad) bad = damaged_id();
          return;
        }
        sealed_[device][id] = SealedReport{conv, r.reporter_account(), r.sealed(), r.created_ms()};
        next_id_ = std::max(next_id_, id + 1);
      });
  if (!scanned) return scanned;
  return bad;
}

const Reports::Sealed* Reports::sealed_for(DeviceId device) const {
  auto it = sealed_.find(device);
  return it == sealed_.end() ? nullptr : &it->second;
}

void Reports::add_sealed(Change& change, DeviceId device, uint64_t id, SealedReport report) {
  storage::SealedReportRecord r;
  r.set_conversation_id(report.conv.str());
  r.set_reporter_account(report.reporter);
  r.set_sealed(report.sealed);
  r.set_created_ms(report.created_ms);
  change.batch().put_sealed_report(device, id, r);
  change.on_commit([this, device, id, report = std::move(report)]() mutable {
    sealed_[device][id] = std::move(report);
  });
}

void Reports::erase_sealed(Change& change, DeviceId device, uint64_t id) {
  change.batch().delete_sealed_report(device, id);
  change.on_commit([this, device, id] {
    auto it = sealed_.find(device);
    if (it == sealed_.end()) return;
    it->second.erase(id);
    if (it->second.empty()) sealed_.erase(it);
  });
}

void Reports::put_admin(Change& change, uint64_t id, AdminReport report) {
  storage::AdminReportRecord r;
  r.set_reporter_account(report.reporter);
  r.set_conversation_id(report.conv.str());
  r.set_seq(report.seq);
  r.set_revealed_text(report.revealed_text);
  r.set_reason(report.reason);
  r.set_created_ms(report.created_ms);
  r.set_answer(report.answer);
  r.set_answer_delivered(report.answer_delivered);
  change.batch().put_admin_report(id, r);
  change.on_commit(
      [this, id, report = std::move(report)]() mutable { admin_[id] = std::move(report); });
}

}  // namespace cercle::domain
