#include "testing/shifted_view.h"

#include <algorithm>

namespace cercle::testing {

namespace {

// Calls `set(value)` when `value` differs from `current`; returns whether it did.
template <class Set>
bool assign(uint64_t current, uint64_t value, Set set) {
  if (current == value) return false;
  set(value);
  return true;
}

}  // namespace

uint64_t DeviceView::inject(v1::Delivery& entry) {
  Conv& c = convs_[entry.conversation_id()];
  const uint64_t seq = c.max_seen + 1;
  entry.set_seq(seq);
  c.injected.push_back(entry);
  c.max_seen = seq;
  return seq;
}

const std::vector<v1::Delivery>& DeviceView::injected(const std::string& conv) const {
  static const std::vector<v1::Delivery> kNone;
  auto it = convs_.find(conv);
  return it == convs_.end() ? kNone : it->second.injected;
}

uint64_t DeviceView::entry_to_view(const std::string& conv, uint64_t real) const {
  if (real == 0) return 0;
  uint64_t view = real;
  // Ascending: each injected entry the real one reaches pushes it one further.
  for (const auto& i : injected(conv)) {
    if (view >= i.seq()) ++view;
  }
  return view;
}

uint64_t DeviceView::bound_to_view(const std::string& conv, uint64_t real) const {
  return entry_to_view(conv, real + 1) - 1;
}

uint64_t DeviceView::bound_to_real(const std::string& conv, uint64_t view) const {
  uint64_t below = 0;
  for (const auto& i : injected(conv)) below += i.seq() <= view ? 1 : 0;
  return view - below;
}

uint64_t DeviceView::entry_to_real(const std::string& conv, uint64_t view) const {
  uint64_t below = 0;
  for (const auto& i : injected(conv)) {
    if (i.seq() == view) return 0;
    below += i.seq() < view ? 1 : 0;
  }
  return view - below;
}

void DeviceView::saw(const std::string& conv, uint64_t view) {
  Conv& c = convs_[conv];
  c.max_seen = std::max(c.max_seen, view);
}

bool FrameRewriter::to_server(v1::ClientFrame& frame) {
  if (!view_) return false;
  DeviceView& v = *view_;
  const uint64_t id = frame.request_id();
  switch (frame.request_case()) {
    case v1::ClientFrame::kSend:
      pending_[id] = {frame.send().conversation_id()};
      return false;
    case v1::ClientFrame::kCommit:
      pending_[id] = {frame.commit().conversation_id()};
      return false;
    case v1::ClientFrame::kAck: {
      auto* a = frame.mutable_ack();
      pending_[id] = {a->conversation_id()};
      return assign(a->seq(), v.bound_to_real(a->conversation_id(), a->seq()),
                    [&](uint64_t s) { a->set_seq(s); });
    }
    case v1::ClientFrame::kFetchLog: {
      auto* f = frame.mutable_fetch_log();
      pending_[id] = {f->conversation_id(), f->after_seq()};
      return assign(f->after_seq(), v.bound_to_real(f->conversation_id(), f->after_seq()),
                    [&](uint64_t s) { f->set_after_seq(s); });
    }
    case v1::ClientFrame::kDeleteEntry: {
      auto* d = frame.mutable_delete_entry();
      return assign(d->seq(), v.entry_to_real(d->conversation_id(), d->seq()),
                    [&](uint64_t s) { d->set_seq(s); });
    }
    case v1::ClientFrame::kReportToAdmins: {
      auto* r = frame.mutable_report_to_admins();
      return assign(r->seq(), v.entry_to_real(r->conversation_id(), r->seq()),
                    [&](uint64_t s) { r->set_seq(s); });
    }
    default:
      return false;
  }
}

bool FrameRewriter::to_client(v1::ServerFrame& frame) {
  if (!view_) return false;
  if (frame.has_response()) {
    auto node = pending_.extract(frame.response().request_id());
    return rewrite_response(*frame.mutable_response(), node ? &node.mapped() : nullptr);
  }
  bool changed = false;
  if (frame.has_deliveries()) {
    for (auto& d : *frame.mutable_deliveries()->mutable_deliveries()) {
      changed |= rewrite_delivery(d);
    }
  }
  return changed;
}

bool FrameRewriter::rewrite_response(v1::Response& r, const Pending* pending) {
  DeviceView& v = *view_;
  switch (r.result_case()) {
    case v1::Response::kSend: {
      if (!pending) return false;
      auto* s = r.mutable_send();
      const uint64_t seq = v.entry_to_view(pending->conv, s->seq());
      v.saw(pending->conv, seq);
      return assign(s->seq(), seq, [&](uint64_t x) { s->set_seq(x); });
    }
    case v1::Response::kCommit: {
      if (!pending) return false;
      auto* c = r.mutable_commit();
      const uint64_t seq = v.entry_to_view(pending->conv, c->seq());
      v.saw(pending->conv, seq);
      return assign(c->seq(), seq, [&](uint64_t x) { c->set_seq(x); });
    }
    case v1::Response::kAck: {
      if (!pending) return false;
      auto* a = r.mutable_ack();
      return assign(a->cursor(), v.bound_to_view(pending->conv, a->cursor()),
                    [&](uint64_t x) { a->set_cursor(x); });
    }
    case v1::Response::kConversation:
      return rewrite_info(*r.mutable_conversation());
    case v1::Response::kConversations: {
      bool changed = false;
      for (auto& info : *r.mutable_conversations()->mutable_conversations()) {
        changed |= rewrite_info(info);
      }
      return changed;
    }
    case v1::Response::kLog:
      return pending ? rewrite_log(*r.mutable_log(), *pending) : false;
    default:
      return false;
  }
}

bool FrameRewriter::rewrite_info(v1::ConversationInfo& info) {
  DeviceView& v = *view_;
  const std::string& conv = info.conversation_id();
  bool changed = assign(info.head_seq(), v.bound_to_view(conv, info.head_seq()),
                        [&](uint64_t x) { info.set_head_seq(x); });
  changed |= assign(info.cursor(), v.bound_to_view(conv, info.cursor()),
                    [&](uint64_t x) { info.set_cursor(x); });
  v.saw(conv, info.head_seq());
  return changed;
}

bool FrameRewriter::rewrite_delivery(v1::Delivery& d) {
  DeviceView& v = *view_;
  const std::string& conv = d.conversation_id();
  bool changed = assign(d.seq(), v.entry_to_view(conv, d.seq()), [&](uint64_t x) { d.set_seq(x); });
  changed |= assign(d.erased_from(), v.entry_to_view(conv, d.erased_from()),
                    [&](uint64_t x) { d.set_erased_from(x); });
  v.saw(conv, d.seq());
  return changed;
}

// A compromised server shows its injected entries in the history too: each one goes into the
// page that covers its place (the page reaches the entry before it).
bool FrameRewriter::rewrite_log(v1::LogEntries& log, const Pending& pending) {
  bool changed = false;
  uint64_t covered = pending.after_view;
  for (auto& e : *log.mutable_entries()) {
    changed |= rewrite_delivery(e);
    covered = std::max(covered, e.seq());
  }
  for (const auto& i : view_->injected(pending.conv)) {
    if (i.seq() <= pending.after_view || covered + 1 < i.seq()) continue;
    *log.add_entries() = i;
    covered = std::max(covered, i.seq());
    changed = true;
  }
  auto* entries = log.mutable_entries();
  std::sort(entries->begin(), entries->end(),
            [](const v1::Delivery& a, const v1::Delivery& b) { return a.seq() < b.seq(); });
  return changed;
}

}  // namespace cercle::testing
