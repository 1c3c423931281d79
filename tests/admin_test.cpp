// cercle-admin against the real server, running (through its admin socket) and stopped (on its data
// folder): codes, accounts, suspension, counts, and backups taken while clients send.
#include <gtest/gtest.h>

#include <filesystem>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "testing/command_checks.h"
#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

class AdminTest : public RelayFixture {
 protected:
  // Runs cercle-admin and returns its stdout, asserting its exit status.
  std::string admin(std::vector<std::string> args, int expected_status = 0) {
    int status = -1;
    std::string out = run_admin(data_dir(), args, &status);
    EXPECT_EQ(status, expected_status) << out;
    return out;
  }
  static std::string trim(std::string s) {
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  std::optional<v1::Response> lookup(TestDevice& asker, const std::string& handle) {
    v1::ClientFrame f;
    f.mutable_lookup_account()->set_handle(handle);
    return asker.ws->call(f);
  }
};

// Runs `cercle-admin --data DIR/data ARGS`, a data folder that does not exist and no server:
// stdout and stderr apart.
CommandRun run_bare(const TempDir& dir, const std::string& args) {
  const std::string command =
      std::string(CERCLE_ADMIN_BIN) + " --data '" + dir.path() + "/data' " + args;
  return run_command(command, dir.path() + "/stderr");
}

// Help at every level, printed without a server and without creating the data folder.
TEST(AdminHelpTest, EveryCommandsHelpNeedsNoServerAndNoDataFolder) {
  const HelpCase cases[] = {
      {"--help", "Usage: cercle-admin [OPTIONS] SUBCOMMAND", "admin.sock"},
      {"help", "Usage: cercle-admin [OPTIONS] SUBCOMMAND", "retention"},
      {"code --help", "Usage: cercle-admin code [OPTIONS] SUBCOMMAND", "revoke"},
      {"code create --help", "Usage: cercle-admin code create [OPTIONS]", "--ttl-hours"},
      {"account set-type --help", "Usage: cercle-admin account set-type [OPTIONS] HANDLE TYPE",
       "peer or professional"},
      {"help backup restore", "Usage: cercle-admin backup restore [OPTIONS] DIR TARGET",
       "an empty folder"},
      {"backup create --help", "Usage: cercle-admin backup create [OPTIONS] DIR", "--keep"},
      {"report answer --help", "Usage: cercle-admin report answer [OPTIONS] ID TEXT",
       "cercle-admin report list"},
  };
  TempDir dir;
  for (const auto& c : cases) expect_help(run_bare(dir, c.args), c);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data")) << "help created the data folder";
}

// Usage errors exit with 2, say what to give and which help to read, and touch nothing.
TEST(AdminHelpTest, UsageErrorsExitWithTwoAndNameTheFix) {
  const UsageErrorCase cases[] = {
      {"", "cercle-admin: missing COMMAND: give one of code, account, stats, report"},
      {"frobnicate", "cercle-admin: unknown command `frobnicate`: give one of code, account"},
      {"code",
       "cercle-admin code: missing COMMAND: give one of create, revoke\nSee "
       "`cercle-admin code --help`."},
      {"code revoke",
       "cercle-admin code revoke: missing CODE: give the code, as `cercle-admin "
       "code create` printed it"},
      {"account suspend",
       "cercle-admin account suspend: missing HANDLE: give an account's "
       "handle, as `cercle-admin account list` shows it"},
      {"account set-admin alice maybe", "ON_OFF: maybe not in {on,off}"},
      {"account set-type alice boss", "TYPE: boss not in {peer,professional}"},
      {"backup create", "cercle-admin backup create: missing DIR"},
      {"backup create b --keep lots", "Could not convert: --keep = lots"},
      {"stats now", "cercle-admin stats: unexpected `now`"},
  };
  TempDir dir;
  for (const auto& c : cases) expect_usage_error(run_bare(dir, c.args), c);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data")) << "a usage error touched the data";
}

TEST_F(AdminTest, OnTheRunningServerThroughItsSocket) {
  ASSERT_NO_FATAL_FAILURE(start_server({"--registration", "invite-code"}));
  const std::string code = trim(admin({"code", "create", "--ttl-hours", "2"}));
  ASSERT_EQ(code.size(), 19u) << code;  // The code alone on stdout.
  auto c = connect();
  TestDevice alice;
  auto reg = c->hello_and_register(alice.key, "alice", code);
  ASSERT_TRUE(reg) << c->last_error();
  alice.ws = std::move(c);

  const std::string revoked = trim(admin({"code", "create"}));
  admin({"code", "revoke", revoked});
  admin({"code", "revoke", revoked}, 1);  // Already unusable.
  auto bob_ws = connect();
  DeviceKey bob_key;
  EXPECT_FALSE(bob_ws->hello_and_register(bob_key, "bob", revoked));

  admin({"account", "set-type", "alice", "professional"});
  auto found = lookup(alice, "alice");
  ASSERT_TRUE(found && found->has_account());
  EXPECT_EQ(found->account().type(), v1::PROFESSIONAL);
  admin({"account", "set-type", "nobody", "peer"}, 1);

  admin({"account", "set-admin", "alice", "on"});
  const std::string list = admin({"account", "list"});
  EXPECT_NE(list.find("alice\tprofessional\tadmin"), std::string::npos) << list;

  const std::string stats = admin({"--json", "stats"});
  EXPECT_NE(stats.find("\"accounts\":1"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"professionals\":1"), std::string::npos) << stats;
  EXPECT_EQ(stats.find("alice"), std::string::npos) << "counts only";
}

TEST_F(AdminTest, ASuspendedAccountIsDisconnectedAndCannotComeBackUntilRestored) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  TestDevice bob;
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  admin({"account", "suspend", "bob"});
  EXPECT_TRUE(bob.ws->wait_closed(5s));
  auto again = connect();
  ASSERT_TRUE(again->hello());
  EXPECT_EQ(error_of(again->authenticate(bob.key)), v1::FORBIDDEN);
  EXPECT_NE(admin({"account", "list"}).find("bob\tpeer\tsuspended"), std::string::npos);
  admin({"account", "unsuspend", "bob"});
  auto back = connect();
  EXPECT_TRUE(back->hello_and_authenticate(bob.key)) << back->last_error();
}

