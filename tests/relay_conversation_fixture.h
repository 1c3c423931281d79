// RelayConversationTest: the fixture of the conversation tests against the real server
// (relay_conversation_test.cpp: direct conversations, racing commits, fan-out order, epochs, log
// pages; relay_membership_test.cpp: Welcomes, members only, removal). The server runs without
// syncing its WAL (these tests are about order and membership, not durability). One thread, like
// the tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "testing/relay_fixture.h"

namespace cercle::testing {

class RelayConversationTest : public RelayFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_server({"--sync", "false"})); }

  // Registers `n` devices named prefix0, prefix1, ...
  void register_many(const std::string& prefix, size_t n, std::vector<TestDevice>* out) {
    out->resize(n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_NO_FATAL_FAILURE(register_device(prefix + std::to_string(i), &(*out)[i]));
    }
  }
  static std::vector<TestDevice*> ptrs(std::vector<TestDevice>& v) {
    std::vector<TestDevice*> out;
    for (auto& d : v) out.push_back(&d);
    return out;
  }
  static v1::ClientFrame get_frame(const std::string& conv) {
    v1::ClientFrame f;
    f.mutable_get_conversation()->set_conversation_id(conv);
    return f;
  }
  static v1::ClientFrame fetch_frame(const std::string& conv, uint64_t after = 0) {
    v1::ClientFrame f;
    f.mutable_fetch_log()->set_conversation_id(conv);
    f.mutable_fetch_log()->set_after_seq(after);
    f.mutable_fetch_log()->set_limit(100);
    return f;
  }
};

}  // namespace cercle::testing
