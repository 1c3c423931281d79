// Client: accounts' device chains (lib/policy/include/cercle/policy/device_chain.h). Before any
// device of an account joins a conversation, its chain must be valid and extend the chain this
// client pinned for the account at first contact; only the devices it lists are added. A new device
// of someone already in a conversation that the chain does not list is flagged
// (note_device_changes).
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "client/sdk/client_internal.h"

namespace cercle::client {

namespace {

constexpr std::string_view kPinPrefix = "chain/";

std::string pin_name(std::string_view handle) {
  return std::string(kPinPrefix) + std::string(handle);
}

Error chain_refused(std::string_view handle, const policy::ChainRefusal& why) {
  const std::string who(handle);
  switch (why.code) {
    case policy::ChainErrc::kRootChanged:
      return make_error(Errc::kRefused, who +
                                            "'s identity changed: the server shows another device "
                                            "chain than the one first seen; verify " +
                                            who + " again before adding their devices");
    case policy::ChainErrc::kRolledBack:
      return make_error(Errc::kRefused, "the server shows an older device chain for " + who +
                                            " than this device already saw; no device of " + who +
                                            " was added");
    default:
      return make_error(Errc::kRefused, who + "'s device chain is not valid (" + why.message +
                                            "); no device of " + who + " was added");
  }
}

}  // namespace

std::string nfc(std::string_view utf8) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* n = unorm2_getNFCInstance(&err);
  if (U_FAILURE(err) || utf8.size() > 4096) return std::string(utf8);
  std::u16string in(utf8.size(), u'\0');
  int32_t len = 0;
  u_strFromUTF8(in.data(), static_cast<int32_t>(in.size()), &len, utf8.data(),
                static_cast<int32_t>(utf8.size()), &err);
  if (U_FAILURE(err)) return std::string(utf8);  // Not UTF-8: the relay refuses it anyway.
  in.resize(static_cast<size_t>(len));
  std::u16string out(in.size() * 3 + 1, u'\0');  // NFC never grows a string more than 3 times.
  len = unorm2_normalize(n, in.data(), static_cast<int32_t>(in.size()), out.data(),
                         static_cast<int32_t>(out.size()), &err);
  if (U_FAILURE(err)) return std::string(utf8);
  std::string result(static_cast<size_t>(len) * 3, '\0');
  int32_t bytes = 0;
  u_strToUTF8(result.data(), static_cast<int32_t>(result.size()), &bytes, out.data(), len, &err);
  if (U_FAILURE(err)) return std::string(utf8);
  result.resize(static_cast<size_t>(bytes));
  return result;
}

Result<std::optional<policy::ChainPin>> Client::Impl::load_pin(std::string_view handle) const {
  auto got = store->get(pin_name(handle));
  if (!got) return std::move(got).error();
  if (!*got) return std::optional<policy::ChainPin>{};
  local::ChainPin record;
  if (!record.ParseFromString(**got)) {
    return make_error(Errc::kStorage, "a device chain record is damaged");
  }
  return std::optional<policy::ChainPin>{
      policy::ChainPin{record.root(), record.length(), record.head()}};
}

Result<policy::ChainView> Client::Impl::check_chain(const v1::AccountInfo& account) {
  const std::string& handle = account.handle();
  auto pin = load_pin(handle);
  if (!pin) return std::move(pin).error();
  // Every account has a chain (the relay requires one at registration): a missing one is a relay
  // hiding it, refused (kRefused, nothing added).
  if (account.chain().empty()) {
    if (*pin) {
      return chain_refused(handle, {policy::ChainErrc::kRolledBack, "the chain is missing"});
    }
    return chain_refused(handle, {policy::ChainErrc::kMalformed, "the server sent no chain"});
  }
  const std::vector<v1::DeviceLink> links(account.chain().begin(), account.chain().end());
  auto checked = policy::verify_chain(handle, links);
  if (!checked.ok()) return chain_refused(handle, checked.error());
  if (*pin) {
    if (auto why = policy::check_pin(**pin, *checked)) return chain_refused(handle, *why);
    if ((*pin)->length == checked->hashes.size()) return *std::move(checked);
  }
  // First contact (trust on first use), or the chain grew: the pin follows it.
  const policy::ChainPin next = policy::pin_of(*checked);
  local::ChainPin record;
  record.set_root(next.root);
  record.set_length(next.length);
  record.set_head(next.head);
  if (auto s = store->put(pin_name(handle), record.SerializeAsString()); !s) {
    return std::move(s).error();
  }
  return *std::move(checked);
}

Result<policy::ChainView> Client::Impl::lookup_chain(std::string_view handle) {
  v1::ClientFrame f;
  f.mutable_lookup_account()->set_handle(std::string(handle));
  auto r = conn->call(f);
  if (!r) return std::move(r).error();
  return check_chain(r->account());
}

void Client::Impl::pin_own_chain() {
  auto view = lookup_chain(identity->handle());
  Event e;
  e.kind = Event::Kind::kWarning;
  if (!view) {
    if (view.error().code != Errc::kRefused) return;  // Checked again at the next connection.
    e.detail = view.error().message;
  } else if (!view->empty() && !view->find(identity->device_secret_key().substr(32, 32), false)) {
    e.detail = "this device is not in its own account's device chain";
  } else {
    return;
  }
  events.push_back(std::move(e));
}

std::optional<bool> Client::Impl::in_chain(std::string_view handle, std::string_view mls_key) {
  if (!conn || !conn->is_open()) return std::nullopt;
  auto view = lookup_chain(handle);
  if (!view) {
    if (view.error().code == Errc::kRefused) return false;  // No device of a refused chain is.
    return std::nullopt;
  }
  if (view->empty()) return std::nullopt;
  return view->find(mls_key, true) != nullptr;
}

}  // namespace cercle::client
