#include "client/sdk/connection.h"

namespace cercle::client {

Result<std::unique_ptr<Connection>> Connection::open(const std::string& url,
                                                     const std::string& ca_file,
                                                     const std::string& client_name,
                                                     std::chrono::milliseconds timeout) {
  auto endpoint = parse_url(url);
  if (!endpoint) return std::move(endpoint).error();
  auto transport = Transport::connect(*endpoint, timeout, ca_file);
  if (!transport) return std::move(transport).error();
  std::unique_ptr<Connection> c(new Connection());
  c->transport_ = std::move(*transport);
  c->timeout_ = timeout;
  v1::ClientFrame hello;
  hello.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  hello.mutable_hello()->set_client_name(client_name);
  auto r = c->call(hello);
  if (!r) return std::move(r).error();
  if (!r->has_hello()) return make_error(Errc::kProtocol, "the server did not answer hello");
  c->hello_ = r->hello();
  return c;
}

Status Connection::handle(const std::string& bytes) {
  v1::ServerFrame frame;
  if (!frame.ParseFromString(bytes)) return make_error(Errc::kProtocol, "unparsable server frame");
  if (frame.has_response()) {
    responses_[frame.response().request_id()] = std::move(*frame.mutable_response());
  } else if (frame.has_deliveries()) {
    for (auto& d : *frame.mutable_deliveries()->mutable_deliveries()) {
      deliveries_.push_back(std::move(d));
    }
  } else if (frame.has_event()) {
    events_.push_back(std::move(*frame.mutable_event()));
  }
  return Ok{};
}

Status Connection::pump(std::chrono::milliseconds timeout) {
  if (!transport_) return make_error(Errc::kNetwork, "not connected");
  auto got = transport_->receive(timeout);
  if (!got) return std::move(got).error();
  while (*got) {
    if (auto s = handle(**got); !s) return s;
    got = transport_->receive(std::chrono::milliseconds(0));  // Take what is already there.
    if (!got) return std::move(got).error();
  }
  return Ok{};
}

Result<v1::Response> Connection::call(v1::ClientFrame frame) {
  if (!transport_) return make_error(Errc::kNetwork, "not connected");
  const uint64_t id = next_id_++;
  frame.set_request_id(id);
  transport_->send(frame.SerializeAsString());
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (!responses_.contains(id)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return make_error(Errc::kNetwork, "the server did not answer in time");
    if (auto s = pump(left); !s) return std::move(s).error();
  }
  auto node = responses_.extract(id);
  v1::Response r = std::move(node.mapped());
  if (r.has_error()) {
    Error e = make_error(Errc::kServer, r.error().message());
    e.server_code = r.error().code();
    e.current_epoch = r.error().current_epoch();
    return e;
  }
  return r;
}

void Connection::close() {
  if (transport_) transport_->close(std::chrono::seconds(2));
  transport_.reset();
}

}  // namespace cercle::client
