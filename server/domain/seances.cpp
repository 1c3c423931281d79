// Groups, its séances: the events a group's members post (checked by lib/policy's séance state
// machine with the relay's members, recorded as GroupEvent seance) and the erasure of a closed
// séance's messages when the group's rules ask for it. The message gates are group_rules'.
#include <sodium.h>

#include <algorithm>

#include "server/domain/group_rules.h"
#include "server/domain/groups.h"

namespace cercle::domain {

namespace {

namespace seance = policy::seance;

constexpr size_t kErasureReadEntries = 10'000;  // Per séance and run; the rest at the next run.

Error seance_refused(v1::SeanceRefusal refusal) {
  std::string why = seance::describe(refusal);
  switch (refusal) {
    case v1::SEANCE_REFUSAL_PREVIOUS:
      return make_error(Errc::kSeanceConflict, std::move(why));
    case v1::SEANCE_REFUSAL_SIGNATURE:
    case v1::SEANCE_REFUSAL_NOT_A_MEMBER:
    case v1::SEANCE_REFUSAL_ONLY_FACILITATOR:
      return make_error(Errc::kForbidden, std::move(why));
    default:
      return make_error(Errc::kInvalidArgument, std::move(why));
  }
}

// Whether `key` signed the event (over seance::transcript).
bool signed_with(const v1::SignedSeanceEvent& s, std::string_view key) {
  const std::string t = seance::transcript(s.event());
  return key.size() == crypto_sign_PUBLICKEYBYTES && s.signature().size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(s.signature().data()),
                                     reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                                     reinterpret_cast<const unsigned char*>(key.data())) == 0;
}

}  // namespace

void Groups::post_seance_event(DeviceId actor, const ConvId& conv_id, const std::string& bytes,
                               Done<Ok> done) {
  auto found = group_of(actor, conv_id, true);
  if (!found) return done(std::move(found).error());
  const ConvState& conv = *found->conv;
  v1::SignedSeanceEvent signed_event;
  v1::SeanceEvent event;
  if (!signed_event.ParseFromString(bytes) || !event.ParseFromString(signed_event.event())) {
    return done(make_error(Errc::kInvalidArgument, "the séance event is unreadable"));
  }
  // lib/policy accepts any of the author's leaves; the relay wants the device that posts it.
  if (event.author() != found->handle) {
    return done(make_error(Errc::kForbidden, "a séance event is posted in one's own name"));
  }
  const std::string key = group_rules::leaf_key(directory(), actor);
  if (key.empty() || !signed_with(signed_event, key)) {
    return done(
        make_error(Errc::kForbidden, "the séance event is not signed by this device's key"));
  }
  const uint64_t seq = conv.last_seq + 1;  // What append_event gives it.
  const seance::Facts facts{conv.id.str(), conv.policy, group_rules::members(directory(), conv),
                            seq};
  // A Change updates memory when it is submitted (change.h): the next event is checked against
  // this one's state, durable or not, so two naming the same `previous` never both pass.
  const seance::SeanceState& before = conv.seance;
  auto after = seance::apply(before, signed_event, facts);
  if (!after) return done(seance_refused(after.error()));
  Conversations::GroupChange edit{conv, {}, {}};
  const int64_t now = ctx_.clock.now_ms();
  if (event.has_opened()) edit.header.seance_opened_ms = now;
  const auto& rules = conv.policy->seances();
  if (event.has_closed() && rules.erase_after() && before.open_seq + 1 < seq) {
    edit.header.erasures.push_back(
        {before.open_seq + 1, seq - 1, now + int64_t{rules.erase_delay_minutes()} * 60'000});
  }
  edit.header.seance = std::move(*after);
  v1::GroupEvent group_event;
  *group_event.mutable_seance() = std::move(signed_event);
  record(ctx_.change(), std::move(edit), actor, std::move(group_event), std::move(done));
}

bool Groups::erase_seances(const ConvState& conv, int64_t now_ms) {
  Conversations::GroupChange edit{conv, {}, {}};
  Change change = ctx_.change();
  std::vector<std::pair<uint64_t, uint64_t>> compact;
  bool changed = false;
  auto& pending = edit.header.erasures;
  for (auto it = pending.begin(); it != pending.end();) {
    if (it->due_ms > now_ms) {
      ++it;
      continue;
    }
    const uint64_t from = std::max(it->from_seq, conv.erased_upto + 1);
    if (from > it->to_seq) {  // Erased for the retention meanwhile.
      it = pending.erase(it);
      changed = true;
      continue;
    }
    auto entries =
        ctx_.store.read_log(conv.id, from - 1, it->to_seq, kErasureReadEntries, SIZE_MAX);
    if (!entries) return false;  // Tried again at the next run.
    // Only the messages: commits, proposals and events of the window are still needed to follow
    // the group (readers get ERASED for the holes).
    for (const auto& e : *entries) {
      if (e.record.kind() == static_cast<int>(EntryKind::kApplication)) {
        change.batch().delete_log(conv.id, e.seq);
      }
    }
    compact.emplace_back(from, it->to_seq + 1);
    if (entries->size() == kErasureReadEntries && entries->back().seq < it->to_seq) {
      it->from_seq = entries->back().seq + 1;  // The rest at the next run.
      ++it;
    } else {
      it = pending.erase(it);
    }
  }
  if (!changed && compact.empty()) return false;
  conversations_.stage_group(change, std::move(edit));
  std::move(change).commit(ctx_.committer, [this, id = conv.id, compact](const Status& s) {
    if (!s) return;
    for (const auto& [from, upto] : compact) ctx_.store.compact_log(id, from, upto);
  });
  return true;
}

}  // namespace cercle::domain