TEST_F(AdminTest, OnTheStoppedServersDataFolder) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  alice.ws.reset();
  ASSERT_EQ(server_->terminate(), 0);
  admin({"account", "set-type", "alice", "professional"});
  EXPECT_NE(admin({"account", "list"}).find("alice\tprofessional"), std::string::npos);
  EXPECT_NE(admin({"--json", "stats"}).find("\"accounts\":1"), std::string::npos);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&alice));
  auto found = lookup(alice, "alice");
  ASSERT_TRUE(found && found->has_account());
  EXPECT_EQ(found->account().type(), v1::PROFESSIONAL);
}

TEST_F(AdminTest, BackupsKeepOnlyTheNewestWhenAsked) {
  ASSERT_NO_FATAL_FAILURE(start_server({"--registration", "open"}));
  const std::string backups = dir_.path() + "/backups";
  auto count = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(backups + "/meta"))
      n += e.is_regular_file();
    return n;
  };
  admin({"backup", "create", backups});
  admin({"backup", "create", backups});
  admin({"backup", "create", backups});
  EXPECT_EQ(count(), 3u);
  admin({"backup", "create", backups, "--keep", "2"});
  EXPECT_EQ(count(), 2u);
  admin({"backup", "verify", backups});
  admin({"backup", "create", backups, "--keep", "lots"}, 2);  // Not a number: a usage error.
}

// Sends `sender`'s messages in `conv` continuously on its own thread, recording what the server
// acknowledged (seq -> payload), until stopped. The sender's MLS state is used on that thread only.
class AcknowledgedSender {
 public:
  AcknowledgedSender(TestDevice& sender, const std::string& conv)
      : thread_([this, &sender, conv] {
          for (int i = 0; !stop_; ++i) {
            const std::string text = sender.mls->encrypt(conv, "m" + std::to_string(i));
            auto r = sender.ws->call(send_frame(conv, 1, text));
            if (!r || !r->has_send()) return;
            std::lock_guard lock(mu_);
            acked_[r->send().seq()] = text;
          }
        }) {}
  ~AcknowledgedSender() { stop(); }

  // What was acknowledged once at least `n` messages were, or after 10 s.
  std::map<uint64_t, std::string> wait_for(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      std::this_thread::sleep_for(10ms);
      std::lock_guard lock(mu_);
      if (acked_.size() >= n || std::chrono::steady_clock::now() >= deadline) return acked_;
    }
  }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::map<uint64_t, std::string> acked_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // Last: started once the members above exist.
};

TEST_F(AdminTest, ABackupTakenWhileClientsSendServesEveryAcknowledgedMessage) {
  ASSERT_NO_FATAL_FAILURE(
      start_server({"--config", write_config("[rate_limits]\nmessages_per_account_per_second = "
                                             "0\nmessages_per_ip_per_second = 0\n")}));
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));

  // Alice sends on her own connection; some messages go through before the backup.
  AcknowledgedSender sender(a, conv);
  const std::map<uint64_t, std::string> before_backup = sender.wait_for(20);
  const std::string backups = dir_.path() + "/backups";
  admin({"backup", "create", backups});
  sender.stop();
  admin({"backup", "verify", backups});

  // The backup restored into a fresh folder, served by a second server.
  const std::string restored = dir_.path() + "/restored";
  admin({"backup", "restore", backups, restored});
  std::string error;
  auto second = ServerProcess::start(restored, {"--registration", "open"}, &error);
  ASSERT_TRUE(second) << error;
  auto reader = WsClient::connect(second->port());
  ASSERT_TRUE(reader && reader->hello_and_authenticate(b.key))
      << (reader ? reader->last_error() : "");
  std::vector<v1::Delivery> log;
  ASSERT_NO_FATAL_FAILURE(fetch_all(*reader, conv, &log));
  std::map<uint64_t, std::string> found;
  for (const auto& e : log) found[e.seq()] = e.payload();
  ASSERT_GE(before_backup.size(), 20u);
  for (const auto& [seq, text] : before_backup) {
    ASSERT_TRUE(found.contains(seq)) << "acknowledged before the backup, missing: " << seq;
    EXPECT_EQ(found[seq], text);
  }
}

}  // namespace
}  // namespace cercle::testing
