// TLS for the server's listener: the context built from the configured certificate chain and key,
// TLS 1.2 and newer only. Reloading builds a new context: connections already open keep theirs.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "server/common/result.h"

namespace cercle::net {

// Returns a server context for the PEM files. Errors: kInvalidArgument naming the file and why.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const std::string& certificate,
                                                                    const std::string& key);

}  // namespace cercle::net
