// Conversations, the reading side: acknowledgements and cursors, views, log reads and delivery
// streams. The writing side (create, commit, send) is in conversations.cpp.
#include "server/domain/conversations.h"

#include <algorithm>

namespace cercle::domain {

namespace {

Error not_member() {
  return make_error(Errc::kForbidden, "this device is not a member of the conversation");
}

}  // namespace

Result<uint64_t> Conversations::ack(DeviceId actor, const ConvId& conv_id, uint64_t seq) {
  ConvState* conv = find(conv_id);
  if (!conv) return make_error(Errc::kNotFound, "no such conversation");
  MemberState* m = conv->member(actor);
  if (!m) return not_member();
  uint64_t upto = std::min(seq, conv->durable_seq);
  if (!m->active()) upto = std::min(upto, m->left_seq);
  std::erase_if(m->earlier, [&](const auto& p) { return p.second <= std::max(upto, m->cursor); });
  if (upto > m->cursor) {
    m->cursor = upto;
    if (!m->cursor_dirty) {
      m->cursor_dirty = true;
      dirty_cursors_.emplace_back(actor, conv_id);
    }
  }
  const uint64_t cursor = m->cursor;
  forget_if_done(*conv, actor);
  return cursor;
}

void Conversations::forget_if_done(ConvState& conv, DeviceId device) {
  const MemberState* m = conv.member(device);
  if (!m || m->active() || m->cursor < m->left_seq) return;
  Change change = ctx_.change();
  change.batch().delete_member(conv.id, device);
  change.batch().delete_cursor(device, conv.id);
  change.on_commit([this, c = &conv, device] {
    c->erase_member(device);
    auto index = by_device_.find(device);
    if (index == by_device_.end()) return;
    std::erase(index->second, c->id);
    if (index->second.empty()) by_device_.erase(index);
  });
  std::move(change).commit(ctx_.committer, nullptr);
}

void Conversations::flush_cursors() {
  if (dirty_cursors_.empty()) return;
  Change change = ctx_.change();
  std::vector<MemberState*> flushed;
  for (const auto& [device, conv_id] : dirty_cursors_) {
    ConvState* conv = find(conv_id);
    MemberState* m = conv ? conv->member(device) : nullptr;
    if (!m) continue;  // It left and was forgotten; its records are deleted.
    change.batch().put_cursor(device, conv_id, m->cursor);
    flushed.push_back(m);
  }
  if (flushed.empty()) {  // Only forgotten members: nothing to write.
    dirty_cursors_.clear();
    return;
  }
  change.on_commit([this, flushed = std::move(flushed)] {
    for (MemberState* m : flushed) m->cursor_dirty = false;
    dirty_cursors_.clear();
  });
  std::move(change).commit(ctx_.committer, nullptr);
}

std::vector<ConvView> Conversations::list(DeviceId actor) const {
  std::vector<ConvView> out;
  auto index = by_device_.find(actor);
  if (index == by_device_.end()) return out;
  for (const ConvId& id : index->second) {
    if (const ConvState* conv = conversation(id)) out.push_back(view(*conv, actor));
  }
  return out;
}

Result<ConvView> Conversations::get(DeviceId actor, const ConvId& conv_id) const {
  const ConvState* conv = conversation(conv_id);
  if (!conv) return make_error(Errc::kNotFound, "no such conversation");
  if (!conv->member(actor)) return not_member();
  return view(*conv, actor);
}

Result<std::vector<storage::LogEntry>> Conversations::read(DeviceId actor, const ConvId& conv_id,
                                                           uint64_t after_seq, size_t max_entries,
                                                           size_t max_bytes) const {
  const ConvState* conv = conversation(conv_id);
  if (!conv) return make_error(Errc::kNotFound, "no such conversation");
  const MemberState* m = conv->member(actor);
  if (!m) return not_member();
  // Periods are read one at a time; the caller asks again after the last entry it got.
  const auto period = m->readable_after(after_seq, conv->durable_seq);
  if (!period) return std::vector<storage::LogEntry>();
  auto entries =
      ctx_.store.read_log(conv_id, period->first, period->second, max_entries, max_bytes);
  if (!entries) return entries;
  return with_erasures(std::move(*entries), period->first, period->second);
}

// Where entries of a readable period are missing (erased: deleted for everyone, or past the
// group's retention), an ERASED entry says so, so that the reader knows nothing is lost in transit.
std::vector<storage::LogEntry> Conversations::with_erasures(std::vector<storage::LogEntry> entries,
                                                            uint64_t after, uint64_t upto) {
  std::vector<storage::LogEntry> out;
  out.reserve(entries.size() + 1);
  uint64_t expected = after + 1;
  auto erased = [&](uint64_t from, uint64_t to) {
    storage::LogEntry e;
    e.seq = to;
    e.record.set_kind(static_cast<int>(EntryKind::kErased));
    e.record.set_erased_from(from);
    out.push_back(std::move(e));
  };
  for (auto& e : entries) {
    if (e.seq > expected) erased(expected, e.seq - 1);
    expected = e.seq + 1;
    out.push_back(std::move(e));
  }
  // A read that stopped short (limits) ends at its last entry; one that found nothing more ends at
  // the period's end, erased.
  if (entries.empty() && expected <= upto) erased(expected, upto);
  return out;
}

std::vector<StreamStart> Conversations::streams(DeviceId device_id) const {
  std::vector<StreamStart> out;
  auto index = by_device_.find(device_id);
  if (index == by_device_.end()) return out;
  for (const ConvId& id : index->second) {
    const ConvState* conv = conversation(id);
    const MemberState* m = conv ? conv->member(device_id) : nullptr;
    if (m) out.push_back({id, m->cursor, m->left_seq});
  }
  return out;
}

uint64_t Conversations::durable_seq(const ConvId& conv_id) const {
  const ConvState* conv = conversation(conv_id);
  return conv ? conv->durable_seq : 0;
}

}  // namespace cercle::domain
