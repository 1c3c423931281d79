// Shared pieces of the `cercle` command-line client (client/cli): how a command is declared
// (CLI11, through lib/cli), exit codes and output. One thread (the process's main).
#pragma once

#include <functional>
#include <string>

#include "cercle/cli/usage.h"
#include "client/sdk/client.h"

namespace cercle::cli {

// What the words chose: set while parsing, run once the client is open and connected.
struct Context {
  bool json = false;
  std::function<int(client::Client&)> action;
  bool needs_account = true;
};

enum class Account { kNeeded, kNotNeeded };

// Makes `cmd` a command: once its words are parsed, `fn` is the action to run. With kNeeded the
// action runs only on a device that has an account (else exit code 7).
void on_run(CLI::App* cmd, Context& ctx, Account account, std::function<int(client::Client&)> fn);
// The positional CONV, a conversation id.
CLI::Option* add_conv(CLI::App* cmd, std::string& out);
// A positional naming a person by their handle.
CLI::Option* add_handle(CLI::App* cmd, std::string& out, const std::string& name = "HANDLE",
                        const std::string& whose = "the person's handle");

// The process exit code for an SDK error (see main.cpp's header).
int exit_code(const client::Error& e);
// Prints the error on stderr; returns its exit code.
int fail(const client::Error& e);
int done(const client::Status& s);

// A new conversation's id.
void print_id(const std::string& id, bool json);
void print_message(const client::Message& m, bool json);
// A group event, in plain French (or one JSON object per line).
void print_event(const client::Event& e, bool json);
const char* role_name(client::Role role);
// " (animation)", " (professionnel·le, accompagne X)"... for a member list.
std::string member_marks(const client::Member& m);

// Ctrl-C and SIGTERM end `listen` (and waits) cleanly.
void install_stop_handlers();

// register, dm, conversations, send, listen, history (message_commands.cpp).
void add_message_commands(CLI::App& app, Context& ctx);
// `group ...`: membership, rules and moderation (group_commands.cpp), invitations
// (invitation_commands.cpp).
void add_group_commands(CLI::App& group, Context& ctx);
void add_invitation_commands(CLI::App& group, Context& ctx);
// `group seance|hand|floor|charter` (seance_commands.cpp), and what a séance event says.
void add_seance_commands(CLI::App& group, Context& ctx);
std::string seance_text(const client::Event& e);
// `group members` and `verify` (verify_commands.cpp): devices and safety numbers.
void add_verify_commands(CLI::App& app, CLI::App& group, Context& ctx);
// `device ...` and `devices` (device_commands.cpp).
void add_device_commands(CLI::App& app, Context& ctx);

}  // namespace cercle::cli
