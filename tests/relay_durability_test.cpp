// Durability against the real server: kill -9 during a burst of pipelined sends, and SIGTERM with
// clients connected. Whatever was acknowledged must be there after a restart, densely numbered.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

// What one sending client saw: the acknowledged entries and anything unexpected.
struct SenderLog {
  std::map<uint64_t, std::string> acked;  // seq -> payload
  std::set<std::string> sent;             // Every payload sent, acknowledged or not.
  std::vector<v1::Error> errors;
};

class RelayDurabilityTest : public RelayFixture {
 protected:
  // The bursts here test durability, not the rate limits: a sender that outpaces the others went
  // past its account's burst now and then (RATE_LIMITED), so the message limits are off.
  void start_unthrottled_server() {
    ASSERT_NO_FATAL_FAILURE(start_server(
        {"--config", write_config("[rate_limits]\nmessages_per_account_per_second = 0\n"
                                  "messages_per_ip_per_second = 0\n")}));
  }

  // Reconnects `reader` and checks the whole log of `conv`: sequence numbers 1..head with no gap,
  // every acknowledged entry present with its payload, nothing that was never sent.
  void verify_log(TestDevice& reader, const std::string& conv, const std::vector<SenderLog>& logs,
                  uint64_t* head) {
    ASSERT_NO_FATAL_FAILURE(reconnect(&reader));
    std::vector<v1::Delivery> entries;
    ASSERT_NO_FATAL_FAILURE(fetch_all(reader, conv, &entries));
    ASSERT_FALSE(entries.empty());
    for (size_t i = 0; i < entries.size(); ++i) {
      ASSERT_EQ(entries[i].seq(), i + 1) << "the log is not dense";
    }
    std::map<uint64_t, const v1::Delivery*> by_seq;
    for (const auto& e : entries) by_seq[e.seq()] = &e;
    size_t acked = 0;
    for (const auto& log : logs) {
      for (const auto& [seq, payload] : log.acked) {
        ++acked;
        auto it = by_seq.find(seq);
        ASSERT_NE(it, by_seq.end()) << "acknowledged entry " << seq << " lost";
        EXPECT_EQ(it->second->payload(), payload) << "entry " << seq;
      }
    }
    for (const auto& e : entries) {
      if (e.kind() != v1::APPLICATION) continue;
      bool sent = reader_sent_.contains(e.payload());
      for (const auto& log : logs) sent = sent || log.sent.contains(e.payload());
      EXPECT_TRUE(sent) << "unexpected entry " << e.seq();
    }
    EXPECT_GT(acked, 0u);
    *head = entries.back().seq();
  }

  std::set<std::string> reader_sent_;  // What the reader itself sent.
};

// Pipelines `member`'s application messages (up to `window` outstanding) until the connection
// ends or `stop` is set. Each thread has its own member.
void send_until_closed(WsClient& ws, MlsMember& member, const std::string& conv, uint64_t epoch,
                       int sender, std::atomic<int>& acked_total, const std::atomic<bool>& stop,
                       SenderLog& log) {
  constexpr size_t kWindow = 16;
  std::deque<std::pair<uint64_t, std::string>> outstanding;
  int next = 0;
  while (!ws.is_closed()) {
    while (!stop && outstanding.size() < kWindow && !ws.is_closed()) {
      std::string p =
          member.encrypt(conv, "burst-" + std::to_string(sender) + "-" + std::to_string(next++));
      log.sent.insert(p);
      outstanding.emplace_back(ws.send(send_frame(conv, epoch, p)), p);
    }
    if (outstanding.empty()) break;
    auto r = ws.wait_response(outstanding.front().first, 3s);
    if (!r) break;  // The server is gone.
    if (r->has_send()) {
      log.acked[r->send().seq()] = outstanding.front().second;
      ++acked_total;
    } else {
      log.errors.push_back(r->error());
    }
    outstanding.pop_front();
  }
}

