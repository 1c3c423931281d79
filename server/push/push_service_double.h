// A push service for tests, on 127.0.0.1 (port 0): HTTP/1.1 with Beast, plain or over TLS with a
// self-signed certificate made for it, one request per connection, on its own thread. It records
// what it receives and answers as the test's script says; a held request gets no answer until the
// double ends. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace cercle::push::testing {

class PushServiceDouble {
 public:
  struct Received {
    std::string target;
    std::map<std::string, std::string> headers;  // Lower-case names.
    std::string body;
    std::chrono::steady_clock::time_point at;
  };
  struct Answer {
    int status = 201;
    std::string retry_after;  // Sent when not empty.
    bool hold = false;        // Never answer.
  };
  // Called on the double's thread for the n-th request (from 0).
  using Script = std::function<Answer(const Received&, size_t n)>;

  PushServiceDouble();
  // Serves TLS with a new self-signed certificate for the DNS name `certified_name` only.
  explicit PushServiceDouble(const std::string& certified_name);
  ~PushServiceDouble();
  PushServiceDouble(const PushServiceDouble&) = delete;
  PushServiceDouble& operator=(const PushServiceDouble&) = delete;

  uint16_t port() const;
  // "http://127.0.0.1:<port>", or with TLS "https://<host>:<port>".
  std::string origin(const std::string& host = "127.0.0.1") const;
  std::string endpoint(const std::string& token, const std::string& host = "127.0.0.1") const;
  // A client context that trusts this double's certificate (TLS only).
  std::shared_ptr<boost::asio::ssl::context> trusting_context() const;
  void script(Script script);
  // Waits (bounded) until `count` requests have arrived.
  bool wait_for(size_t count, std::chrono::milliseconds timeout);
  std::vector<Received> received() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cercle::push::testing
