// A reader that keeps reading must not be taken for a slow consumer when another member sends a
// burst: the server's send queue bound is meant for readers that stop reading.
#include <gtest/gtest.h>

#include <thread>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

class RelayBurstTest : public RelayFixture {};

TEST_F(RelayBurstTest, AReaderThatKeepsReadingIsNotDroppedByAnotherMembersBurst) {
  ASSERT_NO_FATAL_FAILURE(start_server());  // Default limits: 1 MiB send queue, sync on.
  TestDevice sender, reader;
  ASSERT_NO_FATAL_FAILURE(register_device("sender", &sender));
  ASSERT_NO_FATAL_FAILURE(register_device("reader", &reader));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&sender, &reader}, &conv));

  // 40 pipelined messages of 100 KiB (e.g. a photo album), 4 MB in all.
  constexpr int kCount = 40;
  std::vector<v1::Delivery> got;
  // The reader reads all the time, on its own thread (its client has its own io_context).
  std::thread reading([&] { got = reader.ws->deliveries(kCount, 10s); });
  std::vector<uint64_t> ids;
  for (int i = 0; i < kCount; ++i) {
    std::string p = message(sender, conv, std::string(100 * 1024, static_cast<char>('a' + i % 26)));
    ids.push_back(sender.ws->send(send_frame(conv, 1, std::move(p))));
  }
  for (uint64_t id : ids) {
    auto r = sender.ws->wait_response(id);
    EXPECT_TRUE(r && r->has_send()) << (r ? r->error().message() : "timeout");
  }
  reading.join();  // Before any ASSERT can leave this scope with the thread still running.
  EXPECT_FALSE(reader.ws->is_closed()) << "the reader was dropped";
  EXPECT_EQ(got.size(), size_t{kCount});
  EXPECT_EQ(server_->log().find("conn.too_slow"), std::string::npos) << server_->log();
}

}  // namespace
}  // namespace cercle::testing
