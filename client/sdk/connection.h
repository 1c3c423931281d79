// Connection: the Cercle protocol over one Transport: hello, request/response matching by request
// id, and the deliveries and events that arrive in between, queued in arrival order for the caller.
// One thread; not thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "client/sdk/result.h"
#include "client/sdk/transport.h"
#include "proto/cercle.pb.h"

namespace cercle::client {

class Connection {
 public:
  // Connects and says hello. Errors: kNetwork, kProtocol, kServer.
  static Result<std::unique_ptr<Connection>> open(const std::string& url,
                                                  const std::string& ca_file,
                                                  const std::string& client_name,
                                                  std::chrono::milliseconds timeout);

  // Sends the request and waits for its response. A server error becomes an Error of code
  // kServer with the wire code, message and current epoch. Errors: kNetwork, kServer.
  Result<v1::Response> call(v1::ClientFrame frame);

  // Waits up to `timeout` for more frames, queuing what arrives. Errors: kNetwork.
  Status pump(std::chrono::milliseconds timeout);

  std::deque<v1::Delivery>& deliveries() { return deliveries_; }
  std::deque<v1::Event>& events() { return events_; }
  const v1::HelloResult& hello() const { return hello_; }
  bool is_open() const { return transport_ && transport_->is_open(); }
  void close();

 private:
  Status handle(const std::string& bytes);

  std::unique_ptr<Transport> transport_;
  std::chrono::milliseconds timeout_{10000};
  uint64_t next_id_ = 1;
  std::map<uint64_t, v1::Response> responses_;
  std::deque<v1::Delivery> deliveries_;
  std::deque<v1::Event> events_;
  v1::HelloResult hello_;
};

}  // namespace cercle::client
