// RelayFixture: a GoogleTest fixture for integration tests of the relay. It runs one cercle-server on
// a temporary data folder (restartable on the same folder), registers devices and builds groups.
// Helpers that can fail are void and use ASSERT: call them inside ASSERT_NO_FATAL_FAILURE(...).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/server_process.h"
#include "tests/support/ws_client.h"

namespace cercle::testing {

// One registered device and, while it is online, its connection.
struct TestDevice {
  DeviceKey key;
  std::string handle;
  uint64_t account_id = 0;
  uint64_t device_id = 0;
  std::unique_ptr<WsClient> ws;
};

class RelayFixture : public ::testing::Test {
 protected:
  // Starts the server with open registration plus `args`; remembered for restart_server().
  void start_server(std::vector<std::string> args = {}) {
    args_ = {"--registration", "open"};
    args_.insert(args_.end(), args.begin(), args.end());
    restart_server();
  }

  // Starts the server again on the same data folder with the same arguments.
  void restart_server() {
    std::string error;
    server_ = ServerProcess::start(data_dir(), args_, &error);
    ASSERT_TRUE(server_) << error;
  }

  std::string data_dir() const { return dir_.path() + "/data"; }

  // Writes a TOML config file in the temporary folder and returns its path.
  std::string write_config(const std::string& toml) {
    const std::string path = dir_.path() + "/cercle.toml";
    std::ofstream(path) << toml;
    return path;
  }

  std::unique_ptr<WsClient> connect() {
    auto c = WsClient::connect(server_->port());
    EXPECT_TRUE(c) << "cannot connect";
    return c;
  }

  // Registers a new account with one device and leaves it connected.
  void register_device(const std::string& handle, TestDevice* out) {
    out->handle = handle;
    out->ws = WsClient::connect(server_->port());
    ASSERT_TRUE(out->ws);
    auto auth = out->ws->hello_and_register(out->key, handle);
    ASSERT_TRUE(auth) << out->ws->last_error() << "\n" << server_->log();
    out->account_id = auth->account_id();
    out->device_id = auth->device_id();
  }

  // Adds a device to `owner`'s account (AddDevice) and connects it.
  void add_device(TestDevice& owner, TestDevice* out) {
    v1::ClientFrame f;
    f.mutable_add_device()->set_device_public_key(out->key.public_key());
    auto r = owner.ws->call(f);
    ASSERT_TRUE(r && r->has_device()) << (r ? r->error().message() : "timeout");
    out->handle = owner.handle;
    out->account_id = owner.account_id;
    out->device_id = r->device().device_id();
    ASSERT_NO_FATAL_FAILURE(reconnect(out));
  }

  // Opens a new connection for the device (dropping the old one) and authenticates it.
  void reconnect(TestDevice* d, std::chrono::milliseconds timeout = 5s) {
    d->ws.reset();
    d->ws = WsClient::connect(server_->port(), timeout);
    ASSERT_TRUE(d->ws);
    auto auth = d->ws->hello_and_authenticate(d->key);
    ASSERT_TRUE(auth) << d->ws->last_error();
    ASSERT_EQ(auth->device_id(), d->device_id);
  }

  void create_group(TestDevice& owner, std::string* conv) {
    auto r = owner.ws->call(create_group_frame());
    ASSERT_TRUE(r && r->has_conversation()) << (r ? r->error().message() : "timeout");
    ASSERT_EQ(r->conversation().epoch(), 0u);
    *conv = r->conversation().conversation_id();
  }

  // `committer` commits at `epoch`, adding `added`; each added device that is online must get the
  // commit as its WELCOME. Returns the commit's sequence number in `seq`.
  void add_members(TestDevice& committer, const std::string& conv, uint64_t epoch,
                   const std::vector<TestDevice*>& added, uint64_t* seq = nullptr) {
    std::vector<uint64_t> ids;
    for (const auto* d : added) ids.push_back(d->device_id);
    auto r = committer.ws->call(commit_frame(conv, epoch, ids));
    ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
    ASSERT_EQ(r->commit().epoch(), epoch + 1);
    if (seq) *seq = r->commit().seq();
    for (auto* d : added) {
      if (!d->ws) continue;
      auto w = d->ws->next_delivery();
      ASSERT_TRUE(w) << "no welcome for device " << d->device_id;
      ASSERT_EQ(w->kind(), v1::WELCOME);
      ASSERT_EQ(w->seq(), r->commit().seq());
    }
  }

  // Creates a group of `members` (the first one creates it and adds the others): epoch 1.
  void make_group(const std::vector<TestDevice*>& members, std::string* conv) {
    ASSERT_NO_FATAL_FAILURE(create_group(*members[0], conv));
    std::vector<TestDevice*> rest(members.begin() + 1, members.end());
    ASSERT_NO_FATAL_FAILURE(add_members(*members[0], *conv, 0, rest));
  }

  // Sends an application message and expects its SendResult.
  void send_ok(TestDevice& d, const std::string& conv, uint64_t epoch, const std::string& payload,
               uint64_t* seq = nullptr) {
    auto r = d.ws->call(send_frame(conv, epoch, payload));
    ASSERT_TRUE(r && r->has_send()) << (r ? r->error().message() : "timeout");
    if (seq) *seq = r->send().seq();
  }

  // Reads the whole log of `conv` as `d` sees it, through FetchLog pages.
  void fetch_all(TestDevice& d, const std::string& conv, std::vector<v1::Delivery>* out) {
    uint64_t after = 0;
    for (;;) {
      v1::ClientFrame f;
      f.mutable_fetch_log()->set_conversation_id(conv);
      f.mutable_fetch_log()->set_after_seq(after);
      f.mutable_fetch_log()->set_limit(1000);
      auto r = d.ws->call(f);
      ASSERT_TRUE(r && r->has_log()) << (r ? r->error().message() : "timeout");
      if (r->log().entries().empty()) return;
      for (const auto& e : r->log().entries()) out->push_back(e);
      after = out->back().seq();
    }
  }

  TempDir dir_;
  std::vector<std::string> args_;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace cercle::testing
