#include "server/domain/contact_links.h"

#include <sodium.h>

#include <algorithm>
#include <unordered_map>

namespace cercle::domain {

namespace {

constexpr size_t kMaxLabelBytes = 64;
constexpr size_t kMaxPresentationBytes = 500;
constexpr int64_t kHourMs = 3'600'000;

// 128 random bits, base64url without padding: 22 characters that survive any URL.
std::string new_token() {
  unsigned char raw[16];
  randombytes_buf(raw, sizeof raw);
  char out[sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

}  // namespace

ContactLinkView ContactLinks::view(const std::string& token, const ContactLinkState& link) const {
  return ContactLinkView{token,        link.label,         link.created_ms, link.expires_ms,
                         link.revoked, link.registrations, std::nullopt,    link.presentation};
}

bool ContactLinks::works(const ContactLinkState& link, int64_t now_ms) const {
  const AccountState* owner = identity_.account(link.owner);
  return link.usable(now_ms) && owner && owner->type == AccountType::kPeer;
}

Status ContactLinks::load() {
  Status bad = Ok{};
  auto scanned = ctx_.store.scan_contact_links(
      [&](std::string_view token, const storage::ContactLinkRecord& r) {
        if (!identity_.account(r.owner_account())) {
          if (bad) bad = make_error(Errc::kInternal, "a stored contact link's owner is no account");
          return;
        }
        links_[std::string(token)] = ContactLinkState{
            r.owner_account(), r.label(), r.created_ms(),    r.expires_ms(), r.revoked(),
            r.registrations(), {},        r.presentation()};
        last_created_ms_ = std::max(last_created_ms_, r.created_ms());
      });
  if (!scanned) return scanned;
  return bad;
}

void ContactLinks::put(Change& change, const std::string& token, ContactLinkState link) {
  storage::ContactLinkRecord r;
  r.set_owner_account(link.owner);
  r.set_label(link.label);
  r.set_created_ms(link.created_ms);
  r.set_expires_ms(link.expires_ms);
  r.set_revoked(link.revoked);
  r.set_registrations(link.registrations);
  r.set_presentation(link.presentation);
  change.batch().put_contact_link(token, r);
  change.on_commit([this, token, link = std::move(link)]() mutable {
    links_.insert_or_assign(token, std::move(link));
  });
}

void ContactLinks::erase(Change& change, const std::string& token) {
  change.batch().delete_contact_link(token);
  change.on_commit([this, token] { links_.erase(token); });
}

void ContactLinks::create(DeviceId actor, std::string_view label, int64_t expires_in_ms,
                          std::string_view presentation, Done<ContactLinkView> done) {
  const DeviceState* device = identity_.device(actor);
  const AccountState* account = device ? identity_.account(device->account) : nullptr;
  if (!account || account->deleted_ms != 0) {
    return done(make_error(Errc::kNotAuthenticated, "unknown device"));
  }
  if (account->type != AccountType::kPeer) {
    return done(make_error(Errc::kForbidden, "contact links are for peer helpers"));
  }
  if (label.size() > kMaxLabelBytes) {
    return done(make_error(Errc::kInvalidArgument, "the label is over 64 bytes"));
  }
  if (presentation.size() > kMaxPresentationBytes) {
    return done(make_error(Errc::kInvalidArgument, "the presentation is over 500 bytes"));
  }
  if (expires_in_ms < 0) return done(make_error(Errc::kInvalidArgument, "bad expiry"));
  const int64_t now = ctx_.clock.now_ms();
  Change change = ctx_.change();
  forget_ended(device->account, now, change);  // Links that expired since the last sweep.
  const auto active = std::count_if(links_.begin(), links_.end(), [&](const auto& kv) {
    return kv.second.owner == device->account && kv.second.usable(now);
  });
  if (static_cast<uint32_t>(active) >= ctx_.config.max_contact_links) {
    // The ended links are forgotten even though no link is made.
    if (!change.empty()) std::move(change).commit(ctx_.committer, nullptr);
    return done(
        make_error(Errc::kLimitReached, "this account has the maximum number of contact links"));
  }
  std::string token = new_token();
  // Creation times are distinct, so that "the newest ended links" is one order however fast links
  // are made (two in the same millisecond used to tie, and which was kept was left to chance).
  last_created_ms_ = std::max(now, last_created_ms_ + 1);
  ContactLinkState link{device->account,
                        std::string(label),
                        last_created_ms_,
                        expires_in_ms ? now + expires_in_ms : 0,
                        false,
                        0,
                        {},
                        std::string(presentation)};
  ContactLinkView v = view(token, link);
  put(change, token, std::move(link));
  std::move(change).commit(ctx_.committer, [v = std::move(v), done](const Status& s) mutable {
    if (!s) return done(s.error());
    done(std::move(v));
  });
}

std::vector<ContactLinkView> ContactLinks::list(DeviceId actor) const {
  std::vector<ContactLinkView> out;
  const DeviceState* device = identity_.device(actor);
  if (!device) return out;
  for (const auto& [token, link] : links_) {
    if (link.owner == device->account) out.push_back(view(token, link));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.created_ms > b.created_ms; });
  return out;
}

void ContactLinks::revoke(DeviceId actor, std::string_view token, Done<Ok> done) {
  const DeviceState* device = identity_.device(actor);
  auto it = links_.find(std::string(token));
  if (!device || it == links_.end() || it->second.owner != device->account) {
    return done(make_error(Errc::kNotFound, "no such contact link"));
  }
  ContactLinkState revoked = it->second;
  revoked.revoked = true;
  Change change = ctx_.change();
  put(change, it->first, std::move(revoked));
  // The change may then both write and forget this link: its forgetting comes last and wins.
  forget_ended(device->account, ctx_.clock.now_ms(), change, it->first);
  std::move(change).commit(ctx_.committer, [done](const Status& s) { done(s); });
}

// A forgotten link's record is deleted too, so that an account that keeps making and ending links
// does not grow the disk without bound.
size_t ContactLinks::forget_oldest(std::vector<std::string>& ended, Change& change) {
  if (ended.size() <= kEndedKept) return 0;
  std::sort(ended.begin(), ended.end(), [&](const std::string& a, const std::string& b) {
    return links_.at(a).created_ms > links_.at(b).created_ms;
  });
  for (size_t i = kEndedKept; i < ended.size(); ++i) erase(change, ended[i]);
  return ended.size() - kEndedKept;
}

size_t ContactLinks::forget_ended(AccountId account, int64_t now_ms, Change& change,
                                  std::string_view ending) {
  std::vector<std::string> ended;
  for (const auto& [token, link] : links_) {
    if (link.owner == account && (!link.usable(now_ms) || token == ending)) ended.push_back(token);
  }
  return forget_oldest(ended, change);
}

size_t ContactLinks::forget_ended() {
  const int64_t now = ctx_.clock.now_ms();
  std::unordered_map<AccountId, std::vector<std::string>> ended;
  for (const auto& [token, link] : links_) {
    if (!link.usable(now)) ended[link.owner].push_back(token);
  }
  Change change = ctx_.change();
  size_t forgotten = 0;
  for (auto& [account, tokens] : ended) forgotten += forget_oldest(tokens, change);
  // Nobody waits for it: a crash before it is durable leaves records that the next start-up
  // forgets and deletes again.
  if (!change.empty()) std::move(change).commit(ctx_.committer, nullptr);
  return forgotten;
}

Result<ContactLinkView> ContactLinks::resolve(std::string_view token) const {
  auto it = links_.find(std::string(token));
  if (it == links_.end() || !works(it->second, ctx_.clock.now_ms())) {
    return make_error(Errc::kNotFound, "this contact link does not exist or no longer works");
  }
  const AccountState* owner = identity_.account(it->second.owner);
  ContactLinkView v = view(it->first, it->second);
  v.label.clear();  // The label is the owner's note, not for visitors.
  v.owner = identity_.view(*owner);
  return v;
}

Status ContactLinks::check_registration(std::string_view token) const {
  if (!ctx_.config.contact_link_registration) {
    return make_error(Errc::kRegistrationCodeRequired,
                      "this instance does not allow registering through contact links");
  }
  const int64_t now = ctx_.clock.now_ms();
  auto it = links_.find(std::string(token));
  if (it == links_.end() || !works(it->second, now)) {
    return make_error(Errc::kRegistrationCodeInvalid, "this contact link does not work any more");
  }
  const auto& recent = it->second.recent_registrations;
  const auto in_hour =
      std::count_if(recent.begin(), recent.end(), [&](int64_t t) { return now - t < kHourMs; });
  if (static_cast<uint32_t>(in_hour) >= ctx_.config.contact_link_registrations_per_hour) {
    Error e = make_error(Errc::kRateLimited, "too many accounts were created through this link");
    const int64_t oldest = *std::min_element(recent.begin(), recent.end());
    e.retry_after_ms = static_cast<uint64_t>(std::max<int64_t>(oldest + kHourMs - now, 1));
    return e;
  }
  return Ok{};
}

void ContactLinks::end_links_of(Change& change, AccountId account) {
  const int64_t now = ctx_.clock.now_ms();
  for (const auto& [token, link] : links_) {
    if (link.owner != account || !link.usable(now)) continue;
    ContactLinkState ended = link;
    ended.revoked = true;
    put(change, token, std::move(ended));
  }
}

void ContactLinks::erase_links_of(Change& change, AccountId account) {
  for (const auto& [token, link] : links_) {
    if (link.owner == account) erase(change, token);
  }
}

void ContactLinks::record_registration(std::string_view token, Change& change) {
  auto it = links_.find(std::string(token));
  if (it == links_.end()) return;
  const int64_t now = ctx_.clock.now_ms();
  ContactLinkState link = it->second;
  std::erase_if(link.recent_registrations, [&](int64_t t) { return now - t >= kHourMs; });
  link.recent_registrations.push_back(now);
  link.registrations += 1;
  put(change, it->first, std::move(link));
}

}  // namespace cercle::domain
