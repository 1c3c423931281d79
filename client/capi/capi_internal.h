// Shared by the C API's files (client/capi): the client handle and error translation.
#pragma once

#include <cstring>
#include <memory>
#include <string>

#include "cercle/cercle.h"
#include "client/sdk/client.h"

struct cercle_client {
  std::unique_ptr<cercle::client::Client> impl;
  std::string last_error;
  std::string charter;  // cercle_get_rules's answer lives here until the next call.
};

namespace cercle::capi {

inline cercle_status status_of(const client::Error& e) {
  using client::Errc;
  switch (e.code) {
    case Errc::kBadPassphrase:
      return CERCLE_ERR_BAD_PASSPHRASE;
    case Errc::kNetwork:
      return CERCLE_ERR_NETWORK;
    case Errc::kServer:
    case Errc::kRefused:
      return CERCLE_ERR_REFUSED;
    case Errc::kNotFound:
      return CERCLE_ERR_NOT_FOUND;
    case Errc::kNotRegistered:
      return CERCLE_ERR_NOT_REGISTERED;
    case Errc::kStorage:
      return CERCLE_ERR_STORAGE;
    case Errc::kInvalidArgument:
      return CERCLE_ERR_INVALID;
    default:
      return CERCLE_ERR_OTHER;
  }
}

template <class R>
cercle_status finish(cercle_client* c, const R& result) {
  if (result) {
    c->last_error.clear();
    return CERCLE_OK;
  }
  c->last_error = result.error().message;
  return status_of(result.error());
}

inline void copy_id(const std::string& id, char out[CERCLE_ID_SIZE]) {
  std::strncpy(out, id.c_str(), CERCLE_ID_SIZE - 1);
  out[CERCLE_ID_SIZE - 1] = '\0';
}

}  // namespace cercle::capi
