// Shared pieces of the `cercle` command-line client (client/cli): exit codes, output, and the
// commands of groupes de parole (group_commands.cpp). One thread.
#pragma once

#include <string>
#include <vector>

#include "client/sdk/client.h"

namespace cercle::cli {

// The value after `name` among the command's words, or "".
std::string option(const std::vector<std::string>& rest, const std::string& name);
// The process exit code for an SDK error (see main.cpp's header).
int exit_code(const client::Error& e);
// Prints the error on stderr; returns its exit code.
int fail(const client::Error& e);

void print_message(const client::Message& m, bool json);
// A group event, in plain French (or one JSON object per line).
void print_event(const client::Event& e, bool json);
const char* role_name(client::Role role);
// " (animation)", " (professionnel·le, accompagne X)"... for a member list.
std::string member_marks(const client::Member& m);

// `group ...` commands of moderation and invitations (`rest` is every word from "group" on).
// Returns the exit code; 2 when the words are not such a command.
int moderation_command(client::Client& c, const std::vector<std::string>& rest, bool json);

// `group members CONVERSATION`: each person once, with their devices' fingerprints and whether
// the user verified them (verify_commands.cpp).
int members_command(client::Client& c, const std::string& conversation, bool json);
// `verify CONVERSATION HANDLE [--confirm [NUMBER]]` (`rest` from "verify" on). Returns the exit
// code; 2 when the words are not such a command.
int verify_command(client::Client& c, const std::vector<std::string>& rest, bool json);

// `device request HANDLE | requests | approve REQUEST [CODE]` (`rest` from "device" on;
// device_commands.cpp). Returns the exit code; 2 when the words are not such a command.
int device_command(client::Client& c, const std::vector<std::string>& rest, bool json);
// `devices`: the account's devices from its verified device chain.
int devices_command(client::Client& c, bool json);

}  // namespace cercle::cli