TEST_F(RelayDurabilityTest, KillNineDuringASendBurstLosesNoAcknowledgedMessage) {
  ASSERT_NO_FATAL_FAILURE(start_unthrottled_server());  // Durable acknowledgements (sync on).
  constexpr int kSenders = 4;
  std::vector<TestDevice> m(kSenders + 1);
  for (int i = 0; i <= kSenders; ++i) {
    ASSERT_NO_FATAL_FAILURE(register_device("member" + std::to_string(i), &m[i]));
  }
  std::string conv;
  std::vector<TestDevice*> all;
  for (auto& d : m) all.push_back(&d);
  ASSERT_NO_FATAL_FAILURE(make_group(all, &conv));
  TestDevice& reader = m[kSenders];
  reader.ws.reset();  // Offline: the burst's fan-out goes to storage only.

  std::vector<SenderLog> logs(kSenders);
  uint64_t head = 0;
  for (int round = 0; round < 2; ++round) {
    std::atomic<int> acked{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int s = 0; s < kSenders; ++s) {
      threads.emplace_back([&, s] {
        send_until_closed(*m[s].ws, *m[s].mls, conv, 1, s + round * kSenders, acked, stop, logs[s]);
      });
    }
    // Kill while the burst is in full flow: after a few hundred acknowledgements.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (acked < 300 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    const int acked_at_kill = acked;
    server_->kill9();
    stop = true;
    for (auto& t : threads) t.join();
    ASSERT_GE(acked_at_kill, 300) << "the burst was too slow";
    for (int s = 0; s < kSenders; ++s) {
      EXPECT_TRUE(logs[s].errors.empty()) << logs[s].errors.front().message();
    }

    ASSERT_NO_FATAL_FAILURE(restart_server());
    ASSERT_NO_FATAL_FAILURE(verify_log(reader, conv, logs, &head));
    // Numbering resumes after the durable head: no sequence number is handed out twice.
    uint64_t seq = 0;
    const std::string after = message(reader, conv, "burst-after-" + std::to_string(round));
    reader_sent_.insert(after);
    ASSERT_NO_FATAL_FAILURE(send_ok(reader, conv, 1, after, &seq));
    EXPECT_EQ(seq, head + 1);
    reader.ws.reset();
    for (int s = 0; s < kSenders; ++s) ASSERT_NO_FATAL_FAILURE(reconnect(&m[s]));
  }
}

TEST_F(RelayDurabilityTest, SigtermClosesEveryClientWithGoingAwayAndKeepsAcknowledgedSends) {
  ASSERT_NO_FATAL_FAILURE(start_unthrottled_server());
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));
  auto bare = connect();  // Connected, no hello.
  auto hello_only = connect();
  ASSERT_TRUE(bare && hello_only && hello_only->hello());

  // Both members keep sending while the signal lands: each request is either acknowledged (and
  // then durable), refused with SHUTTING_DOWN, or left unanswered (and then not executed).
  std::vector<SenderLog> logs(2);
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  threads.emplace_back([&] { send_until_closed(*a.ws, *a.mls, conv, 1, 0, acked, stop, logs[0]); });
  threads.emplace_back([&] { send_until_closed(*b.ws, *b.mls, conv, 1, 1, acked, stop, logs[1]); });
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (acked < 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(::kill(server_->pid(), SIGTERM), 0);  // No ASSERT while the threads run.
  for (auto& t : threads) t.join();
  stop = true;
  for (WsClient* c : {a.ws.get(), b.ws.get(), bare.get(), hello_only.get()}) {
    int code = 0;
    ASSERT_TRUE(c->wait_closed(5s, &code)) << "a client was not closed";
    EXPECT_EQ(code, 1001) << "expected a going-away close";
  }
  EXPECT_EQ(server_->terminate(), 0);  // Already stopping: this waits for the exit.
  for (const auto& log : logs) {
    for (const auto& e : log.errors) EXPECT_EQ(e.code(), v1::SHUTTING_DOWN) << e.message();
  }

  ASSERT_NO_FATAL_FAILURE(restart_server());
  uint64_t head = 0;
  ASSERT_NO_FATAL_FAILURE(verify_log(b, conv, logs, &head));
  // Nothing was executed without being acknowledged: the log holds the commit and the acked sends.
  EXPECT_EQ(head, 1 + logs[0].acked.size() + logs[1].acked.size());
}

}  // namespace
}  // namespace cercle::testing
