// The `cercle` command line against the real server: two users' processes exchange messages both
// ways in a direct conversation, and the exit codes say what went wrong.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

#include "testing/command_checks.h"
#include "testing/server_process.h"

namespace cercle::testing {
namespace {

struct CliRun {
  int status = -1;
  std::string out;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = ServerProcess::start(dir_.path() + "/data", {"--registration", "open"}, &error);
    ASSERT_TRUE(server_) << error;
  }

  // Runs `cercle --json ARGS` as `user` (its own data folder and passphrase).
  CliRun cli(const std::string& user, const std::string& args, const std::string& passphrase = "") {
    const std::string command =
        "CERCLE_PASSPHRASE='" + (passphrase.empty() ? "secret de " + user : passphrase) + "' " +
        CERCLE_CLI_BIN + " --server ws://127.0.0.1:" + std::to_string(server_->port()) +
        "/ws --data '" + dir_.path() + "/" + user + "' --json " + args + " 2>&1";
    CommandRun r = run_shell(command);
    return CliRun{r.status, std::move(r.out)};
  }

  static std::string field(const std::string& json, const std::string& name) {
    const std::string key = "\"" + name + "\":\"";
    const auto at = json.find(key);
    if (at == std::string::npos) return {};
    const auto end = json.find('"', at + key.size());
    return json.substr(at + key.size(), end - at - key.size());
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

// Runs `cercle ARGS` with nothing set up: no passphrase, a HOME whose data folder does not exist,
// and the default server address (nothing is started there). stdout and stderr apart.
CommandRun run_bare(const TempDir& dir, const std::string& args) {
  const std::string command = "env -u CERCLE_PASSPHRASE -u XDG_DATA_HOME HOME='" + dir.path() +
                              "/home' " + CERCLE_CLI_BIN + " " + args;
  return run_command(command, dir.path() + "/stderr");
}

// Help is printed with nothing set up (no passphrase, no data folder, no server), at every level:
// each command's help has its usage line and its own words.
TEST(CliHelpTest, EveryCommandsHelpNeedsNoPassphraseNoDataAndNoServer) {
  const HelpCase cases[] = {
      {"--help", "Usage: cercle [OPTIONS] SUBCOMMAND", "device"},
      {"-h", "Usage: cercle [OPTIONS] SUBCOMMAND", "CERCLE_PASSPHRASE"},
      {"help", "Usage: cercle [OPTIONS] SUBCOMMAND", "conversations"},
      {"group --help", "Usage: cercle group [OPTIONS] SUBCOMMAND", "invitations"},
      {"help group", "Usage: cercle group [OPTIONS] SUBCOMMAND", "members"},
      {"--data /nowhere --json help send", "Usage: cercle send [OPTIONS] CONV TEXT", "TEXT"},
      {"send --help", "Usage: cercle send [OPTIONS] CONV TEXT", "cercle conversations"},
      {"listen --help", "Usage: cercle listen [OPTIONS]", "--timeout"},
      {"register --help", "Usage: cercle register [OPTIONS] HANDLE", "--code"},
      {"verify --help", "Usage: cercle verify [OPTIONS] CONV HANDLE", "--confirm"},
      {"device --help", "Usage: cercle device [OPTIONS] SUBCOMMAND", "approve"},
      {"device approve --help", "Usage: cercle device approve [OPTIONS] REQUEST [CODE]",
       "cercle device requests"},
      {"group policy --help", "Usage: cercle group policy [OPTIONS] CONV", "--objection-hours"},
      {"group report --help", "Usage: cercle group report [OPTIONS] CONV SEQ REASON",
       "--to-admins"},
      // Help wins over words that would be wrong: it is asked before anything is checked.
      {"--json group invite --help", "Usage: cercle group invite [OPTIONS] CONV HANDLE", "--hours"},
  };
  TempDir dir;
  for (const auto& c : cases) expect_help(run_bare(dir, c.args), c);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/home")) << "help touched the data folder";
}

// A missing, unknown or wrong word is a usage error (exit code 2) that says what to give, and
// which help to read; nothing is opened or connected first.
TEST(CliHelpTest, UsageErrorsExitWithTwoAndNameTheFix) {
  const UsageErrorCase cases[] = {
      {"", "cercle: missing COMMAND: give one of register, dm, conversations, send"},
      {"frobnicate", "cercle: unknown command `frobnicate`: give one of register, dm"},
      {"send",
       "cercle send: missing CONV: give a conversation id, as `cercle conversations` "
       "lists it\nSee `cercle send --help`."},
      {"send 0123", "cercle send: missing TEXT: give the message, between quotes"},
      {"send 0123 hello world",
       "cercle send: unexpected `world`: the command reads `cercle send "
       "[OPTIONS] CONV TEXT`; put a text with spaces between quotes"},
      {"group", "cercle group: missing COMMAND: give one of create, add, remove"},
      {"group remove 0123", "cercle group remove: missing HANDLE"},
      {"group role 0123 bob boss", "cercle group role: ROLE: boss not in {facilitator,member}"},
      {"group policy 0123 --open maybe", "--open: maybe not in {yes,no,oui,non}"},
      {"group delete 0123 last", "cercle group delete: Could not convert: SEQ = last"},
      {"listen --count many", "cercle listen: Could not convert: --count = many"},
      {"device approve",
       "cercle device approve: missing REQUEST: give a request's id, as "
       "`cercle device requests` lists it"},
      {"verify 0123 bob 12345", "cercle verify: unexpected `12345`"},
      {"conversations",
       "no passphrase for the local store: set CERCLE_PASSPHRASE or give "
       "--passphrase-file FILE"},
  };
  TempDir dir;
  for (const auto& c : cases) expect_usage_error(run_bare(dir, c.args), c);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/home")) << "a usage error touched the data";
}

TEST_F(CliTest, TwoUsersExchangeMessagesBothWays) {
  ASSERT_EQ(cli("alice", "register alice").status, 0);
  ASSERT_EQ(cli("bob", "register bob").status, 0);
  CliRun dm = cli("alice", "dm bob");
  ASSERT_EQ(dm.status, 0) << dm.out;
  const std::string conv = field(dm.out, "conversation");
  ASSERT_EQ(conv.size(), 32u) << dm.out;

  ASSERT_EQ(cli("alice", "send " + conv + " 'Bonjour Bob'").status, 0);
  CliRun got = cli("bob", "listen --count 1 --timeout 10");
  ASSERT_EQ(got.status, 0) << got.out;
  EXPECT_EQ(field(got.out, "text"), "Bonjour Bob");
  EXPECT_EQ(field(got.out, "sender"), "alice");

  ASSERT_EQ(cli("bob", "send " + conv + " 'Salut Alice'").status, 0);
  CliRun back = cli("alice", "listen --count 1 --timeout 10");
  ASSERT_EQ(back.status, 0) << back.out;
  EXPECT_EQ(field(back.out, "text"), "Salut Alice");

  CliRun history = cli("bob", "history " + conv);
  ASSERT_EQ(history.status, 0);
  EXPECT_NE(history.out.find("Bonjour Bob"), std::string::npos);
  EXPECT_NE(history.out.find("Salut Alice"), std::string::npos);
  CliRun list = cli("bob", "conversations");
  EXPECT_NE(list.out.find(conv), std::string::npos);
}

TEST_F(CliTest, ExitCodesSayWhatWentWrong) {
  ASSERT_EQ(cli("alice", "register alice").status, 0);
  EXPECT_EQ(cli("alice", "conversations", "wrong passphrase").status, 3);
  EXPECT_EQ(cli("carol", "dm alice").status, 7);         // No account yet.
  EXPECT_EQ(cli("alice", "dm nobody-here").status, 5);   // The server refuses: no such account.
  EXPECT_EQ(cli("alice", "send 0011 hello").status, 6);  // No such conversation here.
  EXPECT_EQ(cli("alice", "frobnicate").status, 2);
  ASSERT_EQ(server_->terminate(), 0);
  EXPECT_EQ(cli("alice", "conversations").status, 4);  // The server is gone.
}

TEST_F(CliTest, TheCExampleTalksToACliUser) {
  ASSERT_EQ(cli("bob", "register bob").status, 0);
  const std::string command = "CERCLE_PASSPHRASE='secret de alice' " +
                              std::string(CERCLE_C_EXAMPLE_BIN) +
                              " ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws '" +
                              dir_.path() + "/alice' alice bob 'Bonjour depuis C' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_TRUE(pipe);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << out;
  CliRun got = cli("bob", "listen --count 1 --timeout 10");
  ASSERT_EQ(got.status, 0) << got.out;
  EXPECT_EQ(field(got.out, "text"), "Bonjour depuis C");
  EXPECT_EQ(field(got.out, "sender"), "alice");
}

TEST_F(CliTest, TheCGroupExampleSetsRulesAndMutesAMember) {
  ASSERT_EQ(cli("bob", "register bob").status, 0);
  const std::string command = "CERCLE_PASSPHRASE='secret de alice' " +
                              std::string(CERCLE_C_GROUP_EXAMPLE_BIN) +
                              " ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws '" +
                              dir_.path() + "/alice' alice bob 'Bienveillance' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_TRUE(pipe);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << out;
  EXPECT_NE(out.find("member alice facilitator self"), std::string::npos) << out;
  EXPECT_NE(out.find("member bob member\n"), std::string::npos) << out;
  EXPECT_NE(out.find("rules retention=30 charter=Bienveillance"), std::string::npos) << out;
  const std::string conv = out.substr(0, 32);
  // Bob sees the rules the C program set, and is muted by them.
  CliRun rules = cli("bob", "group policy " + conv);
  ASSERT_EQ(rules.status, 0) << rules.out;
  EXPECT_NE(rules.out.find("\"charter\":\"Bienveillance\""), std::string::npos) << rules.out;
  EXPECT_NE(rules.out.find("\"muted\":[\"bob\"]"), std::string::npos) << rules.out;
  EXPECT_EQ(cli("bob", "send " + conv + " 'je peux parler ?'").status, 5);
}

// A group's name and description, set at creation and changed later, reach a member (and only
// members: the relay never reads them, tests/client_profile_test.cpp scans its data folder).
TEST_F(CliTest, GroupCreateWithNameAndDescription) {
  ASSERT_EQ(cli("alice", "register alice").status, 0);
  ASSERT_EQ(cli("bob", "register bob").status, 0);
  CliRun created =
      cli("alice", "group create --name 'Les Hirondelles' --description 'Le deuil, le mardi soir'");
  ASSERT_EQ(created.status, 0) << created.out;
  const std::string conv = field(created.out, "conversation");
  ASSERT_EQ(conv.size(), 32u) << created.out;
  ASSERT_EQ(cli("alice", "group add " + conv + " bob").status, 0);
  CliRun listed = cli("bob", "conversations");
  ASSERT_EQ(listed.status, 0) << listed.out;
  EXPECT_EQ(field(listed.out, "name"), "Les Hirondelles") << listed.out;
  CliRun shown = cli("bob", "group policy " + conv);
  ASSERT_EQ(shown.status, 0) << shown.out;
  EXPECT_EQ(field(shown.out, "description"), "Le deuil, le mardi soir") << shown.out;

  ASSERT_EQ(cli("alice", "group rename " + conv + " --name 'Hirondelles du soir'").status, 0);
  listed = cli("bob", "conversations");
  EXPECT_EQ(field(listed.out, "name"), "Hirondelles du soir") << listed.out;
  // Only a facilitator names the group (refused: exit 5), and a name has at most 80 bytes (exit 1);
  // nothing is sent either way.
  CliRun refused = cli("bob", "group rename " + conv + " --name 'Le groupe de Bob'");
  EXPECT_EQ(refused.status, 5);
  EXPECT_NE(refused.out.find("only a facilitator names the group"), std::string::npos)
      << refused.out;
  CliRun too_long = cli("alice", "group rename " + conv + " --name " + std::string(81, 'a'));
  EXPECT_EQ(too_long.status, 1);
  EXPECT_NE(too_long.out.find("a group's name takes 1 to 80 bytes"), std::string::npos)
      << too_long.out;
  EXPECT_EQ(cli("alice", "group create --description 'sans nom'").status, 2);
  listed = cli("bob", "conversations");
  EXPECT_EQ(field(listed.out, "name"), "Hirondelles du soir") << listed.out;
}

// `group publish`: an open group's public name, seen by every peer in `group open`, and withdrawn.
TEST_F(CliTest, GroupPublishListsAnOpenGroupUntilWithdrawn) {
  ASSERT_EQ(cli("alice", "register alice").status, 0);
  ASSERT_EQ(cli("carol", "register carol").status, 0);
  const std::string conv =
      field(cli("alice", "group create --name 'Entre nous'").out, "conversation");
  ASSERT_EQ(conv.size(), 32u);
  EXPECT_EQ(cli("alice", "group publish " + conv + " --name 'Le mardi'").status, 5);  // Not open.
  ASSERT_EQ(cli("alice", "group policy " + conv + " --open yes").status, 0);
  CliRun published =
      cli("alice", "group publish " + conv + " --name 'Le mardi' --description 'Entre pairs'");
  ASSERT_EQ(published.status, 0) << published.out;
  CliRun open = cli("carol", "group open");
  EXPECT_EQ(field(open.out, "public_name"), "Le mardi") << open.out;
  EXPECT_EQ(field(open.out, "public_description"), "Entre pairs") << open.out;
  EXPECT_EQ(open.out.find("Entre nous"), std::string::npos) << open.out;  // The members' name.
  EXPECT_EQ(cli("alice", "group publish " + conv + " --withdraw --name x").status, 2);
  ASSERT_EQ(cli("alice", "group publish " + conv + " --withdraw").status, 0);
  open = cli("carol", "group open");
  EXPECT_NE(open.out.find(conv), std::string::npos) << open.out;
  EXPECT_EQ(field(open.out, "public_name"), "") << open.out;
}

// `group decline`: the invitation leaves the invitee's list and the group is told.
TEST_F(CliTest, GroupDeclineTellsTheGroup) {
  ASSERT_EQ(cli("alice", "register alice").status, 0);
  ASSERT_EQ(cli("bob", "register bob").status, 0);
  const std::string conv = field(cli("alice", "group create").out, "conversation");
  ASSERT_EQ(conv.size(), 32u);
  CliRun invited = cli("alice", "group invite " + conv + " bob");
  ASSERT_EQ(invited.status, 0) << invited.out;
  const std::string id = field(invited.out, "invitation");
  ASSERT_FALSE(id.empty()) << invited.out;
  CliRun declined = cli("bob", "group decline " + id);
  ASSERT_EQ(declined.status, 0) << declined.out;
  EXPECT_EQ(cli("bob", "group invitations").out, "");
  EXPECT_EQ(cli("bob", "group decline " + id).status, 6);  // No longer pending.
  CliRun told = cli("alice", "listen --timeout 1");
  EXPECT_NE(told.out.find("bob a refusé l'invitation"), std::string::npos) << told.out;
}

// `group seance|charter|hand|floor`: a whole séance from the command line; the relay's refusals
// (exit 5) say why in its own words.
TEST_F(CliTest, GroupSeanceFromTheCommandLine) {
  ASSERT_EQ(cli("alice", "register alice").status, 0);
  ASSERT_EQ(cli("bob", "register bob").status, 0);
  const std::string conv = field(cli("alice", "group create").out, "conversation");
  ASSERT_EQ(conv.size(), 32u);
  ASSERT_EQ(cli("alice", "group add " + conv + " bob").status, 0);
  ASSERT_EQ(cli("alice", "group policy " + conv + " --charter 'On se respecte.'").status, 0);
  CliRun ruled = cli("alice", "group seance rules " + conv + " --write-only --turns");
  ASSERT_EQ(ruled.status, 0) << ruled.out;
  CliRun outside = cli("bob", "send " + conv + " bonjour");
  EXPECT_EQ(outside.status, 5);
  EXPECT_NE(outside.out.find("the group writes only during a séance"), std::string::npos)
      << outside.out;
  ASSERT_EQ(cli("alice", "group seance open " + conv + " --minutes 90").status, 0);
  CliRun unconfirmed = cli("bob", "send " + conv + " bonjour");
  EXPECT_EQ(unconfirmed.status, 5);
  EXPECT_NE(unconfirmed.out.find("confirm the group's charter first"), std::string::npos)
      << unconfirmed.out;
  ASSERT_EQ(cli("bob", "group charter confirm " + conv).status, 0);
  ASSERT_EQ(cli("bob", "group hand " + conv).status, 0);
  CliRun shown = cli("alice", "group seance show " + conv);
  ASSERT_EQ(shown.status, 0) << shown.out;
  EXPECT_NE(shown.out.find("\"open\":true"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("\"hands\":[\"bob\"]"), std::string::npos) << shown.out;
  EXPECT_EQ(cli("bob", "group floor " + conv + " bob").status, 5);  // Facilitators only.
  ASSERT_EQ(cli("alice", "group floor " + conv + " bob").status, 0);
  EXPECT_EQ(field(cli("bob", "group seance show " + conv).out, "floor"), "bob");
  ASSERT_EQ(cli("bob", "send " + conv + " bonjour").status, 0);
  ASSERT_EQ(cli("alice", "group floor " + conv + " --back").status, 0);
  ASSERT_EQ(cli("alice", "group seance close " + conv).status, 0);
  CliRun told = cli("bob", "listen --timeout 1");
  EXPECT_NE(told.out.find("la parole est libre (alice)"), std::string::npos) << told.out;
  EXPECT_NE(told.out.find("alice a clos la séance"), std::string::npos) << told.out;
  // The planned séance travels in the signed profile (the group needs a name first).
  EXPECT_EQ(cli("alice", "group seance schedule " + conv + " --at 2026-12-08T18:30+01:00").status,
            1);  // No --minutes.
  ASSERT_EQ(cli("alice", "group rename " + conv + " --name 'Le mardi'").status, 0);
  CliRun planned = cli("alice", "group seance schedule " + conv +
                                    " --at 2026-12-08T18:30+01:00 --minutes 90 --weekly");
  ASSERT_EQ(planned.status, 0) << planned.out;
  shown = cli("bob", "group seance show " + conv);
  EXPECT_NE(shown.out.find("{\"start_ms\":1796751000000,\"minutes\":90,\"weekly\":true}"),
            std::string::npos)
      << shown.out;
  shown = cli("bob", "group seance show " + conv);
  EXPECT_NE(shown.out.find("\"open\":false"), std::string::npos) << shown.out;
}

}  // namespace
}  // namespace cercle::testing
